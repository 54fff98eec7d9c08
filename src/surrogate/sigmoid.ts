/** Sigmoid surrogate: g(x) = k σ(kx)(1 - σ(kx)) (docs/methods.md §2). */
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts k: the sharpness (default 4, as SpikingJelly)
 * @returns the surrogate; its primitive is σ(kx)
 * @throws SnnkitError when k is not a positive finite number
 * @example sigmoid({ k: 4 })
 */
export function sigmoid(opts: { k?: number } = {}): BuiltinSurrogate {
  const k = positiveParam('sigmoid', 'k', opts.k ?? 4);
  return builtinSurrogate({
    name: 'sigmoid', param: k,
    grad: (x) => {
      const s = x.mul(k).sigmoid();
      return s.mul(s.neg().add(1)).mul(k);
    },
    primitive: (x) => x.mul(k).sigmoid(),
    toString: () => `sigmoid(k=${k})`,
  });
}
