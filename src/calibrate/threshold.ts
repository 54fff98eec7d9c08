/**
 * Adaptive thresholds (Li, Deng et al., ICML 2021; docs/methods.md §5): V_th = argmin_V ‖clipfloor(x, T, V) − a‖² over a grid
 * of candidates, per layer or per channel, where a is the ANN's activation and x the current that drives the neuron
 * (the ANN's pre-activation in the authors' recipe, or the calibrated SNN's mean input current).
 */
import { invalidArg } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { ReLU } from '../nn/layers.js';
import { ClippedReLU } from '../nn/activation.js';
import { foldNetwork } from '../convert/converter.js';
import { neuronMultiStep } from '../functional/neuron.js';
import { noGrad } from '../tensor/autograd.js';
import { arange, cat, Generator, randint, tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** The candidate grid: 'ref' is the authors' max·(1 − 0.01 i), i = 0..94; 'linear' N points max·i/N, i = 1..N. */
export type ThresholdGrid = 'ref' | 'linear';
/** The valid grids. */
export const THRESHOLD_GRIDS: readonly ThresholdGrid[] = ['ref', 'linear'];

/** How to search. */
export interface GridOptions {
  T: number;
  /** Membranes start at V_th/2 (then clipfloor rounds). */
  shift: boolean;
  grid?: ThresholdGrid;
  /** Points of the linear grid (default 100). */
  points?: number;
}

/**
 * The grid as fractions of the maximum.
 * @example
 * calibrate.gridFractions('linear', 4); // [0.25, 0.5, 0.75, 1]
 * calibrate.gridFractions(); // 'ref': 1, 0.99, …, 0.06 (95 values)
 */
export function gridFractions(grid: ThresholdGrid = 'ref', points = 100): number[] {
  if (!THRESHOLD_GRIDS.includes(grid)) throw invalidArg('threshold search', 'grid', `one of ${THRESHOLD_GRIDS.join(', ')}`, grid);
  if (!(Number.isInteger(points) && points >= 1)) throw invalidArg('threshold search', 'points', 'a positive integer', points);
  return grid === 'ref' ? Array.from({ length: 95 }, (_, i) => 1 - 0.01 * i) : Array.from({ length: points }, (_, i) => (i + 1) / points);
}

/**
 * Grid search, one threshold per row.
 * @param x the driving current, [R, M] (R rows: 1 for a layer, C for per-channel thresholds)
 * @param target the activations to match, [R, M]
 * @param max each row's maximum activation (the grid's top), length R
 * @returns the best threshold of each row (a tiny positive value for a row that never activates)
 * @example
 * const z = randn([1, 10000]); // one row: a layer's pre-activations
 * const [vTh] = calibrate.gridSearch(z, z.relu(), [z.relu().amax().item()], { T: 8, shift: true });
 */
export function gridSearch(x: Tensor, target: Tensor, max: readonly number[], o: GridOptions): number[] {
  const fr = gridFractions(o.grid, o.points);
  const R = max.length, shift = o.shift ? 0.5 : 0;
  const best = new Array<number>(R).fill(Infinity), bestV = max.map((m) => (m > 0 ? m : 1e-6));
  const x64 = x.to('float64'), t64 = target.to('float64');
  const maxT = tensor(max.map((m) => (m > 0 ? m : 1)), [R, 1], { dtype: 'float64' });
  for (const f of fr) {
    const err = tidy(() => {
      const V = maxT.mul(f);
      const q = x64.mul(o.T).div(V).add(shift).floor().clamp(0, o.T).mul(V).div(o.T);
      return q.sub(t64).square().sum(1).toTypedArray() as Float64Array;
    });
    for (let r = 0; r < R; r++) if (max[r]! > 0 && err[r]! < best[r]!) [best[r], bestV[r]] = [err[r]!, max[r]! * f];
  }
  x64.dispose();
  t64.dispose();
  maxT.dispose();
  return bestV;
}

/** Options of searchThresholds. */
export interface ThresholdSearchOptions extends GridOptions {
  samples?: number;
  /** One threshold per channel (dim 1) instead of per layer. */
  perChannel?: boolean;
  /** Elements kept per layer and batch for the search (default 65536). */
  perBatch?: number;
  /**
   * 'all' (default): one search over the pre-activations of all samples, the grid scaled by their maximum; 'ema': one
   * search per batch (the grid scaled by that batch's maximum), averaged with an EMA of momentum 0.9 over the
   * batches, as the authors' code does.
   */
  aggregate?: 'all' | 'ema';
}

/** Rows for the search: [1, M] per layer, or [C, M] per channel (dim 1 of [N, C, ...]). */
export function searchRows(t: Tensor, perChannel: boolean): Tensor {
  return perChannel ? t.transpose(0, 1).flatten(1) : t.flatten().unsqueeze(0);
}

/**
 * A subsample of the rows' columns, at most `budget` elements in all: one column at a random place in each window of
 * `step` columns (stratified), the same places for every call with the same shape, so that two tensors of one shape
 * (a layer's currents and its targets) are sampled alike. A plain stride would alias with the layout: the columns of
 * [N, C, H, W] flattened taken with a stride equal to W keep only column 0 of every map, the border.
 * @example
 * subsampleRows(randn([1, 1 << 21]), 65536).shape; // [1, 65536]
 */
export function subsampleRows(rows: Tensor, budget: number): Tensor {
  const cols = rows.shape[1]!;
  const step = Math.max(1, Math.ceil((rows.shape[0]! * cols) / budget));
  return step === 1 ? rows.contiguous() : tidy(() => rows.indexSelect(1, sampleColumns(cols, step)));
}

/** One index at a random place in each whole window of `step` of `cols` columns (fixed seed: the same for the same arguments). */
export function sampleColumns(cols: number, step: number): Tensor {
  const n = Math.floor(cols / step);
  return tidy(() => arange(0, n * step, step).add(randint(0, step, [n], { generator: new Generator(0) })));
}

/**
 * Grid search by simulation, one threshold for the layer: each candidate V runs the IF neuron (soft reset, T steps)
 * on the input currents the calibrated SNN really gives it, and is scored by the squared error between the rate
 * (spikes · V / T) and the target activation. Unlike the clipfloor model, this sees the timing error (spikes fired
 * early that later negative input cannot take back), which grows with depth.
 * @param currents per batch, the neuron's input currents [T, N, ...]
 * @param targets per batch, the activations to match [N, ...]
 * @param max the grid's top (the layer's maximum activation)
 * @param o T; `start`, the membrane at t = 0 as a fraction of V (0.5 with the shift as the initial potential);
 *   `stepBias`, a bias added each step as a fraction of V/T (0.5 with the shift as a bias); the grid; `budget`, the
 *   elements kept over all batches (default 65536)
 * @example
 * const I = randn([8, 4096]).add(0.5), a = I.mean(0).relu();
 * const V = calibrate.simulatedSearch([I], [a], a.amax().item(), { T: 8, start: 0.5, stepBias: 0 });
 */
export function simulatedSearch(currents: readonly Tensor[], targets: readonly Tensor[], max: number, o: { T: number; start: number; stepBias: number; grid?: ThresholdGrid; points?: number; budget?: number }): number {
  if (!(max > 0)) return 1e-6;
  const perBatch = Math.max(1, Math.floor((o.budget ?? 65536) / currents.length));
  const [I, a] = tidy(() => {
    const parts = currents.map((c, i) => {
      const flat = c.flatten(1), cols = flat.shape[1]!, idx = sampleColumns(cols, Math.max(1, Math.ceil(cols / perBatch)));
      return [flat.indexSelect(1, idx), targets[i]!.flatten().indexSelect(0, idx)] as const;
    });
    return [cat(parts.map((q) => q[0]), 1).keep(), cat(parts.map((q) => q[1])).keep()];
  });
  let best = Infinity, bestV = max;
  try {
    for (const f of gridFractions(o.grid, o.points)) {
      const V = max * f;
      const err = tidy(() => {
        const { spikes } = neuronMultiStep(o.stepBias ? I.add(o.stepBias * V / o.T) : I, o.start * V, { vTh: V });
        return spikes.sum(0).mul(V / o.T).sub(a).square().sum().item();
      });
      if (err < best) [best, bestV] = [err, V];
    }
  } finally {
    I.dispose();
    a.dispose();
  }
  return bestV;
}

/**
 * Thresholds from the ANN alone (the authors' recipe): the grid search on each ReLU layer's pre-activations over the
 * calibration samples (a strided subsample of each batch), per layer or per channel.
 * @param ann the ANN (not modified)
 * @returns for each ReLU layer in network order: its threshold (one per channel with perChannel) and maximum
 * @example
 * const { thresholds, max } = await calibrate.searchThresholds(ann, trainLoader, { T: 8, shift: true, samples: 512 });
 */
export async function searchThresholds(ann: Module, calib: DataLoader, o: ThresholdSearchOptions): Promise<{ thresholds: (number | number[])[]; max: number[] }> {
  const folded = foldNetwork(ann);
  const per = o.perChannel === true;
  const taps: Tensor[][] = [], rowMax: Tensor[] = [], clips: (number | undefined)[] = [];
  const ema: (number[] | undefined)[] = [];
  /** The grid search of layer l on rows x, against its ReLU (or clipped ReLU), the grid scaled by the rows' maxima. */
  const search = (x: Tensor, l: number, maxima: number[]): number[] => gridSearch(x, clips[l] === undefined ? x.relu() : x.clamp(0, clips[l]), maxima, o);
  let k = 0;
  for (const [, m] of folded.namedModules()) {
    if (!(m instanceof ReLU || m instanceof ClippedReLU)) continue;
    const idx = k++;
    taps.push([]);
    clips.push(m instanceof ClippedReLU ? m.level() : undefined);
    const fwd = m.forward.bind(m);
    m.forward = (z: Tensor) => {
      const y = fwd(z);
      tidy(() => {
        const rows = searchRows(z, per);
        const mx = searchRows(y, per).amax(1);
        const prev = rowMax[idx];
        rowMax[idx] = (prev ? prev.maximum(mx) : mx).keep();
        prev?.dispose();
        const sub = subsampleRows(rows, o.perBatch ?? 65536);
        if (o.aggregate === 'ema') {
          const v = search(sub, idx, [...(mx.toTypedArray() as Float32Array)]);
          ema[idx] = ema[idx] ? ema[idx]!.map((e, i) => 0.9 * e + 0.1 * v[i]!) : v;
        } else taps[idx]!.push(sub.keep());
      });
      return y;
    };
  }
  let seen = 0;
  for await (const b of calib.epoch(0)) {
    tidy(() => noGrad(() => { folded.forward(b.x); }));
    seen += b.y.shape[0]!;
    b.dispose();
    if (seen >= (o.samples ?? 1024)) break;
  }
  const max: number[] = [];
  const thresholds = taps.map((parts, l) => tidy(() => {
    if (o.aggregate === 'ema') {
      max.push(Math.max(...(rowMax[l]!.toTypedArray() as Float32Array)));
      rowMax[l]!.dispose();
      return per ? ema[l]! : ema[l]![0]!;
    }
    const x = cat(parts, 1);
    for (const p of parts) p.dispose();
    const m = [...(rowMax[l]!.toTypedArray() as Float32Array)];
    rowMax[l]!.dispose();
    max.push(Math.max(...m));
    const v = search(x, l, m);
    return per ? v : v[0]!;
  }));
  folded.dispose();
  return { thresholds, max };
}
