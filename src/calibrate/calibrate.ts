/**
 * Layer-wise calibration of a converted SNN (Li, Deng, Dong, Gong & Gu, ICML 2021; docs/methods.md §5). The network is lowered
 * to a program (src/calibrate/program.ts) and run one neuron at a time over the cached calibration batches, so each
 * neuron is calibrated seeing the already calibrated layers before it, and every layer is computed once. At each
 * neuron, in this order, each step optional:
 * - threshold: V_th = argmin ‖clipfloor(x, T, V) − a‖² over a grid, per layer or per channel, where a is the ANN's
 *   activation and x the ANN's pre-activation (the authors' recipe) or the calibrated SNN's mean input current;
 * - weight: the affine layers feeding the neuron trained to minimise ‖clipfloor(W·r + b) − a‖² on the SNN's input
 *   rates r (floor passed straight through), Adam or SGD with a cosine schedule;
 * - bias: per output channel, b += mean over samples and positions of e = a − r (r the SNN's rate);
 * - potential: v(0) = T · e per element (mean over the samples), on top of the V_th/2 shift.
 * snnkit's additions, optional: quantize before the walk (QuantizeOptions), distill after it (DistillOptions), signed
 * IF neurons (`signed`), and the shift as a per-step bias (`shift: 'bias'`).
 * Calibration data: unlabelled training samples (default 1024).
 */
import { SnnkitError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { SpikingNeuron } from '../neurons/neuron.js';
import { tidy } from '../tensor/scope.js';
import { emptyCache } from '../tensor/system.js';
import type { Tensor } from '../tensor/tensor.js';
import { collectSamples } from './finetune.js';
import { checkOptions, type CalibratedSnn, type CalibrateOptions, type LayerCalibration } from './options.js';
import { neuronContext, type CalibrationStep } from './step.js';
import { biasStep } from './steps/bias.js';
import { distill } from './steps/distill.js';
import { potentialStep } from './steps/potential.js';
import { quantize } from './steps/quantize.js';
import { biasShiftStep } from './steps/shift.js';
import { thresholdStep } from './steps/threshold.js';
import { weightStep } from './steps/weight.js';
import { Walk } from './walk.js';

export {
  parseSteps, PIPELINES, STEP_NAMES, CALIBRATION_SHIFTS, shiftMode, type CalibrationShift,
  type CalibratedSnn, type CalibrateOptions, type CalibrationSteps, type LayerCalibration, type PipelineName, type StepName, type ThresholdSource, type WeightCalibrationOptions,
} from './options.js';

/** The steps that run at each neuron, in order: the built-in ones asked for, then the caller's. */
function neuronSteps(walk: Walk): CalibrationStep[] {
  const s = walk.o.steps;
  return [
    ...(s.threshold ? [thresholdStep] : []), ...(s.weight ? [weightStep] : []), ...(walk.biasShift ? [biasShiftStep] : []),
    ...(s.bias ? [biasStep] : []), ...(s.potential ? [potentialStep] : []), ...(walk.o.extraSteps ?? []),
  ];
}

/** Calibrates the neuron at node k with each step, then replaces its input by its spikes in every batch. */
function calibrateNeuron(walk: Walk, k: number, index: number, steps: readonly CalibrationStep[]): LayerCalibration {
  const s = walk.snnP.nodes[k]!, neuron = s.module;
  if (!(neuron instanceof SpikingNeuron)) throw new SnnkitError(`calibrate: node '${s.name}' is not a spiking neuron`, 'INVALID_ARGUMENT');
  const c = neuronContext(walk, k, neuron, index);
  // After quantize, the neuron has its learnt threshold already: the first error is the one after that step.
  const errors: LayerCalibration['errors'] = [{ step: walk.tuned ? 'quantize' : 'converted', mse: c.mse() }];
  for (const step of steps) if (step.run(c)) errors.push({ step: step.name, mse: c.mse() });
  walk.setSpikes(k, neuron, [...c.targets]);
  const th = neuron.vTh;
  return { layer: s.name, vTh: typeof th === 'number' ? th : [...(tidy(() => th.flatten().toTypedArray()) as Float32Array)], max: c.max, errors };
}

/**
 * Converts and calibrates an ANN for T time steps.
 * @param ann the ANN (not modified)
 * @returns the calibrated SNN, what each layer's calibration did, and the seconds each phase took
 * @throws SnnkitError for models the converter cannot handle, bad options, or a neuron bias correction cannot reach
 * @example
 * const c = await calibrateSnn(model, { T: 32, calibration: trainLoader, steps: PIPELINES.advanced });
 */
export async function calibrateSnn(ann: Module, o: CalibrateOptions): Promise<CalibratedSnn> {
  checkOptions(o);
  const t0 = performance.now();
  const walk = await Walk.start(ann, o);
  const { steps } = o;
  // The fine-tuning steps train on the calibration samples themselves (the first `samples` of epoch 0, as the walk);
  // quantize may draw on more of them (quantize.samples), distill on those only.
  let pool: Tensor | undefined, samples: Tensor | undefined;
  const layers: LayerCalibration[] = [];
  try {
    const n = o.samples ?? 1024, nq = steps.quantize ? Math.max(n, o.quantize?.samples ?? n) : n;
    pool = steps.quantize || steps.distill ? await collectSamples(o.calibration, nq) : undefined;
    samples = pool && pool.shape[0]! > n ? pool.narrow(0, 0, n).clone().keep() : pool;
    if (steps.quantize) walk.timed('quantize', () => quantize(walk, pool!));
    if (steps.quantize && o.quantize?.evaluate) await o.quantize.evaluate((x) => walk.quantizedAnn(x));
    if (pool !== samples) pool!.dispose();
    pool = undefined;
    await walk.loadBatches();
    const perNeuron = neuronSteps(walk), lastNeuron = walk.neurons[walk.neurons.length - 1] ?? -1;
    for (let k = 0; k <= lastNeuron; k++) {
      const s = walk.snnP.nodes[k]!;
      if (s.kind === 'neuron') {
        o.onLayer?.(s.name, layers.length, walk.neurons.length);
        layers.push(calibrateNeuron(walk, k, layers.length, perNeuron));
      } else walk.propagate(k);
      walk.free(k);
    }
  } catch (e) {
    if (pool !== samples) pool?.dispose();
    samples?.dispose();
    throw e;
  } finally {
    walk.release();
    emptyCache(); // the cached values' blocks: sizes the simulation will not ask for
  }
  const snn = walk.converted.snn;
  try {
    if (steps.distill) walk.timed('distill', () => distill(ann, snn, samples!, o));
  } finally {
    samples?.dispose();
  }
  walk.seconds['total'] = (performance.now() - t0) / 1000;
  const thresholds = layers.map((l) => ({ layer: l.layer, vTh: typeof l.vTh === 'number' ? l.vTh : Math.max(...l.vTh) }));
  return { ...walk.converted, thresholds, T: o.T, steps, layers, seconds: walk.seconds };
}
