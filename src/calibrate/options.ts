/** The options of calibration, their check, and what it reports (docs/methods.md §5). */
import { deprecated, invalidArg } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import type { ConvertedSnn } from '../convert/converter.js';
import type { ThresholdStat } from '../convert/stats.js';
import { AUGMENTS, type DistillOptions, type QuantizeOptions } from './finetune.js';
import type { ThresholdGrid } from './threshold.js';
import type { CalibrationStep } from './step.js';
import type { Surrogate } from '../surrogate/surrogate.js';

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
 * @example
 * calibrate.parseSteps('threshold, bias'); // { threshold: true, bias: true }
 */
export function parseSteps(list: string): CalibrationSteps {
  const out: CalibrationSteps = {};
  for (const s of list.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    if (!(STEP_NAMES as readonly string[]).includes(s)) throw invalidArg('calibrate', 'steps', `a comma-separated list of ${STEP_NAMES.join(', ')}`, s);
    out[s as StepName] = true;
  }
  return out;
}

/** How calibration applies the V_th/2 shift. */
export type CalibrationShift = 'none' | 'potential' | 'bias';
/** The valid shifts. */
export const CALIBRATION_SHIFTS: readonly CalibrationShift[] = ['none', 'potential', 'bias'];

/**
 * The shift the options ask for, the former spellings (`shift: boolean`, `shiftForm`) included.
 * @example
 * calibrate.shiftMode({ shift: 'bias' }); // 'bias'
 * calibrate.shiftMode({}); // 'potential', the default
 */
export function shiftMode(o: Pick<CalibrateOptions, 'shift' | 'shiftForm'>): CalibrationShift {
  if (typeof o.shift === 'string') return o.shift;
  return o.shift === false ? 'none' : o.shiftForm ?? 'potential';
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

/**
 * What the search of the threshold step looks at: the ANN's pre-activation, the calibrated SNN's mean input current
 * (both scored through the clipfloor model), or the SNN's input currents step by step with the neuron simulated for
 * each candidate ('spikes': the model's timing error included; per layer, IF neurons).
 */
export type ThresholdSource = 'ann' | 'snn' | 'spikes';

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
  /**
   * The V_th/2 shift (docs/methods.md §3): 'potential' (default, as the authors' code) starts each membrane at V_th/2;
   * 'bias' adds V_th/(2T) to the input current at every step (Deng & Gu's bias shift, as the authors' calibration code
   * does), added to the bias of the layer feeding each neuron once its threshold (and weights) are calibrated;
   * 'none' starts membranes at 0. The same word as conversion's `shift`. (`true`/`false` with `shiftForm` are the
   * former spellings, until snnkit 0.3.)
   */
  shift?: CalibrationShift | boolean;
  /** @deprecated use `shift: 'potential' | 'bias'` (until snnkit 0.3) */
  shiftForm?: 'potential' | 'bias';
  /** Signed IF neurons (ternary spikes; SignedIF) instead of IF (default false). */
  signed?: boolean;
  /**
   * The surrogate of the SNN's neurons, which the spike-level steps (weight calibration's 'spikes' objective,
   * distill) train through; any Surrogate, yours included (defineSurrogate). Default atan(2).
   */
  surrogate?: Surrogate;
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
  /** Steps of your own, run at each neuron after the built-in ones (see CalibrationStep). */
  extraSteps?: readonly CalibrationStep[];
}

/** What calibration did to one neuron layer. */
export interface LayerCalibration {
  layer: string;
  /** The threshold (one per channel when per-channel). */
  vTh: number | number[];
  /** The largest ANN activation of the layer on the calibration samples. */
  max: number;
  /**
   * Mean squared error between the ANN's activation and the SNN's rate after each step ('converted': before any; a
   * step of your own: its name).
   */
  errors: { step: 'converted' | StepName | (string & {}); mse: number }[];
}

/** A calibrated SNN: the converted network, per-layer results and the seconds each phase took. */
export interface CalibratedSnn extends ConvertedSnn {
  T: number;
  steps: CalibrationSteps;
  layers: LayerCalibration[];
  seconds: Record<string, number>;
}

/** @throws SnnkitError naming the first bad option */
export function checkOptions(o: CalibrateOptions): void {
  if (!(Number.isInteger(o.T) && o.T >= 1)) throw invalidArg('calibrate', 'T', 'a positive integer', o.T);
  for (const k of ['samples', 'correctionSamples', 'maxSampleSteps'] as const)
    if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k]! >= 1)) throw invalidArg('calibrate', k, 'a positive integer', o[k]);
  if (o.thresholdSource !== undefined && !['ann', 'snn', 'spikes'].includes(o.thresholdSource)) throw invalidArg('calibrate', 'thresholdSource', "'ann', 'snn' or 'spikes'", o.thresholdSource);
  if (o.thresholdSource === 'spikes' && (o.perChannel === true || o.signed === true)) throw invalidArg('calibrate', 'thresholdSource', "'ann' or 'snn' with per-channel thresholds or signed neurons ('spikes' searches one threshold a layer for IF neurons)", o.thresholdSource);
  if (o.thresholdAggregate !== undefined && !['all', 'ema'].includes(o.thresholdAggregate)) throw invalidArg('calibrate', 'thresholdAggregate', "'all' or 'ema'", o.thresholdAggregate);
  if (o.shiftForm !== undefined && !['potential', 'bias'].includes(o.shiftForm)) throw invalidArg('calibrate', 'shiftForm', "'potential' or 'bias'", o.shiftForm);
  if (typeof o.shift === 'boolean') deprecated('calibrateSnn', `shift: ${o.shift}`, o.shift ? "shift: 'potential' (the default) or 'bias'" : "shift: 'none'");
  else if (o.shift !== undefined && !CALIBRATION_SHIFTS.includes(o.shift)) throw invalidArg('calibrate', 'shift', CALIBRATION_SHIFTS.map((m) => `'${m}'`).join(', '), o.shift);
  if (o.shiftForm !== undefined) deprecated('calibrateSnn', 'shiftForm', `shift: '${o.shiftForm}'`);
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
  for (const k of ['samples', 'levels'] as const)
    if (q[k] !== undefined && !(Number.isInteger(q[k]) && q[k]! >= 1)) throw invalidArg('calibrate', `quantize.${k}`, 'a positive integer', q[k]);
  if (q.thresholdLr !== undefined && !(Number.isFinite(q.thresholdLr) && q.thresholdLr > 0)) throw invalidArg('calibrate', 'quantize.thresholdLr', 'a positive number', q.thresholdLr);
  for (const k of ['iterations', 'batchSize', 'spikeIterations'] as const)
    if (w[k] !== undefined && !(Number.isInteger(w[k]) && w[k]! >= 1)) throw invalidArg('calibrate', `weight.${k}`, 'a positive integer', w[k]);
}

