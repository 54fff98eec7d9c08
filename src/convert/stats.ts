/** Activation statistics for threshold balancing: a ReLU that records what passes through it. */
import { invalidArg } from '../errors.js';
import { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Which statistic of a layer's activations becomes its threshold (docs/methods.md §3). */
export type ThresholdStat = 'max' | 'ema' | { percentile: number };

/**
 * Parses 'max', 'ema' or a percentile such as '99.9'.
 * @throws SnnkitError for anything else
 * @example
 * convert.parseThresholdStat('99.9'); // { percentile: 99.9 }
 * convert.parseThresholdStat('ema'); // 'ema'
 */
export function parseThresholdStat(v: string | ThresholdStat): ThresholdStat {
  if (typeof v !== 'string') return v;
  if (v === 'max' || v === 'ema') return v;
  const p = Number(v);
  if (Number.isFinite(p) && p > 0 && p <= 100) return { percentile: p };
  throw invalidArg('convert', 'threshold', "'max', 'ema', or a percentile in (0, 100] such as 99.9", v);
}

/**
 * ReLU (or clipped ReLU) that records its output on every batch: the maximum, an EMA of batch maxima (*ref*,
 * momentum 0.9) and the mean of per-batch percentiles.
 * @example
 * const rec = new convert.ActivationRecorder(undefined, 99.9);
 * for (const x of batches) tidy(() => rec.forward(x));
 * const vTh = rec.threshold({ percentile: 99.9 }); // the mean of the batches' 99.9th percentiles
 */
export class ActivationRecorder extends Module {
  max = 0;
  ema: number | undefined;
  private percentileSum = 0;
  batches = 0;
  /**
   * Creates a recorder that has seen no batch yet.
   * @param clip the clipping level of a clipped ReLU (then the threshold is the clip value), or undefined
   * @param percentile the percentile to track, in (0, 100]
   */
  constructor(readonly clip: number | undefined, readonly percentile: number | undefined) {
    super();
  }
  forward(x: Tensor): Tensor {
    const y = this.clip === undefined ? x.relu() : x.clamp(0, this.clip);
    noGrad(() => tidy(() => {
      const flat = y.flatten();
      const m = flat.amax().item();
      this.max = Math.max(this.max, m);
      this.ema = this.ema === undefined ? m : 0.9 * this.ema + 0.1 * m;
      if (this.percentile !== undefined) {
        // kthvalue, not quantile: quantile refuses inputs over 16 M elements in libtorch 1.13.
        const k = Math.max(1, Math.ceil((this.percentile / 100) * flat.size));
        this.percentileSum += flat.kthvalue(k, 0).values.item();
      }
    }));
    this.batches++;
    return y;
  }
  /** @returns the threshold the statistic gives (the clip value for a clipped ReLU) */
  threshold(stat: ThresholdStat): number {
    if (this.clip !== undefined) return this.clip;
    const v = stat === 'max' ? this.max : stat === 'ema' ? this.ema ?? 0 : this.batches ? this.percentileSum / this.batches : 0;
    return v > 0 ? v : 1e-6; // a layer that never fired in the statistics pass: any tiny positive threshold
  }
}
