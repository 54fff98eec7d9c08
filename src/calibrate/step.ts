/**
 * A calibration step: what it sees of the neuron being calibrated (NeuronContext) and the one method it implements.
 * The built-in steps are in steps/ (threshold, weight, shift, bias, potential, in this order at each neuron); a step of
 * your own goes in `CalibrateOptions.extraSteps` and runs after them.
 * @example
 * // Scales each neuron's threshold by 0.9 after the built-in steps.
 * const shrink: CalibrationStep = { name: 'shrink', run: (c) => { c.walk.setThreshold(c.neuron, (c.neuron.vTh as number) * 0.9); return true; } };
 * await calibrateSnn(ann, { T: 8, calibration, steps: PIPELINES.light, extraSteps: [shrink] });
 */
import type { Conv2d, Linear } from '../nn/layers.js';
import type { SpikingNeuron } from '../neurons/neuron.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { channelShape, type BatchValues, type Walk } from './walk.js';

/** What a step sees when a neuron's turn comes. Values are per cached batch, in the order of `walk.batches`. */
export interface NeuronContext {
  readonly walk: Walk;
  /** The neuron's node in `walk.snnP` (and `walk.annP`, where the ANN has its ReLU). */
  readonly k: number;
  readonly neuron: SpikingNeuron;
  /** The neuron's position among the network's neurons. */
  readonly index: number;
  /** The name of the neuron's input current in `batch.snn` ([T, N, ...]). */
  readonly inName: string;
  /** The reference activation per batch (the ANN's ReLU output, or the quantized ANN's), [N, ...]. */
  readonly targets: readonly Tensor[];
  /** The largest reference activation. */
  readonly max: number;
  /** The neuron's firing rate on a batch's cached input ([N, ...], spikes × V_th averaged over T). */
  rate(b: BatchValues): Tensor;
  /** Σ over the batches of fn(e), e = target − rate. */
  errorSum(fn: (e: Tensor) => Tensor): Tensor;
  /** The squared error target − rate on the first batch (what the report shows after each step). */
  mse(): number;
  /** Adds c (one value, or one per channel) to the layer's bias and to the neuron's cached input currents. */
  addToCurrent(layer: Conv2d | Linear, c: Tensor): void;
}

/** One calibration step at each neuron. */
export interface CalibrationStep {
  /** Its name in the report (LayerCalibration.errors). */
  readonly name: string;
  /**
   * Calibrates the neuron: its threshold, initial potential, or the layers feeding it (then it must update the cached
   * input currents: see addToCurrent).
   * @returns whether it changed something: the report then shows the error after it
   */
  run(c: NeuronContext): boolean;
}

/**
 * The context of neuron k (its reference activations computed here; the caller frees them or hands them on).
 * @example
 * // A driver's turn at neuron node k (the index-th neuron), as calibrateSnn's:
 * const c = neuronContext(walk, k, neuron, index);
 * for (const step of steps) if (step.run(c)) console.log(step.name, c.mse());
 */
export function neuronContext(walk: Walk, k: number, neuron: SpikingNeuron, index: number): NeuronContext {
  const s = walk.snnP.nodes[k]!, a = walk.annP.nodes[k]!, inName = s.inputs[0]!;
  const targets = noGrad(() => walk.batches.map((b) => tidy(() => walk.reference(k, b.ann.get(a.inputs[0]!)!).keep())));
  const rate = (b: BatchValues): Tensor => {
    neuron.reset();
    const r = neuron.forward(b.snn.get(inName)!).mean(0);
    neuron.reset();
    return r;
  };
  const max = walk.searched?.max[index] ?? noGrad(() => tidy(() => Math.max(...targets.map((t) => t.amax().item()))));
  return {
    walk, k, neuron, index, inName, targets, max, rate,
    errorSum: (fn) => tidy(() => {
      let acc: Tensor | undefined;
      walk.batches.forEach((b, i) => {
        const part = fn(targets[i]!.sub(rate(b)));
        acc = acc ? acc.add(part) : part;
      });
      return acc!;
    }),
    // On the first batch: a full pass per step would cost as much as the steps.
    mse: () => noGrad(() => tidy(() => targets[0]!.sub(rate(walk.batches[0]!)).square().mean().item())),
    addToCurrent: (layer, c) => {
      layer.bias!.add_(c.size === 1 ? c.flatten() : c.view(layer.bias!.shape[0]!));
      const cv = c.size === 1 ? c.flatten() : c.view(...channelShape(targets[0]!));
      for (const b of walk.batches) {
        const next = tidy(() => b.snn.get(inName)!.add(cv).keep());
        b.snn.get(inName)!.dispose();
        b.snn.set(inName, next);
      }
      cv.dispose();
    },
  };
}
