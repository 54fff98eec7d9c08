/** Arctangent surrogate: g(x) = (a/2) / (1 + (π/2 · a · x)²) (docs/methods.md §2). */
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts alpha: the sharpness (default 2, as SpikingJelly's ATan)
 * @returns the surrogate; its primitive is 1/2 + atan(π/2 · a · x) / π
 * @throws SnnkitError when alpha is not a positive finite number
 * @example atan({ alpha: 2 })
 */
export function atan(opts: { alpha?: number } = {}): BuiltinSurrogate {
  const a = positiveParam('atan', 'alpha', opts.alpha ?? 2);
  const c = (Math.PI / 2) * a;
  return builtinSurrogate({
    name: 'atan', param: a,
    grad: (x) => x.mul(c).square().add(1).reciprocal().mul(a / 2),
    primitive: (x) => x.mul(c).atan().div(Math.PI).add(0.5),
    toString: () => `atan(alpha=${a})`,
  });
}
