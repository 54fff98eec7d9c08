/**
 * Layer-wise calibration of a converted SNN (Li, Deng, Dong, Gong & Gu, ICML 2021; METHODS §4), layer by layer in
 * order, each layer seeing the already calibrated layers before it (their spike trains are cached, so every stage
 * runs once per step of the procedure, not the whole network per layer):
 * - bias correction: per output channel, b += mean over batch and positions of e = ReLU(x) − r (the SNN rate);
 * - potential correction: v(0) = T · e per element (mean over the batch), on top of the V_th/2 shift.
 * Residual blocks are calibrated inside: first the block's first neuron, then the second (with the shortcut).
 */
import { SnnkitError } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import { ResidualBlock } from '../convert/blocks.js';
import { convertToSnn, foldNetwork, type ConvertedSnn } from '../convert/converter.js';
import { Conv2d, Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { IF } from '../neurons/neuron.js';
import { SeqToANN } from '../neurons/containers.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkAligned, stagesOf } from './stages.js';
import { searchThresholds, type ThresholdGrid } from './threshold.js';

/** The calibration steps (METHODS §4); 'weight' is not implemented yet. */
export interface CalibrationSteps {
  threshold?: boolean;
  bias?: boolean;
  potential?: boolean;
}
/** The named pipelines: none = max thresholds; light = threshold search + bias; advanced = light + potential. */
export const PIPELINES: Readonly<Record<'none' | 'light' | 'advanced', CalibrationSteps>> = {
  none: {},
  light: { threshold: true, bias: true },
  advanced: { threshold: true, bias: true, potential: true },
};

/** Options of calibrateSnn. */
export interface CalibrateOptions {
  /** The time steps the SNN will run (calibration is for this T). */
  T: number;
  /** Unlabelled training samples (labels are not used). */
  calibration: DataLoader;
  samples?: number;
  steps: CalibrationSteps;
  /** V_th/2 initial potential (default true, as the authors' code). */
  shift?: boolean;
  grid?: ThresholdGrid;
}

const affine = (m: Module): Conv2d | Linear => {
  const inner = m instanceof SeqToANN ? m.module : m;
  if (inner instanceof Conv2d || inner instanceof Linear) return inner;
  throw new SnnkitError(`calibrate: expected a convolution or linear layer before the neuron, found ${m.constructor.name}`, 'INVALID_ARGUMENT');
};

/** e = ANN activation − SNN rate, for one neuron driven by `current` [T, N, ...] from a fresh membrane. */
function errorOf(neuron: IF, current: Tensor, annAct: Tensor): Tensor {
  neuron.reset();
  const rate = neuron.forward(current).mean(0);
  neuron.reset();
  return annAct.sub(rate);
}

/** Bias and potential correction of one neuron fed by `layer`; `current()` recomputes its input current. */
function correct(neuron: IF, layer: Conv2d | Linear, current: () => Tensor, annAct: Tensor, o: CalibrateOptions): void {
  if (o.steps.bias) tidy(() => noGrad(() => {
    const e = errorOf(neuron, current(), annAct);
    const dims = e.ndim === 4 ? [0, 2, 3] : [0];
    layer.bias!.add_(e.mean(dims));
  }));
  if (o.steps.potential) tidy(() => noGrad(() => {
    const e = errorOf(neuron, current(), annAct);
    const base = (o.shift ?? true) ? (neuron.vTh as number) / 2 : 0;
    neuron.setInitialPotential(e.mean(0).mul(o.T).add(base));
  }));
}

/**
 * Converts and calibrates an ANN for T time steps.
 * @returns the calibrated SNN (as convertToSnn returns it) and the seconds each phase took
 * @throws SnnkitError for models the converter cannot handle or stages it cannot calibrate
 */
export async function calibrateSnn(ann: Module, o: CalibrateOptions): Promise<ConvertedSnn & { seconds: Record<string, number> }> {
  const t0 = performance.now();
  const shift = o.shift ?? true;
  const thresholds = o.steps.threshold ? (await searchThresholds(ann, o.calibration, { T: o.T, shift, samples: o.samples, grid: o.grid })).thresholds : undefined;
  const t1 = performance.now();
  const converted = await convertToSnn(ann, thresholds ? { thresholds, shift: shift ? 'potential' : 'none' } : { calibration: o.calibration, samples: o.samples, shift: shift ? 'potential' : 'none' });
  const t2 = performance.now();
  if (o.steps.bias || o.steps.potential) {
    const folded = foldNetwork(ann);
    const annStages = stagesOf(folded), snnStages = stagesOf(converted.snn);
    checkAligned(annStages, snnStages);
    let batch: { x: Tensor; dispose(): void } | undefined;
    for await (const b of o.calibration.epoch(0)) { batch = b; break; } // corrections use one batch, as the authors
    if (!batch) throw new SnnkitError('calibrate: the calibration loader gave no batch', 'INVALID_ARGUMENT');
    noGrad(() => {
      let prevSnnIn: Tensor | undefined; // the input of the stage before: the affine layer feeding a neuron
      let annIn = batch!.x.keep(), snnIn = tidy(() => batch!.x.unsqueeze(0).expand(o.T, ...batch!.x.shape).contiguous().keep());
      for (let i = 0; i < snnStages.length; i++) {
        const s = snnStages[i]!, a = annStages[i]!;
        const [nextAnn, nextSnn] = tidy(() => {
          if (s instanceof IF) {
            // The affine stage before it already produced snnIn; recompute it from the cached stage input.
            const layer = affine(snnStages[i - 1]!);
            const annAct = a.forward(annIn);
            correct(s, layer, () => snnStages[i - 1]!.forward(prevSnnIn!), annAct, o);
            s.reset();
            const out = s.forward(snnStages[i - 1]!.forward(prevSnnIn!));
            s.reset();
            return [annAct.keep(), out.keep()];
          }
          if (s instanceof ResidualBlock && a instanceof ResidualBlock) {
            const c1 = affine(s.conv1), c2 = affine(s.conv2);
            const a1 = a.act1.forward(a.conv1.forward(annIn));
            correct(s.act1 as IF, c1, () => s.conv1.forward(snnIn), a1, o);
            (s.act1 as IF).reset();
            const spikes1 = s.act1.forward(s.conv1.forward(snnIn));
            (s.act1 as IF).reset();
            const annOut = a.forward(annIn);
            const cur2 = () => s.conv2.forward(spikes1).add(s.shortcut.forward(snnIn));
            correct(s.act2 as IF, c2, cur2, annOut, o);
            (s.act2 as IF).reset();
            const out = s.act2.forward(cur2());
            (s.act2 as IF).reset();
            return [annOut.keep(), out.keep()];
          }
          return [a.forward(annIn).keep(), s.forward(snnIn).keep()];
        });
        prevSnnIn?.dispose();
        prevSnnIn = snnIn;
        annIn.dispose();
        annIn = nextAnn!;
        snnIn = nextSnn!;
      }
      annIn.dispose();
      snnIn.dispose();
      prevSnnIn?.dispose();
      prevSnnIn = undefined;
    });
    batch.dispose();
    folded.dispose();
    converted.snn.resetMemories();
  }
  const t3 = performance.now();
  return { ...converted, seconds: { threshold: (t1 - t0) / 1000, convert: (t2 - t1) / 1000, corrections: (t3 - t2) / 1000 } };
}

