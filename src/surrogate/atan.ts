/** Arctangent surrogate: g(x) = (a/2) / (1 + (π/2 · a · x)²), a the sharpness (docs/methods.md §2). */
import { deprecated } from '../errors.js';
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts sharpness: a (default 2, as SpikingJelly's ATan's alpha); `alpha` is its former name (until snnkit 0.3)
 * @returns the surrogate; its primitive is 1/2 + atan(π/2 · a · x) / π
 * @throws SnnkitError when the sharpness is not a positive finite number
 * @example atan({ sharpness: 2 })
 */
export function atan(opts: { sharpness?: number; /** @deprecated use sharpness */ alpha?: number } = {}): BuiltinSurrogate {
  if (opts.alpha !== undefined && opts.sharpness === undefined) deprecated('atan', 'alpha', 'sharpness');
  const a = positiveParam('atan', 'sharpness', opts.sharpness ?? opts.alpha ?? 2);
  const c = (Math.PI / 2) * a;
  return builtinSurrogate({
    name: 'atan', param: a,
    grad: (x) => x.mul(c).square().add(1).reciprocal().mul(a / 2),
    primitive: (x) => x.mul(c).atan().div(Math.PI).add(0.5),
    toString: () => `atan(sharpness=${a})`,
  });
}
