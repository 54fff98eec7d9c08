/** Triangle surrogate: g(x) = (1/γ²) max(γ - |x|, 0) (docs/methods.md §2; TET uses γ = 1). */
import { where } from '../tensor/creation.js';
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts gamma: the half-width (default 1)
 * @returns the surrogate; its primitive is the piecewise quadratic (γ + x)²/2γ² (x < 0), 1 - (γ - x)²/2γ² (x ≥ 0), clamped
 * @throws SnnkitError when gamma is not a positive finite number
 * @example triangle({ gamma: 1 })
 */
export function triangle(opts: { gamma?: number } = {}): BuiltinSurrogate {
  const g = positiveParam('triangle', 'gamma', opts.gamma ?? 1);
  return builtinSurrogate({
    name: 'triangle', param: g,
    grad: (x) => x.abs().neg().add(g).relu().div(g * g),
    primitive: (x) => {
      const c = x.clamp(-g, g);
      return where(c.lt(0), c.add(g).square().div(2 * g * g), c.neg().add(g).square().div(-2 * g * g).add(1));
    },
    toString: () => `triangle(gamma=${g})`,
  });
}
