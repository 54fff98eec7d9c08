/**
 * The guard of every training step: the loss and all gradients must be finite before the optimizer steps, so a
 * diverging run stops with a typed error naming where, its parameters untouched by the bad step, and its last
 * checkpoint (written at the end of the last good epoch) kept.
 */
import { SnnkitError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { stack } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Checks a step's loss and gradients (one reduction per gradient and one read for all of them).
 * @param fn the public function, for the message
 * @param where where training is, e.g. 'epoch 3, batch 17'
 * @param loss the step's loss (a scalar, after backward)
 * @param params the named parameters whose gradients to check
 * @returns the loss value
 * @throws SnnkitError (NON_FINITE) naming the loss or the first parameter whose gradient is NaN or infinite, and where
 * @example
 * loss.backward(); const value = checkFiniteStep('trainSnn', `epoch ${e}, batch ${b}`, loss, model.namedParameters()); opt.step();
 */
export function checkFiniteStep(fn: string, where: string, loss: Tensor, params: readonly (readonly [string, Tensor])[]): number {
  const value = loss.item();
  const grads = params.filter(([, p]) => p.grad !== undefined);
  const total = grads.length === 0 ? 0 : noGrad(() => tidy(() => stack(grads.map(([, p]) => p.grad!.abs().sum().to('float64'))).sum().item()));
  if (Number.isFinite(value) && Number.isFinite(total)) return value;
  let what = `the loss became ${value}`;
  if (Number.isFinite(value)) {
    const bad = grads.find(([, p]) => !Number.isFinite(noGrad(() => tidy(() => p.grad!.abs().sum().to('float64').item()))));
    what = `the gradient of '${bad?.[0] ?? '?'}' became non-finite (NaN or infinite)`;
  }
  throw new SnnkitError(`${fn}: ${what} at ${where}; training stopped before the optimizer step, so the parameters are those `
    + 'of the previous step and the last checkpoint is kept: lower the learning rate, or clip the gradient norm', 'NON_FINITE');
}
