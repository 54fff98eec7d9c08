/**
 * Adaptive thresholds (Li, Deng et al., ICML 2021; METHODS §4): per layer, V_th = argmin_V ‖clipfloor(x, T, V) − ReLU(x)‖²
 * over a grid, on the ANN's pre-activations x of the calibration samples (a strided subsample of each batch).
 */
import type { DataLoader } from '../data/loader.js';
import { clipFloor } from '../functional/clipfloor.js';
import type { Module } from '../nn/module.js';
import { ReLU } from '../nn/layers.js';
import { ClippedReLU } from '../nn/activation.js';
import { foldNetwork } from '../convert/converter.js';
import { noGrad } from '../tensor/autograd.js';
import { cat, linspace, tensor } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** The candidate grid: 'ref' is the authors' max·(1 − 0.01 i), i = 0..94; 'linear' N points in (0, max]. */
export type ThresholdGrid = 'ref' | 'linear';

/** Options of searchThresholds. */
export interface ThresholdSearchOptions {
  T: number;
  /** Start membranes at V_th/2 (then clipfloor rounds). */
  shift: boolean;
  grid?: ThresholdGrid;
  /** Points of the linear grid (default 100). */
  points?: number;
  samples?: number;
  /** Elements kept per layer and batch for the search (default 65536). */
  perBatch?: number;
}

/**
 * @param ann the ANN (not modified)
 * @returns one threshold per ReLU layer, in network order, and each layer's maximum
 */
export async function searchThresholds(ann: Module, calib: DataLoader, o: ThresholdSearchOptions): Promise<{ thresholds: number[]; max: number[] }> {
  const folded = foldNetwork(ann);
  const taps: Tensor[][] = [], maxima: number[] = [];
  let k = 0;
  for (const [, m] of folded.namedModules()) {
    if (!(m instanceof ReLU || m instanceof ClippedReLU)) continue;
    const idx = k++;
    taps.push([]);
    maxima.push(0);
    const fwd = m.forward.bind(m);
    m.forward = (z: Tensor) => {
      const flat = z.flatten();
      maxima[idx] = Math.max(maxima[idx]!, tidy(() => flat.amax().item()));
      const step = Math.max(1, Math.ceil(flat.size / (o.perBatch ?? 65536)));
      taps[idx]!.push(flat.slice(0, 0, undefined, step).contiguous().keep());
      return fwd(z);
    };
  }
  let seen = 0;
  for await (const b of calib.epoch(0)) {
    tidy(() => noGrad(() => { folded.forward(b.x); }));
    seen += b.y.shape[0]!;
    b.dispose();
    if (seen >= (o.samples ?? 1024)) break;
  }
  const shift = o.shift ? 0.5 : 0;
  const thresholds = taps.map((parts, l) => tidy(() => {
    const x = cat(parts).to('float64');
    for (const p of parts) p.dispose();
    const max = maxima[l]!;
    if (max <= 0) return 1e-6;
    const grid = (o.grid ?? 'ref') === 'ref'
      ? tensor(Array.from({ length: 95 }, (_, i) => max * (1 - 0.01 * i)), { dtype: 'float64' })
      : linspace(max / (o.points ?? 100), max, o.points ?? 100, { dtype: 'float64' });
    const target = x.relu();
    let best = Infinity, bestV = max;
    for (const v of grid.toTypedArray() as Float64Array) {
      const err = tidy(() => clipFloor(x, o.T, v, shift).sub(target).square().sum().item());
      if (err < best) [best, bestV] = [err, v];
    }
    return bestV;
  }));
  folded.dispose();
  return { thresholds, max: maxima };
}
