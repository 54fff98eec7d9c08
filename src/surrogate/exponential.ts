/** Exponential surrogate: g(x) = (k/2) exp(-k|x|) (docs/methods.md §2). */
import { where } from '../tensor/creation.js';
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts k: the sharpness (default 2)
 * @returns the surrogate; its primitive is exp(kx)/2 (x < 0), 1 - exp(-kx)/2 (x ≥ 0)
 * @throws SnnkitError when k is not a positive finite number
 * @example exponential({ k: 2 })
 */
export function exponential(opts: { k?: number } = {}): BuiltinSurrogate {
  const k = positiveParam('exponential', 'k', opts.k ?? 2);
  return builtinSurrogate({
    name: 'exponential', param: k,
    grad: (x) => x.abs().mul(-k).exp().mul(k / 2),
    primitive: (x) => where(x.lt(0), x.mul(k).exp().mul(0.5), x.mul(-k).exp().mul(-0.5).add(1)),
    toString: () => `exponential(k=${k})`,
  });
}
