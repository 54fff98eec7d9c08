/**
 * Dspike's temperature search (Li, Guo, Zhang, Deng, Hai & Gu, "Differentiable Spike", NeurIPS 2021, Algorithm 1):
 * on one batch, the finite-difference gradient (FDG) of the loss with respect to the first layer's weights is the
 * reference; the surrogate (BPTT) gradients of the same weights under the temperatures b − Δb, b and b + Δb are compared
 * with it by cosine similarity, and the b whose gradient points closest to the FDG is kept for the next epoch.
 *
 * Choices the paper leaves open, made here: the search runs in eval mode (batch norm with its running statistics, so
 * that the loss is a deterministic function of the weights and perturbations can be batched) and by default in
 * float64; a subset of the weights can be sampled to bound the cost (2 forward passes per weight); a candidate b ≤ 0 is
 * skipped; a tie keeps the current b.
 */
import { invalidArg, SnnkitError } from '../errors.js';
import { snnLoss, type SnnLoss } from '../functional/snn-loss.js';
import type { Parameter } from '../nn/parameter.js';
import type { SpikingClassifier, StepClassifier } from '../neurons/classifier.js';
import { dspike } from '../surrogate/dspike.js';
import type { Generator } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { batchedFdg, cosine, finiteDifferenceGradient, sampleIndices } from './fdg.js';

/** Options of searchDspikeTemperature. */
export interface DspikeSearchOptions {
  /** The current temperature b > 0. */
  b: number;
  /** Δb > 0 (default 0.5). */
  step?: number;
  /** The finite-difference step ε (default 1e-2: where neighbouring ε agreed best in bench/fdg-eps.mjs). */
  eps?: number;
  /** How many of the first layer's weights to use (default: all). */
  weights?: number;
  /**
   * Perturbations per forward pass (default 1: the weight is changed in place and the whole model runs; for
   * snn-mnist-cnn, T = 4, 64 images on 2 cores: 0.33 s per perturbation alone, 0.29 s in chunks of 4, 0.95 s in 8,
   * 3.5 s in 32: the larger batches leave the caches).
   */
  chunk?: number;
  /**
   * The precision of the search (default 'float32': float64 forward passes were 2.6× to 7.7× slower on the CPU, and the
   * float32 finite differences equal the float64 ones to 1e-4 relative: docs/results/training.md, bench/fdg-eps.mjs).
   */
  dtype?: Extract<DType, 'float32' | 'float64'>;
  /** The weights (default: the model's first parameter with ≥ 2 dims, the first layer's weight). */
  param?: Parameter;
  /** Seeds the sampling of weights. */
  generator?: Generator;
}

/** What one search found. */
export interface DspikeSearchResult {
  /** The temperature kept. */
  b: number;
  /** b − Δb, b, b + Δb (NaN for a skipped candidate). */
  candidates: [number, number, number];
  /** Cosine of each candidate's surrogate gradient with the FDG (NaN when skipped). */
  cosines: [number, number, number];
  /** |FDG| over the weights used (0 means ε flipped no spike: raise ε). */
  fdgNorm: number;
  weights: number;
  seconds: number;
}

/**
 * The model's first weight: its first parameter with at least two dims.
 * @example const indices = sampleIndices(firstLayerWeight(snn), 256);
 */
export function firstLayerWeight(snn: SpikingClassifier): Parameter {
  const p = snn.parameters().find((q) => q.ndim >= 2);
  if (!p) throw new SnnkitError('searchDspikeTemperature: the model has no weight with 2 or more dims', 'INVALID_ARGUMENT');
  return p;
}

/**
 * @param fn the caller, for the message
 * @throws SnnkitError naming the first neuron whose surrogate is not Dspike (the search has no temperature to set there)
 */
export function checkDspikeNeurons(snn: StepClassifier, fn: string): void {
  const bad = snn.neurons().find(([, n]) => n.options.surrogate.name !== 'dspike');
  if (bad) throw new SnnkitError(`${fn}: neuron '${bad[0]}' uses ${bad[1].options.surrogate}, not dspike`, 'INVALID_ARGUMENT');
}

