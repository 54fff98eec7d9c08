/**
 * Hybrid training (Rathi, Srinivasan, Panda & Roy, ICLR 2020): a network converted from an ANN, or calibrated, is
 * fine-tuned through time with labels (BPTT, surrogate gradients). HybridSnn makes any SNN that `snnkit convert` or
 * `snnkit calibrate` wrote trainable as it is: the same layers (batch norm folded), IF neurons with soft reset whose
 * spikes carry the threshold, thresholds and initial potentials as calibrated. Its checkpoints have the layout of
 * SNN checkpoints (the ANN's weights, the SNN's own tensors under `snn.`), so eval, simulate and calibrate read them.
 */
import { SnnkitError } from '../errors.js';
import { Module, type StateDict, type LoadResult } from '../nn/module.js';
import type { StepClassifier } from '../neurons/classifier.js';
import { SpikingNeuron } from '../neurons/neuron.js';
import { atan } from '../surrogate/atan.js';
import { makeSurrogate } from '../surrogate/parse.js';
import type { Surrogate } from '../surrogate/surrogate.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadSnn, restoreSnnTensors, snnTensors, type CheckpointMeta, type SnnMeta } from '../models/checkpoint.js';

/**
 * A converted SNN ([T, N, ...] → [T, N, C]) as a classifier of static inputs: every step gets the analog input
 * (direct encoding), as in simulation; `forward` is the mean output over T. The ANN it was made from is kept for the
 * checkpoint layout only: it is not a child, so it neither trains nor counts among the parameters.
 * @example
 * const { model, meta } = await hybridFromCheckpoint('runs/r20-cal/snn-T8-advanced.safetensors', { T: 8 });
 * await trainSnn({ model, train, val, test, epochs: 2, optimizer: 'adam', lr: 1e-4, outDir: 'runs/r20-hybrid', meta });
 */
export class HybridSnn extends Module implements StepClassifier {
  readonly T: number;
  readonly spikingOutput = false;
  readonly snn: Module;
  private readonly ann: Module;

  /**
   * @param ann the source ANN (its weights are stored with the SNN's)
   * @param snn the converted network
   * @param T time steps per forward
   */
  constructor(ann: Module, snn: Module, T: number) {
    super();
    if (!(Number.isInteger(T) && T >= 1)) throw new SnnkitError(`HybridSnn: T must be a positive integer, got ${T}`, 'INVALID_ARGUMENT');
    this.T = T;
    this.ann = ann;
    this.snn = this.registerModule('snn', snn);
  }

  /** @returns the output of every step [T, N, C], from fresh membranes */
  forwardSteps(x: Tensor): Tensor {
    this.resetMemories();
    const out = this.snn.forward(x.unsqueeze(0).expand(this.T, ...x.shape));
    if (this.training) this.resetMemories();
    return out;
  }

  /** @returns the mean output over time [N, C] */
  forward(x: Tensor): Tensor {
    return this.forwardSteps(x).mean(0);
  }

  /** @returns every spiking neuron, with its qualified name */
  neurons(): [string, SpikingNeuron][] {
    return this.namedModules().filter((e): e is [string, SpikingNeuron] => e[1] instanceof SpikingNeuron);
  }

  /** The SNN checkpoint layout: the ANN's weights, and the SNN's tensors (potentials and tensor thresholds too) under `snn.`. */
  override stateDict(): StateDict {
    return snnTensors(this.ann, this.snn);
  }

  /** Reads the layout {@link stateDict} writes; the ANN's entries are not loaded (they do not change). */
  override loadStateDict(sd: StateDict | Map<string, Tensor>): LoadResult {
    restoreSnnTensors('the state dict', this.snn, sd instanceof Map ? Object.fromEntries(sd) : sd);
    return { missingKeys: [], unexpectedKeys: [] };
  }
}

