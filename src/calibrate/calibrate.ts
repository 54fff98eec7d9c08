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
 * IF neurons (`signed`), and the shift as a per-step bias (`shiftForm: 'bias'`).
 * Calibration data: unlabelled training samples (default 1024).
 */
import { invalidArg, SnnkitError } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import { convertToSnn, foldNetwork, type ConvertedSnn } from '../convert/converter.js';
import { parseThresholdStat, type ThresholdStat } from '../convert/stats.js';
import type { Conv2d, Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { SignedIF, SpikingNeuron } from '../neurons/neuron.js';
import { Adam } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { CosineAnnealingLR } from '../optim/schedule.js';
import { enableGrad, noGrad } from '../tensor/autograd.js';
import { cat, Generator, randperm, tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { emptyCache } from '../tensor/system.js';
import type { Tensor } from '../tensor/tensor.js';
import { AUGMENTS, collectSamples, finetune, type DistillOptions, type QuantizeOptions } from './finetune.js';
import { biasLayerOf, checkAligned, lastUses, lower, segmentOf, type Program } from './program.js';
import { gridSearch, searchRows, searchThresholds, subsampleRows, type ThresholdGrid } from './threshold.js';

/** The calibration steps (docs/methods.md §5), applied at each neuron in the order threshold, weight, bias, potential. */
export interface CalibrationSteps {
  threshold?: boolean;
  weight?: boolean;
  bias?: boolean;
  potential?: boolean;
  /** Before the layer-wise steps (snnkit's addition, not in the paper): see QuantizeOptions. */
  quantize?: boolean;
  /** After the layer-wise steps (snnkit's addition, not in the paper): see DistillOptions. */
  distill?: boolean;
}
/**
 * The step names: quantize once before the walk, the next four at each neuron in this order, distill once at the
 * end.
 */
export const STEP_NAMES = ['quantize', 'threshold', 'weight', 'bias', 'potential', 'distill'] as const;
/** A step's name. */
export type StepName = (typeof STEP_NAMES)[number];

/** The named pipelines (*ref*): none = max thresholds (EMA of batch maxima); light = threshold search + bias; advanced = light + potential. */
export const PIPELINES: Readonly<Record<'none' | 'light' | 'advanced', CalibrationSteps>> = {
  none: {},
  light: { threshold: true, bias: true },
  advanced: { threshold: true, bias: true, potential: true },
};
/** The pipeline names. */
export type PipelineName = keyof typeof PIPELINES;

/**
 * Parses a comma-separated list of steps, e.g. 'threshold,bias,potential,weight'.
 * @throws SnnkitError naming the unknown step and listing the valid ones
 */
export function parseSteps(list: string): CalibrationSteps {
  const out: CalibrationSteps = {};
  for (const s of list.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    if (!(STEP_NAMES as readonly string[]).includes(s)) throw invalidArg('calibrate', 'steps', `a comma-separated list of ${STEP_NAMES.join(', ')}`, s);
    out[s as StepName] = true;
  }
  return out;
}

/** Weight calibration settings (*ref*: Adam, lr 4e-5, cosine to 0, 5000 iterations of batch 32). */
export interface WeightCalibrationOptions {
  /**
   * What the loss compares with the ANN's activation: 'rate' (default, *ref*): clipfloor of the layer's current
   * computed from the SNN's time-averaged input, floor straight-through; 'spikes': the neuron's actual firing rate
   * from the cached input spike trains, gradients through time with the neuron's surrogate (T times the cost, and
   * it sees the uneven timing of spikes that the rate form ignores); 'rate+spikes': the rate form, then the spike form.
   */
  objective?: 'rate' | 'spikes' | 'rate+spikes';
  /** With 'rate+spikes': the iterations of the spike phase, after `iterations` of the rate phase (default 300). */
  spikeIterations?: number;
  optimizer?: 'adam' | 'sgd';
  /** Train the biases too (default false: the authors train the weights only). */
  trainBias?: boolean;
  lr?: number;
  iterations?: number;
  batchSize?: number;
  seed?: number;
}

/** What the search of the threshold step looks at: the ANN's pre-activation, or the calibrated SNN's input current. */
export type ThresholdSource = 'ann' | 'snn';

/** Options of calibrateSnn. */
export interface CalibrateOptions {
  /** The time steps the SNN will run (calibration is for this T). */
  T: number;
  /** Unlabelled training samples (labels are not used). */
  calibration: DataLoader;
  /** Samples to use (default 1024, rounded up to whole batches): for the thresholds and weight calibration. */
  samples?: number;
  /**
   * Of those, the samples that run through the SNN for bias and potential correction and the SNN-side threshold
   * search (default 256, rounded up to whole batches; the authors use one batch). Weight calibration runs all.
   */
  correctionSamples?: number;
  /**
   * Cap on samples × T for the samples that run through the SNN (default 32768: 1024 samples up to T = 32, 512 at
   * T = 64): their currents are cached until each neuron is calibrated.
   */
  maxSampleSteps?: number;
  steps: CalibrationSteps;
  /** V_th/2 initial potential (default true, as the authors' code). */
  shift?: boolean;
  /**
   * How the shift is applied: 'potential' (default) starts each membrane at V_th/2; 'bias' adds V_th/(2T) to the
   * input current at every step (Deng & Gu's bias shift, as the authors' calibration code does), added to the bias
   * of the layer feeding each neuron once its threshold (and weights) are calibrated.
   */
  shiftForm?: 'potential' | 'bias';
  /** Signed IF neurons (ternary spikes; SignedIF) instead of IF (default false). */
  signed?: boolean;
  /**
   * The thresholds before calibration (and of 'none'): a statistic of the ANN's activations. Default 'ema', the EMA
   * (momentum 0.9) of per-batch maxima, as the authors' code computes its "max" thresholds.
   */
  initialThreshold?: ThresholdStat | string;
  grid?: ThresholdGrid;
  /** Points of the linear grid (default 100). */
  points?: number;
  /** One threshold per channel instead of per layer. */
  perChannel?: boolean;
  /**
   * Whether the search's clipfloor rounds (the V_th/2 shift) or floors. Default: as the SNN (`shift`). The authors'
   * code searches with flooring although its SNN rounds: false reproduces that.
   */
  searchShift?: boolean;
  /** Default 'ann' (the authors' recipe). */
  thresholdSource?: ThresholdSource;
  /** With the ANN-side search: one search over all samples ('all', default) or an EMA of per-batch searches ('ema', the authors' code). */
  thresholdAggregate?: 'all' | 'ema';
  weight?: WeightCalibrationOptions;
  quantize?: QuantizeOptions;
  distill?: DistillOptions;
  /** Called before each neuron is calibrated. */
  onLayer?: (layer: string, index: number, total: number) => void;
}

/** What calibration did to one neuron layer. */
export interface LayerCalibration {
  layer: string;
  /** The threshold (one per channel when per-channel). */
  vTh: number | number[];
  /** The largest ANN activation of the layer on the calibration samples. */
  max: number;
  /** Mean squared error between the ANN's activation and the SNN's rate after each step ('converted': before any). */
  errors: { step: 'converted' | StepName; mse: number }[];
}

/** A calibrated SNN: the converted network, per-layer results and the seconds each phase took. */
export interface CalibratedSnn extends ConvertedSnn {
  T: number;
  steps: CalibrationSteps;
  layers: LayerCalibration[];
  seconds: Record<string, number>;
}

/** The current values of one calibration batch, by name, in the SNN ([T, N, ...]) and the folded ANN ([N, ...]). */
interface BatchValues {
  snn: Map<string, Tensor>;
  ann: Map<string, Tensor>;
  count: number;
}

function checkOptions(o: CalibrateOptions): void {
  if (!(Number.isInteger(o.T) && o.T >= 1)) throw invalidArg('calibrate', 'T', 'a positive integer', o.T);
  for (const k of ['samples', 'correctionSamples', 'maxSampleSteps'] as const)
    if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k]! >= 1)) throw invalidArg('calibrate', k, 'a positive integer', o[k]);
  if (o.thresholdSource !== undefined && !['ann', 'snn'].includes(o.thresholdSource)) throw invalidArg('calibrate', 'thresholdSource', "'ann' or 'snn'", o.thresholdSource);
  if (o.thresholdAggregate !== undefined && !['all', 'ema'].includes(o.thresholdAggregate)) throw invalidArg('calibrate', 'thresholdAggregate', "'all' or 'ema'", o.thresholdAggregate);
  if (o.shiftForm !== undefined && !['potential', 'bias'].includes(o.shiftForm)) throw invalidArg('calibrate', 'shiftForm', "'potential' or 'bias'", o.shiftForm);
  const w = o.weight ?? {};
  if (w.objective !== undefined && !['rate', 'spikes', 'rate+spikes'].includes(w.objective)) throw invalidArg('calibrate', 'weight.objective', "'rate', 'spikes' or 'rate+spikes'", w.objective);
  if (w.optimizer !== undefined && !['adam', 'sgd'].includes(w.optimizer)) throw invalidArg('calibrate', 'weight.optimizer', "'adam' or 'sgd'", w.optimizer);
  if (w.lr !== undefined && !(Number.isFinite(w.lr) && w.lr > 0)) throw invalidArg('calibrate', 'weight.lr', 'a positive number', w.lr);
  for (const [name, d] of [['distill', o.distill ?? {}], ['quantize', o.quantize ?? {}]] as const) {
    for (const k of ['epochs', 'batchSize'] as const)
      if (d[k] !== undefined && !(Number.isInteger(d[k]) && d[k]! >= 1)) throw invalidArg('calibrate', `${name}.${k}`, 'a positive integer', d[k]);
    if (d.lr !== undefined && !(Number.isFinite(d.lr) && d.lr > 0)) throw invalidArg('calibrate', `${name}.lr`, 'a positive number', d.lr);
    if (d.augment !== undefined && !AUGMENTS.includes(d.augment)) throw invalidArg('calibrate', `${name}.augment`, AUGMENTS.map((a) => `'${a}'`).join(', '), d.augment);
  }
  const q = o.quantize ?? {};
  if (q.thresholdLr !== undefined && !(Number.isFinite(q.thresholdLr) && q.thresholdLr > 0)) throw invalidArg('calibrate', 'quantize.thresholdLr', 'a positive number', q.thresholdLr);
  for (const k of ['iterations', 'batchSize', 'spikeIterations'] as const)
    if (w[k] !== undefined && !(Number.isInteger(w[k]) && w[k]! >= 1)) throw invalidArg('calibrate', `weight.${k}`, 'a positive integer', w[k]);
}