/**
 * Sets Dspike with temperature b on every neuron.
 * @example setDspikeTemperature(snn, 2.5)  // every neuron now uses dspike({ b: 2.5 })
 */
export function setDspikeTemperature(snn: StepClassifier, b: number): void {
  const s = dspike({ b });
  for (const [, n] of snn.neurons()) n.setSurrogate(s);
}

function surrogateGradient(snn: SpikingClassifier, x: Tensor, y: Tensor, loss: SnnLoss, param: Parameter, b: number, indices: readonly number[]): Float64Array {
  setDspikeTemperature(snn, b);
  snn.zeroGrad();
  try {
    return tidy(() => {
      snnLoss(snn.forwardSteps(x), y, loss).backward();
      const g = param.grad;
      if (!g) throw new SnnkitError('searchDspikeTemperature: no gradient reached the first layer', 'INVALID_ARGUMENT');
      const flat = g.reshape(-1).toArray() as number[];
      return Float64Array.from(indices, (i) => flat[i]!);
    });
  } finally {
    snn.zeroGrad();
  }
}

/**
 * One step of the temperature search on one batch. The model's training flag, dtype and gradients are restored; its
 * neurons are left with Dspike at the chosen b.
 * @param x a batch of inputs, y its labels
 * @param loss the training loss
 * @returns the chosen b, the candidates, their cosines with the FDG, and the cost
 * @throws SnnkitError for b or Δb ≤ 0, ε ≤ 0, neurons whose surrogate is not Dspike, or a model without a first weight
 * @example
 * const r = searchDspikeTemperature(snn, x, y, { kind: 'tet' }, { b: 3, step: 0.5, weights: 256 });
 */
export function searchDspikeTemperature(snn: SpikingClassifier, x: Tensor, y: Tensor, loss: SnnLoss, opts: DspikeSearchOptions): DspikeSearchResult {
  const t0 = performance.now();
  const { b } = opts, step = opts.step ?? 0.5, eps = opts.eps ?? 1e-2, chunk = opts.chunk ?? 1, dtype = opts.dtype ?? 'float32';
  if (!(Number.isFinite(b) && b > 0)) throw invalidArg('searchDspikeTemperature', 'b', 'a positive temperature', b);
  if (!(Number.isFinite(step) && step > 0)) throw invalidArg('searchDspikeTemperature', 'step', 'a positive Δb', step);
  checkDspikeNeurons(snn, 'searchDspikeTemperature');
  const param = opts.param ?? firstLayerWeight(snn);
  const indices = sampleIndices(param, opts.weights ?? param.size, opts.generator);
  const wasTraining = snn.training, was = param.dtype;
  snn.eval();
  if (dtype !== was) snn.to(dtype);
  const xs = x.dtype === dtype ? x : x.to(dtype);
  try {
    const fdg = chunk > 1 ? batchedFdg(snn, xs, y, loss, param, { eps, indices, chunk })
      : finiteDifferenceGradient(() => snnLoss(snn.forwardSteps(xs), y, loss).item(), param, { eps, indices });
    const candidates: [number, number, number] = [b - step > 0 ? b - step : NaN, b, b + step];
    const cosines = candidates.map((c) => (Number.isNaN(c) ? NaN : cosine(surrogateGradient(snn, xs, y, loss, param, c, indices), fdg))) as [number, number, number];
    let best = 1;
    for (const k of [0, 2]) if (cosines[k]! > cosines[best]!) best = k;
    setDspikeTemperature(snn, candidates[best]!);
    return { b: candidates[best]!, candidates, cosines, fdgNorm: Math.hypot(...fdg), weights: indices.length, seconds: (performance.now() - t0) / 1000 };
  } finally {
    if (xs !== x) xs.dispose();
    if (dtype !== was) snn.to(was);
    snn.train(wasTraining);
  }
}
