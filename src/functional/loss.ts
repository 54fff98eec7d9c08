/** Loss functions. */
import { SnnkitError, invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import { Tensor } from '../tensor/tensor.js';
import { logSoftmax, softmax } from './nn.js';

/** How a loss reduces over the batch. */
export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

function checkReduction(fn: string, r: unknown): Reduction {
  if (!REDUCTIONS.includes(r as Reduction)) throw invalidArg(fn, 'reduction', `one of ${REDUCTIONS.map((x) => `'${x}'`).join(', ')}`, r);
  return r as Reduction;
}

/** Options of crossEntropy. */
export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** Per-class weights [C]. */
  weight?: Tensor;
  /** Target value to ignore (class-index targets only). Default -100. */
  ignoreIndex?: number;
  /** Label smoothing in [0, 1] (Szegedy et al.), as PyTorch. */
  labelSmoothing?: number;
}
/**
 * Cross-entropy of logits against class indices (int64 [N]) or class probabilities (float [N, C]).
 * @param logits [N, C] (or [N, C, ...])
 * @param target int64 class indices, or probabilities of logits' shape
 * @returns the loss (a scalar unless reduction is 'none')
 * @example crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw invalidArg('crossEntropy', 'labelSmoothing', 'a number in [0, 1]', ls);
  if (target.dtype === 'int64') {
    if (target.ndim !== logits.ndim - 1 || target.shape[0] !== logits.shape[0])
      throw new SnnkitError(`crossEntropy: class-index target ${target.describe()} does not fit logits ${logits.describe()} (expected [N] for [N, C])`, 'SHAPE_MISMATCH');
  } else if (target.dtype === 'float32' || target.dtype === 'float64') {
    if (target.shape.join(',') !== logits.shape.join(','))
      throw new SnnkitError(`crossEntropy: probability target ${target.describe()} must have the logits' shape ${logits.describe()}`, 'SHAPE_MISMATCH');
  } else {
    throw invalidArg('crossEntropy', 'target', 'int64 class indices or float probabilities', target, 'DTYPE_MISMATCH');
  }
  return new Tensor(native.crossEntropy(logits.handle, target.handle, opts.weight?.handle,
    checkReduction('crossEntropy', opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100, ls));
}

/**
 * Negative log-likelihood of log-probabilities against class indices.
 * @param logProbs [N, C]
 * @param target int64 [N]
 * @example nllLoss(logSoftmax(model.forward(x)), y)  // equals crossEntropy(model.forward(x), y)
 */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: { reduction?: Reduction; weight?: Tensor; ignoreIndex?: number } = {}): Tensor {
  return new Tensor(native.nllLoss(logProbs.handle, target.handle, opts.weight?.handle, checkReduction('nllLoss', opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100));
}

/**
 * Mean squared error.
 * @throws SnnkitError when the shapes differ (no silent broadcasting of a loss)
 * @example mseLoss(model.forward(x), target, { reduction: 'sum' })
 */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (input.shape.join(',') !== target.shape.join(','))
    throw new SnnkitError(`mseLoss: input ${input.describe()} and target ${target.describe()} must have the same shape`, 'SHAPE_MISMATCH');
  return new Tensor(native.mseLoss(input.handle, target.handle, checkReduction('mseLoss', opts.reduction ?? 'mean')));
}

/**
 * Knowledge distillation (Hinton, Vinyals & Dean 2015): τ² · KL(softmax(t/τ) ‖ softmax(s/τ)), averaged over the
 * batch. The teacher's logits are constants (no gradient flows into them); τ² keeps the gradient's scale independent
 * of τ. Zero when the two distributions agree.
 * @param student [N, C] logits that learn
 * @param teacher [N, C] logits to match
 * @param opts temperature τ > 0 (default 1)
 * @returns the scalar loss
 * @throws SnnkitError for shapes that differ or a temperature that is not positive
 * @example distillationLoss(snn.forward(x), noGrad(() => ann.forward(x)), { temperature: 4 })
 */
export function distillationLoss(student: Tensor, teacher: Tensor, opts: { temperature?: number } = {}): Tensor {
  const tau = opts.temperature ?? 1;
  if (!(Number.isFinite(tau) && tau > 0)) throw invalidArg('distillationLoss', 'temperature', 'a positive number', tau);
  if (student.ndim !== 2 || student.shape.join(',') !== teacher.shape.join(','))
    throw new SnnkitError(`distillationLoss: student ${student.describe()} and teacher ${teacher.describe()} must both be [N, C]`, 'SHAPE_MISMATCH');
  const t = teacher.detach().div(tau);
  const logT = logSoftmax(t, 1);
  return softmax(t, 1).mul(logT.sub(logSoftmax(student.div(tau), 1))).sum(1).mean().mul(tau * tau);
}