/** Options of hybridFromCheckpoint. */
export interface HybridOptions {
  /** Time steps of training (default: the T the checkpoint was calibrated for). */
  T?: number;
  /** The surrogate gradient of every neuron (default arctangent, sharpness 2). */
  surrogate?: Surrogate;
  /**
   * Scale each neuron's surrogate to its threshold (default true): the gradient of a spike carrying V_th is then
   * g((v − V_th)/V_th), as if the layer were rescaled to V_th = 1, so that layers with large and small thresholds
   * learn alike: a sharpness (atan, sigmoid) is divided by V_th, a width (rectangle, triangle) multiplied.
   */
  scaleSurrogate?: boolean;
  /** Learn the thresholds too (each neuron's, a number or a per-channel tensor, from its calibrated value). Default false. */
  learnThreshold?: boolean;
}

/** How a surrogate's parameter scales x → x / V_th: a sharpness is divided by V_th, a width multiplied. */
const SCALING: Record<string, 'sharpness' | 'width'> = { atan: 'sharpness', sigmoid: 'sharpness', rectangle: 'width', triangle: 'width' };

/** Sets the surrogate on every neuron, scaled to its threshold (a tensor threshold: its mean). */
function setSurrogates(model: HybridSnn, surrogate: Surrogate, scale: boolean): void {
  const how = SCALING[surrogate.name];
  if (scale && !how)
    throw new SnnkitError(`hybrid: the ${surrogate} surrogate cannot be scaled to the thresholds; use atan, sigmoid, rectangle or triangle, or turn scaling off`, 'INVALID_ARGUMENT');
  for (const [name, n] of model.neurons()) {
    if (!scale) { n.setSurrogate(surrogate); continue; }
    const th = n.vTh, v = typeof th === 'number' ? th : tidy(() => th.mean().item());
    if (!(v > 0)) throw new SnnkitError(`hybrid: neuron '${name}' has threshold ${v}; scaling the surrogate needs a positive one`, 'INVALID_ARGUMENT');
    n.setSurrogate(makeSurrogate(surrogate.name, how === 'sharpness' ? surrogate.param / v : surrogate.param * v));
  }
}

/**
 * Makes the SNN in an SNN checkpoint (snnkit convert or calibrate, or an earlier hybrid run) trainable.
 * @param path the SNN checkpoint
 * @param opts T, surrogate, scaling
 * @returns the model, the ANN it came from (a teacher for distillation), and the metadata its checkpoints carry (the source's, marked as hybrid fine-tuned for T), so
 *   that `snnkit eval` reads them as SNNs at that T
 * @throws SnnkitError for a file that is not an SNN checkpoint (naming it), signed neurons (their spikes cannot be
 *   trained through yet), or the errors of loadSnn
 * @example
 * const { model, meta } = await hybridFromCheckpoint('snn-T8-advanced.safetensors', { T: 8 });
 */
export async function hybridFromCheckpoint(path: string, opts: HybridOptions = {}): Promise<{ model: HybridSnn; ann: Module; meta: CheckpointMeta; snnMeta: SnnMeta }> {
  const { ann, converted, meta, snnMeta } = await loadSnn(path);
  if (snnMeta.signed) throw new SnnkitError(`--init: ${path} has signed IF neurons; hybrid training takes binary IF networks (convert or calibrate without --signed)`, 'INVALID_ARGUMENT');
  const T = opts.T ?? snnMeta.calibration?.T;
  if (T === undefined) throw new SnnkitError(`--init: ${path} was converted for no particular T: give --T`, 'INVALID_ARGUMENT');
  const model = new HybridSnn(ann, converted.snn, T);
  setSurrogates(model, opts.surrogate ?? atan(), opts.scaleSurrogate ?? true);
  if (opts.learnThreshold) for (const [, n] of model.neurons()) n.learnThresholdFromNow();
  const steps = [...(snnMeta.calibration?.steps ?? ['conversion']).filter((s) => s !== 'hybrid'), 'hybrid'];
  const { accuracy: _a, val_accuracy: _v, epoch: _e, history: _h, snn_train: _s, ...kept } = meta;
  return { model, ann, snnMeta, meta: { ...kept, snn: { ...snnMeta, calibration: { ...snnMeta.calibration, T, steps } } } };
}
