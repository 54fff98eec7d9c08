/**
 * Dspike (Li, Guo, Zhang, Deng, Hai & Gu, "Differentiable Spike", NeurIPS 2021):
 * Dspike(x, b) = (tanh(b x) + tanh(b/2)) / (2 tanh(b/2)) on |x| ≤ 1/2 (0 below, 1 above), x = u - V_th. Its derivative
 * b (1 - tanh²(b x)) / (2 tanh(b/2)) is the backward; b → 0 gives a straight line, b → ∞ the step.
 */
import { where } from '../tensor/creation.js';
import { builtinSurrogate, type BuiltinSurrogate, positiveParam } from './surrogate.js';

/**
 * @param opts b: the temperature (default 3)
 * @returns the surrogate; its primitive is Dspike(x, b) itself
 * @throws SnnkitError when b is not a positive finite number
 * @example dspike({ b: 3 })
 */
export function dspike(opts: { b?: number } = {}): BuiltinSurrogate {
  const b = positiveParam('dspike', 'b', opts.b ?? 3);
  const norm = 2 * Math.tanh(b / 2);
  return builtinSurrogate({
    name: 'dspike', param: b,
    grad: (x) => {
      const t = x.mul(b).tanh();
      return t.square().neg().add(1).mul(b / norm).mul(x.abs().le(0.5).to(x.dtype));
    },
    primitive: (x) => {
      const c = x.clamp(-0.5, 0.5);
      return where(x.abs().le(0.5), c.mul(b).tanh().add(Math.tanh(b / 2)).div(norm), x.gt(0).to(x.dtype));
    },
    toString: () => `dspike(b=${b})`,
  });
}
