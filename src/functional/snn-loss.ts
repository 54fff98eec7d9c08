/**
 * Losses of spiking classifiers over the outputs of every time step O [T, N, C] (docs/methods.md §6):
 *
 *   mean-ce:  CE(mean_t O_t, y)                                    the usual loss on the mean output
 *   rate-ce:  CE(Σ_t O_t, y) on the spike counts of a spiking output layer
 *   rate-mse: mean_t,n,c (mean_t O_t − onehot(y))²                 SpikingJelly's tutorial loss on firing rates
 *   tet:      (1 − λ) · mean_t CE(O_t, y) + λ · mean_t MSE(O_t, φ)  Deng, Gu, Li, Yu & Gu, "Temporal Efficient
 *             Training", ICLR 2022 (defaults λ = 1e-3, φ = 1)
 */
import { invalidArg, SnnkitError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy, mseLoss } from './loss.js';
import { fullLike } from '../tensor/creation.js';

/** The loss kinds. */
export type SnnLossKind = 'mean-ce' | 'rate-ce' | 'rate-mse' | 'tet';
/** The valid loss kinds. */
export const SNN_LOSSES: readonly SnnLossKind[] = ['mean-ce', 'rate-ce', 'rate-mse', 'tet'];

/** A loss: its kind and, for TET, λ and φ. */
export interface SnnLoss {
  kind: SnnLossKind;
  /** TET's weight of the regulariser, in [0, 1] (default 1e-3). */
  lambda?: number;
  /** TET's target of the outputs (default 1). */
  phi?: number;
}

function checkSteps(fn: string, outputs: Tensor, target: Tensor): void {
  if (outputs.ndim !== 3) throw new SnnkitError(`${fn}: outputs must be [T, N, C], got ${outputs.describe()}`, 'SHAPE_MISMATCH');
  if (target.ndim !== 1 || target.shape[0] !== outputs.shape[1])
    throw new SnnkitError(`${fn}: target ${target.describe()} must be [N] class indices for outputs ${outputs.describe()}`, 'SHAPE_MISMATCH');
}

/**
 * The TET loss (1 − λ) · (1/T) Σ_t CE(O_t, y) + λ · (1/T) Σ_t MSE(O_t, φ).
 * @param outputs [T, N, C] the output of every step
 * @param target [N] class indices (int64)
 * @param opts lambda in [0, 1] (default 1e-3), phi (default 1)
 * @returns the scalar loss
 * @throws SnnkitError for shapes that do not fit, or λ outside [0, 1]
 * @example tetLoss(snn.forwardSteps(x), y, { lambda: 1e-3 })
 */
export function tetLoss(outputs: Tensor, target: Tensor, opts: { lambda?: number; phi?: number } = {}): Tensor {
  checkSteps('tetLoss', outputs, target);
  const lambda = opts.lambda ?? 1e-3, phi = opts.phi ?? 1;
  if (!(lambda >= 0 && lambda <= 1)) throw invalidArg('tetLoss', 'lambda', 'a number in [0, 1]', lambda);
  if (!Number.isFinite(phi)) throw invalidArg('tetLoss', 'phi', 'a finite number', phi);
  const [T, N] = [outputs.shape[0]!, outputs.shape[1]!];
  // Folding time into the batch gives mean over (t, n) of the per-sample CE: (1/T) Σ_t of the batch means.
  const ce = crossEntropy(outputs.flatten(0, 1), target.unsqueeze(0).expand(T, N).flatten(0, 1));
  if (lambda === 0) return ce;
  const mse = mseLoss(outputs, fullLike(outputs, phi));
  return ce.mul(1 - lambda).add(mse.mul(lambda));
}

/**
 * A spiking classifier's loss over its per-step outputs.
 * @param outputs [T, N, C]
 * @param target [N] class indices
 * @param loss the kind, and TET's λ and φ
 * @returns the scalar loss
 * @throws SnnkitError for an unknown kind (listing the valid ones) or shapes that do not fit
 * @example snnLoss(snn.forwardSteps(x), y, { kind: 'rate-mse' })
 */
export function snnLoss(outputs: Tensor, target: Tensor, loss: SnnLoss): Tensor {
  checkSteps('snnLoss', outputs, target);
  switch (loss.kind) {
    case 'mean-ce': return crossEntropy(outputs.mean(0), target);
    case 'rate-ce': return crossEntropy(outputs.sum(0), target);
    case 'rate-mse': return mseLoss(outputs.mean(0), target.oneHot(outputs.shape[2]!).to(outputs.dtype));
    case 'tet': return tetLoss(outputs, target, loss);
    default: throw invalidArg('snnLoss', 'kind', `one of ${SNN_LOSSES.join(', ')}`, loss.kind);
  }
}

/**
 * Parses a loss spec as the CLI takes it: `mean-ce`, `rate-ce`, `rate-mse`, `tet` or `tet:LAMBDA`.
 * @throws SnnkitError naming the spec and the valid forms
 * @example parseSnnLoss('tet:0.05')  // { kind: 'tet', lambda: 0.05 }
 */
export function parseSnnLoss(spec: string): SnnLoss {
  const [kind, arg, extra] = spec.split(':');
  const valid = `one of ${SNN_LOSSES.join(', ')}, or tet:LAMBDA with LAMBDA in [0, 1]`;
  if (!SNN_LOSSES.includes(kind as SnnLossKind) || extra !== undefined || (arg !== undefined && kind !== 'tet'))
    throw new SnnkitError(`--loss: '${spec}' is not a loss: expected ${valid}`, 'INVALID_ARGUMENT');
  if (arg === undefined) return { kind: kind as SnnLossKind };
  const lambda = Number(arg);
  if (arg.trim() === '' || !(lambda >= 0 && lambda <= 1)) throw new SnnkitError(`--loss: '${spec}' has λ = '${arg}': expected ${valid}`, 'INVALID_ARGUMENT');
  return { kind: 'tet', lambda };
}