/** e reshaped per channel: [N, C, ...] → channel-first view shape [C, 1, ...] for broadcasting onto one step. */
const channelShape = (e: Tensor): number[] => [e.shape[1]!, ...new Array<number>(Math.max(0, e.ndim - 2)).fill(1)];

/** clipfloor with the floor passed straight through (its gradient taken as 1); V a number or a broadcastable tensor. */
function clipFloorSte(z: Tensor, T: number, V: number | Tensor, shift: number): Tensor {
  const u = z.mul(T).div(V).add(shift);
  const f = u.add(u.floor().sub(u).detach());
  return f.clamp(0, T).mul(V).div(T);
}

/** A threshold of one value or one per channel, viewed to broadcast over x ([N, C, ...]). */
function perChannelView(V: Tensor, x: Tensor): Tensor {
  return V.size === 1 ? V : V.view(...channelShape(x));
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
  const seconds: Record<string, number> = {};
  const timed = <R>(phase: string, fn: () => R): R => {
    const t = performance.now();
    try { return fn(); } finally { seconds[phase] = (seconds[phase] ?? 0) + (performance.now() - t) / 1000; }
  };
  const t0 = performance.now();
  const shift = o.shift ?? true;
  // The shift as a per-step bias V_th/2T, or (default) as the initial potential V_th/2.
  const biasShift = shift && o.shiftForm === 'bias', potentialShift = shift && !biasShift;
  const stat = parseThresholdStat(o.initialThreshold ?? 'ema');
  const steps = o.steps;
  const annSearch = steps.threshold && (o.thresholdSource ?? 'ann') === 'ann';
  const searched = annSearch ? await searchThresholds(ann, o.calibration, { T: o.T, shift: o.searchShift ?? shift, grid: o.grid, points: o.points, samples: o.samples, perChannel: o.perChannel, aggregate: o.thresholdAggregate }) : undefined;
  if (searched) seconds['threshold'] = (performance.now() - t0) / 1000;
  const tc = performance.now();
  // Converted with the initial statistic: each neuron gets its searched threshold when its turn comes, so that the
  // report shows the error before and after.
  const converted = await convertToSnn(ann, { calibration: o.calibration, samples: o.samples, threshold: stat, shift: potentialShift ? 'potential' : 'none', signed: o.signed ?? false });
  seconds['convert'] = (performance.now() - tc) / 1000;
  const folded = foldNetwork(ann);
  const annP = lower(folded), snnP = lower(converted.snn);
  checkAligned(annP, snnP);
  const last = lastUses(snnP);
  const neurons = snnP.nodes.flatMap((n, k) => (n.kind === 'neuron' ? [k] : []));
  if (steps.weight) for (const k of neurons) for (const v of segmentOf(snnP, k).reads) last.set(v, Math.max(last.get(v) ?? 0, k));
  const layers: LayerCalibration[] = [];
  const sh = shift ? 0.5 : 0;

  // The fine-tuning steps train on the calibration samples themselves (the first `samples` of epoch 0, as the walk).
  const samples = steps.quantize || steps.distill ? await collectSamples(o.calibration, o.samples ?? 1024) : undefined;
  // After quantize the neurons have their learnt thresholds, and the walk's reference becomes the quantized ANN.
  const tuned = steps.quantize === true;
  try {
    if (tuned) {
      timed('quantize', () => quantize(samples!));
      noGrad(() => annP.nodes.forEach((a, k) => {
        const l = snnP.nodes[k]!.layer;
        if (a.layer && l) {
          a.layer.weight.copy_(l.weight);
          if (a.layer.bias && l.bias) a.layer.bias.copy_(l.bias);
        }
      }));
    }
  } catch (e) {
    samples?.dispose();
    folded.dispose();
    throw e;
  }
  /** The reference activation of the neuron layer at node k: the ANN's ReLU, or the quantized ANN's clipfloor. */
  const reference = (k: number, x: Tensor): Tensor =>
    (tuned ? clipFloorSte(x, o.T, (snnP.nodes[k]!.module as SpikingNeuron).vTh, sh) : annP.nodes[k]!.run([x]));

  const batches: BatchValues[] = [];
  // The walk keeps every batch's input currents ([T, N, ...] floats) until their neuron is calibrated: samples × T
  // is capped so that memory stays bounded (ResNet-20: about 2 GB per cached value at the default cap).
  const cap = Math.max(1, Math.floor((o.maxSampleSteps ?? 32768) / o.T));
  const want = Math.min(steps.weight ? o.samples ?? 1024 : Math.min(o.samples ?? 1024, o.correctionSamples ?? 256), cap);
  let seen = 0;
  const t1 = performance.now();
  for await (const b of o.calibration.epoch(0)) {
    const x = b.x.clone().keep();
    batches.push({ ann: new Map([[annP.input, x]]), snn: new Map([[snnP.input, tidy(() => x.unsqueeze(0).expand(o.T, ...x.shape).keep())]]), count: x.shape[0]! });
    seen += x.shape[0]!;
    b.dispose();
    if (seen >= want) break;
  }
  if (!batches.length) throw new SnnkitError('calibrate: the calibration loader gave no batch', 'INVALID_ARGUMENT');
  seconds['data'] = (performance.now() - t1) / 1000;

  // Graph constants are the graph's own tensors: never disposed here (the ANN and SNN programs share names).
  const constants = new Set(snnP.nodes.filter((n) => n.constant).map((n) => n.name));
  const free = (m: Map<string, Tensor>, k: number, p: Program): void => {
    for (const i of new Set(p.nodes[k]!.inputs)) {
      if ((last.get(i) ?? -1) > k) continue;
      const t = m.get(i);
      m.delete(i);
      if (t && !constants.has(i)) t.dispose();
    }
  };
  const runNode = (b: BatchValues, k: number): void => {
    const s = snnP.nodes[k]!, a = annP.nodes[k]!;
    b.snn.set(s.name, tidy(() => s.run(s.inputs.map((i) => snnValue(b, i))).keep()));
    b.ann.set(a.name, tidy(() => a.run(a.inputs.map((i) => b.ann.get(i)!)).keep()));
  };
  const lastNeuron = neurons[neurons.length - 1] ?? -1;
  // Spike trains are cached as booleans (signed ones as 0, 1, 2 bytes: spike + 1), a quarter of the memory (1024
  // samples × T = 64 would not fit otherwise), and expanded to spikes × V_th when read (inside a scope).
  const packed = new Map<string, SpikingNeuron>();
  // (In place where possible: each temporary of this size costs page faults.)
  const pack = (n: SpikingNeuron, s: Tensor): Tensor => (n instanceof SignedIF ? s.sign().add_(1).to('uint8') : s.ne(0));
  function snnValue(b: BatchValues, name: string): Tensor {
    const t = b.snn.get(name)!, n = packed.get(name);
    if (!n) return t;
    return n instanceof SignedIF ? t.to('float32').sub_(1).mul_(n.vTh) : t.to('float32').mul_(n.vTh);
  }
  try {
    for (let k = 0; k <= lastNeuron; k++) {
      const s = snnP.nodes[k]!;
      if (s.kind === 'neuron') {
        o.onLayer?.(s.name, layers.length, neurons.length);
        layers.push(calibrateNeuron(k, s.module as SpikingNeuron));
      } else timed('propagate', () => noGrad(() => { for (const b of batches) runNode(b, k); }));
      for (const b of batches) {
        free(b.snn, k, snnP);
        free(b.ann, k, annP);
      }
    }
  } finally {
    for (const b of batches) {
      for (const [name, t] of [...b.snn, ...b.ann]) if (!constants.has(name)) t.dispose();
    }
    folded.dispose();
    converted.snn.resetMemories();
    emptyCache(); // the cached values' blocks: sizes the simulation will not ask for
  }
  if (steps.distill) {
    try {
      timed('distill', () => distill(converted.snn, samples!));
    } finally {
      samples!.dispose();
    }
  } else samples?.dispose();
  seconds['total'] = (performance.now() - t0) / 1000;
  const thresholds = layers.map((l) => ({ layer: l.layer, vTh: typeof l.vTh === 'number' ? l.vTh : Math.max(...l.vTh) }));
  return { ...converted, thresholds, T: o.T, steps, layers, seconds };

  /** The distill step (DistillOptions): the SNN through time against the original ANN's logits. */
  function distill(snn: Module, x: Tensor): void {
    const d = o.distill ?? {};
    const expand = (v: Tensor): Tensor => v.unsqueeze(0).expand(o.T, ...v.shape);
    const params = snn.parameters();
    const teacher = foldNetwork(ann);
    try {
      finetune(teacher, (v) => {
        snn.resetMemories();
        return snn.forward(expand(v)).mean(0);
      }, x, d, { epochs: 8, batchSize: 32 }, [{ params, lr: d.lr ?? 4e-3 / o.T }]);
    } finally {
      teacher.dispose();
      snn.zeroGrad();
      snn.resetMemories();
    }
  }

  /**
   * The quantize step (QuantizeOptions): the SNN's layers run as an ANN with clipfloor activations and learnt
   * thresholds, against the original ANN's logits; each neuron gets its learnt threshold.
   */
  function quantize(x: Tensor): void {
    const q = o.quantize ?? {};
    const V = neurons.map((k, i) => {
      const init = searched?.thresholds[i] ?? (snnP.nodes[k]!.module as SpikingNeuron).vTh;
      return (typeof init === 'number' ? tensor([init]) : Array.isArray(init) ? tensor(init) : init.flatten().clone()).keep().requiresGrad_(true);
    });
    const at = new Map(neurons.map((k, i) => [k, i]));
    const views: number[][] = []; // each neuron's per-channel view shape ([C, 1, ...]), seen in the forward pass
    const params = converted.snn.parameters();
    const teacher = foldNetwork(ann);
    try {
      finetune(teacher, (v) => {
        const vals = new Map<string, Tensor>([[snnP.input, v]]);
        snnP.nodes.forEach((n, k) => {
          const ins = n.inputs.map((i) => vals.get(i)!);
          const i = at.get(k);
          if (i !== undefined) views[i] ??= channelShape(ins[0]!);
          vals.set(n.name, i === undefined ? n.rate(ins) : clipFloorSte(ins[0]!, o.T, perChannelView(V[i]!, ins[0]!), sh));
        });
        return vals.get(snnP.output)!;
      }, x, q, { epochs: 20, batchSize: 64 }, [{ params, lr: q.lr ?? 5e-4, name: 'weights' }, { params: V, lr: q.thresholdLr ?? 1e-3, min: 1e-6, name: 'thresholds' }]);
    } catch (e) {
      for (const v of V) v.dispose();
      throw e;
    } finally {
      converted.snn.zeroGrad();
      teacher.dispose();
    }
    V.forEach((v, i) => {
      setThreshold(snnP.nodes[neurons[i]!]!.module as SpikingNeuron, v.size === 1 ? v.item() : tidy(() => v.detach().view(...views[i]!).clone()));
      v.dispose();
    });
  }

  /** Sets a neuron's threshold and, with the shift, its initial potential V_th/2 (the neuron keeps a tensor given). */
  function setThreshold(neuron: SpikingNeuron, vTh: number | Tensor): void {
    neuron.setThreshold(vTh);
    neuron.setInitialPotential(potentialShift ? (typeof vTh === 'number' ? vTh / 2 : tidy(() => vTh.div(2))) : undefined);
  }

  /** Calibrates the neuron at node k, then replaces its input by its spikes in every batch. */
  function calibrateNeuron(k: number, neuron: SpikingNeuron): LayerCalibration {
    const s = snnP.nodes[k]!, a = annP.nodes[k]!, inName = s.inputs[0]!;
    if (!(neuron instanceof SpikingNeuron)) throw new SnnkitError(`calibrate: node '${s.name}' is not a spiking neuron`, 'INVALID_ARGUMENT');
    const T = o.T;
    const targets = noGrad(() => batches.map((b) => tidy(() => reference(k, b.ann.get(a.inputs[0]!)!).keep())));
    const rate = (b: BatchValues): Tensor => {
      neuron.reset();
      const r = neuron.forward(b.snn.get(inName)!).mean(0);
      neuron.reset();
      return r;
    };
    /** Σ over batches of fn(e) for e = a − r. */
    const errorSum = (fn: (e: Tensor) => Tensor): Tensor => tidy(() => {
      let acc: Tensor | undefined;
      batches.forEach((b, i) => {
        const part = fn(targets[i]!.sub(rate(b)));
        acc = acc ? acc.add(part) : part;
      });
      return acc!;
    });
    const count = seen; // the samples in the cached batches
    // The per-step errors of the report, on the first batch (a full pass per step would cost as much as the steps).
    const mse = (): number => noGrad(() => tidy(() => targets[0]!.sub(rate(batches[0]!)).square().mean().item()));
    // After quantize, the neuron has its learnt threshold already: the first error is the one after that step.
    const errors: LayerCalibration['errors'] = [{ step: tuned ? 'quantize' : 'converted', mse: mse() }];
    const max = searched?.max[layers.length] ?? noGrad(() => tidy(() => Math.max(...targets.map((t) => t.amax().item()))));

    const preset = searched?.thresholds[layers.length];
    if (tuned) {
      // quantize learnt the threshold (the search, if asked for, only gave its starting value)
    } else if (preset !== undefined) {
      const vTh = typeof preset === 'number' ? preset : tensor(preset, channelShape(targets[0]!));
      setThreshold(neuron, vTh);
      errors.push({ step: 'threshold', mse: mse() });
    } else if (steps.threshold) timed('threshold', () => noGrad(() => {
      const per = o.perChannel === true;
      const pick = (t: Tensor): Tensor => subsampleRows(searchRows(t, per), 65536);
      const V = tidy(() => {
        const xs = batches.map((b) => pick(b.snn.get(inName)!.mean(0)));
        const ts = targets.map(pick);
        const rowMax = per ? cat(targets.map((t) => searchRows(t, per).amax(1).unsqueeze(0))).amax(0).toTypedArray() as Float32Array : [max];
        return gridSearch(cat(xs, 1), cat(ts, 1), [...rowMax], { T, shift: o.searchShift ?? shift, grid: o.grid, points: o.points });
      });
      setThreshold(neuron, per ? tensor(V, channelShape(targets[0]!)) : V[0]!);
      errors.push({ step: 'threshold', mse: mse() });
    }));
    if (steps.weight) timed('weight', () => {
      calibrateWeights(k, neuron, targets);
      errors.push({ step: 'weight', mse: mse() });
    });
    if (biasShift) noGrad(() => {
      const th = neuron.vTh;
      const c = tidy(() => (typeof th === 'number' ? tensor([th / (2 * T)]) : th.div(2 * T)).keep());
      addToCurrent(biasLayerOf(snnP, k), c);
      c.dispose();
    });
    /** Adds c (a scalar or one per channel) to the layer's bias and to the neuron's cached input currents. */
    function addToCurrent(layer: Conv2d | Linear, c: Tensor): void {
      layer.bias!.add_(c.size === 1 ? c.flatten() : c.view(layer.bias!.shape[0]!));
      const cv = c.size === 1 ? c.flatten() : c.view(...channelShape(targets[0]!));
      for (const b of batches) {
        const next = tidy(() => b.snn.get(inName)!.add(cv).keep());
        b.snn.get(inName)!.dispose();
        b.snn.set(inName, next);
      }
      cv.dispose();
    }
    if (steps.bias) timed('bias', () => noGrad(() => {
      const layer = biasLayerOf(snnP, k);
      const dims = targets[0]!.ndim > 2 ? [0, ...Array.from({ length: targets[0]!.ndim - 2 }, (_, i) => i + 2)] : [0];
      const corr = tidy(() => errorSum((e) => e.sum(dims)).div(count * (targets[0]!.size / targets[0]!.shape[0]! / targets[0]!.shape[1]!)).keep());
      addToCurrent(layer, corr);
      corr.dispose();
      errors.push({ step: 'bias', mse: mse() });
    }));
    if (steps.potential) timed('potential', () => noGrad(() => {
      const v0 = tidy(() => {
        const e = errorSum((x) => x.sum(0)).div(count).mul(T);
        const th = neuron.vTh;
        return (potentialShift ? e.add(typeof th === 'number' ? th / 2 : th.div(2)) : e).keep();
      });
      neuron.setInitialPotential(v0); // kept by the neuron
      errors.push({ step: 'potential', mse: mse() });
    }));
    packed.set(s.name, neuron);
    timed('propagate', () => noGrad(() => {
      batches.forEach((b, i) => {
        b.snn.set(s.name, tidy(() => { neuron.reset(); const out = pack(neuron, neuron.forward(b.snn.get(inName)!)).keep(); neuron.reset(); return out; }));
        b.ann.set(a.name, targets[i]!);
      });
    }));
    const th = neuron.vTh;
    return { layer: s.name, vTh: typeof th === 'number' ? th : [...(tidy(() => th.flatten().toTypedArray()) as Float32Array)], max, errors };
  }

  /**
   * Weight calibration of the affine layers feeding neuron k: on the SNN's time-averaged inputs (cached for all
   * samples), minimise the squared error between clipfloor of the resulting current and the ANN's activation.
   * Afterwards the neuron's input current is recomputed in every batch.
   */
  function calibrateWeights(k: number, neuron: SpikingNeuron, targets: Tensor[]): void {
    const seg = segmentOf(snnP, k);
    const layersW = seg.nodes.map((i) => snnP.nodes[i]!).filter((n) => n.kind === 'affine' && n.layer).map((n) => n.layer!);
    if (!layersW.length) return;
    const w = o.weight ?? {};
    const iterations = w.iterations ?? 5000, bs = w.batchSize ?? 32, lr = w.lr ?? 4e-5;
    const objective = w.objective ?? 'rate';
    const phases: [phase: 'rate' | 'spikes', iterations: number][] = objective === 'rate+spikes'
      ? [['rate', iterations], ['spikes', w.spikeIterations ?? 300]] : [[objective, iterations]];
    // The rate form trains on all samples' time-averaged inputs; the spike form on one cached batch at a time.
    const useRates = objective !== 'spikes';
    const rates = useRates ? new Map(seg.reads.map((v) => [v, noGrad(() => tidy(() => cat(batches.map((b) => (v === snnP.input ? b.ann.get(annP.input)! : snnValue(b, v).mean(0)))).keep()))])) : new Map<string, Tensor>();
    const target = useRates ? tidy(() => cat(targets).keep()) : undefined;
    const N = seen;
    const params = layersW.flatMap((l) => (w.trainBias && l.bias ? [l.weight, l.bias] : [l.weight]));
    const gen = new Generator(w.seed ?? 0);
    const V = neuron.vTh;
    const outName = snnP.nodes[k]!.inputs[0]!;
    const runSegment = (vals: Map<string, Tensor>, rate: boolean): Tensor => {
      for (const i of seg.nodes) {
        const n = snnP.nodes[i]!;
        vals.set(n.name, rate ? n.rate(n.inputs.map((x) => vals.get(x)!)) : n.run(n.inputs.map((x) => vals.get(x)!)));
      }
      return vals.get(outName)!;
    };
    let perm: Tensor | undefined, pos = N;
    try {
      for (const [phase, steps] of phases) {
        const opt = w.optimizer === 'sgd' ? new SGD(params, { lr, momentum: 0.9 }) : new Adam(params, { lr });
        const sched = new CosineAnnealingLR(opt, steps);
        const update = (loss: Tensor): void => { opt.zeroGrad(); loss.backward(); opt.step(); sched.step(); };
        for (let it = 0; it < steps; it++) {
          if (phase === 'spikes') {
            const bi = it % batches.length, b = batches[bi]!;
            tidy(() => enableGrad(() => {
              const idx = randperm(b.count, { generator: gen }).narrow(0, 0, Math.min(bs, b.count));
              const vals = new Map<string, Tensor>(seg.reads.map((v) => [v, snnValue(b, v).indexSelect(1, idx)]));
              neuron.reset();
              const rate = neuron.forward(runSegment(vals, false)).mean(0);
              neuron.reset();
              update(rate.sub(targets[bi]!.indexSelect(0, idx)).square().mean());
            }));
            continue;
          }
          if (pos + bs > N) { perm?.dispose(); perm = randperm(N, { generator: gen }).keep(); pos = 0; }
          tidy(() => enableGrad(() => {
            const idx = perm!.narrow(0, pos, Math.min(bs, N));
            const vals = new Map<string, Tensor>([...rates].map(([v, r]) => [v, r.indexSelect(0, idx)]));
            update(clipFloorSte(runSegment(vals, true), o.T, V, sh).sub(target!.indexSelect(0, idx)).square().mean());
          }));
          pos += bs;
        }
        opt.zeroGrad();
      }
    } finally {
      perm?.dispose();
      neuron.reset();
      for (const l of layersW) l.zeroGrad();
      for (const r of rates.values()) r.dispose();
      target?.dispose();
    }
    // The layers changed: recompute the segment, in spikes, in every batch.
    noGrad(() => {
      for (const b of batches) {
        const vals = new Map<string, Tensor>(), consts = new Map<string, Tensor>();
        for (const i of seg.nodes) {
          const n = snnP.nodes[i]!;
          if (n.constant) consts.set(n.name, n.run([])); // the graph's own tensor: never disposed here
          else vals.set(n.name, tidy(() => n.run(n.inputs.map((x) => vals.get(x) ?? consts.get(x) ?? snnValue(b, x))).keep()));
        }
        for (const [name, t] of vals) {
          if (b.snn.has(name)) { b.snn.get(name)!.dispose(); b.snn.set(name, t); } else t.dispose();
        }
      }
    });
  }
}
