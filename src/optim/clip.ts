/** Gradient clipping by total norm and by value, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_. */
import { SnnkitError, invalidArg } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

function paramList(fn: string, params: Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw invalidArg(fn, `params[${i}]`, 'a Tensor', p);
  });
  return list;
}

/**
 * Scales all gradients together so that their total norm is at most `maxNorm`, as PyTorch 1.13's
 * `clip_grad_norm_`: `total = norm([norm(g1, p), norm(g2, p), ...], p)`; when `maxNorm / (total + 1e-6) < 1` every
 * gradient is multiplied by that factor. Parameters without a gradient are skipped.
 * @param params the parameters (or one tensor) whose `.grad` to clip
 * @param maxNorm the largest allowed total norm, >= 0
 * @param normType p of the p-norm, > 0, or Infinity for the largest absolute value (default 2)
 * @param opts errorIfNonfinite: throw when the total norm is NaN or infinite (default false)
 * @returns the total norm before clipping (0 when no parameter has a gradient)
 * @throws SnnkitError naming the argument when maxNorm or normType is invalid; (INVALID_ARGUMENT) when
 *   errorIfNonfinite is set and the total norm is not finite
 * @example
 * tidy(() => loss.backward()); const norm = clipGradNorm(model.parameters(), 1.0); opt.step();
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  const list = paramList('clipGradNorm', params);
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw invalidArg('clipGradNorm', 'maxNorm', 'a number >= 0', maxNorm);
  if (typeof normType !== 'number' || !(normType > 0)) throw invalidArg('clipGradNorm', 'normType', 'a number > 0 or Infinity', normType);
  return noGrad(() =>
    tidy(() => {
      const grads = list.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
      if (grads.length === 0) return 0;
      const norms = grads.map((g) => (normType === Infinity ? g.abs().amax().item() : g.norm(normType).item()));
      const total = normType === Infinity ? Math.max(...norms) : norms.reduce((s, n) => s + n ** normType, 0) ** (1 / normType);
      if (opts.errorIfNonfinite && !Number.isFinite(total))
        throw new SnnkitError(`clipGradNorm: the total ${normType}-norm of the gradients is ${total}; the gradients cannot be clipped (errorIfNonfinite is set)`);
      const coef = maxNorm / (total + 1e-6);
      if (coef < 1) for (const g of grads) g.mul_(coef);
      return total;
    }),
  );
}

/**
 * Clamps every gradient element to [-clipValue, clipValue], as `torch.nn.utils.clip_grad_value_`.
 * Parameters without a gradient are skipped.
 * @param params the parameters (or one tensor) whose `.grad` to clip
 * @param clipValue the largest allowed absolute value, >= 0
 * @throws SnnkitError naming the argument when clipValue is not a finite number >= 0
 * @example
 * clipGradValue(model.parameters(), 0.5);
 */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  const list = paramList('clipGradValue', params);
  if (typeof clipValue !== 'number' || !Number.isFinite(clipValue) || clipValue < 0)
    throw invalidArg('clipGradValue', 'clipValue', 'a finite number >= 0', clipValue);
  noGrad(() =>
    tidy(() => {
      for (const p of list) p.grad?.clamp_(-clipValue, clipValue);
    }),
  );
}
