/**
 * Early exit (dynamic time steps) for a simulated SNN classifier: a sample stops as soon as its accumulated output is
 * confident enough, so that easy samples cost a few steps and hard ones the full T. Follows SEENN-I (Li, Geller, Kim &
 * Panda, "SEENN: Towards Temporal Spiking Early-Exit Neural Networks", NeurIPS 2023): after each step t the score of
 * the mean output over steps 1..t (the confidence, max softmax; or the top-1 − top-2 margin; or minus the entropy of
 * the softmax) is compared with one threshold, chosen on training samples as the one that gives the lowest average T
 * whose accuracy stays within a given drop of the full-T accuracy. The decision itself never looks at labels.
 */
import { invalidArg } from '../errors.js';
import { logSoftmax, softmax } from '../functional/nn.js';
import type { Tensor } from '../tensor/tensor.js';

/** What the exit decision scores: 'confidence' (max softmax, SEENN-I), 'margin' (top-1 − top-2 output), 'entropy'. */
export type ExitCriterion = 'confidence' | 'margin' | 'entropy';
/** The valid criteria. */
export const EXIT_CRITERIA: readonly ExitCriterion[] = ['confidence', 'margin', 'entropy'];

/**
 * The exit score of mean outputs (higher = more certain; entropy is negated so that one rule, score ≥ threshold, holds).
 * @param mean [..., classes] the output averaged over the steps so far
 * @returns [...] one score per sample (and step)
 * @example
 * const s = exitScore(cs.div(t), 'confidence'); // max softmax probability per sample
 */
export function exitScore(mean: Tensor, criterion: ExitCriterion): Tensor {
  const last = mean.ndim - 1;
  if (criterion === 'margin') {
    const top = mean.topk(2, last).values;
    return top.select(last, 0).sub(top.select(last, 1));
  }
  const p = softmax(mean, last);
  if (criterion === 'confidence') return p.max(last).values;
  return p.mul(logSoftmax(mean, last)).sum(last); // −entropy = Σ p log p
}

/** Every sample's exit score and prediction after each step of a full simulation ([count × T], sample-major). */
export interface Trajectories {
  criterion: ExitCriterion;
  T: number;
  count: number;
  scores: Float32Array;
  preds: Int32Array;
  labels: Int32Array;
}

/** One point of the accuracy–average-T trade-off. */
export interface ExitPoint {
  threshold: number;
  /** Mean exit step over the samples (T for a sample that never reaches the threshold). */
  averageT: number;
  accuracy: number;
}

/**
 * The step at which a sample exits under a threshold: the first t (1-based) whose score reaches it, else T.
 * @param tr trajectories
 * @param i the sample
 */
export function exitStep(tr: Trajectories, i: number, threshold: number): number {
  const base = i * tr.T;
  for (let t = 0; t < tr.T; t++) if (tr.scores[base + t]! >= threshold) return t + 1;
  return tr.T;
}

/**
 * Accuracy and average T of early exit at a threshold, replayed from recorded trajectories (no new simulation).
 * @example
 * const p = exitPoint(tr, 0.9); // { threshold: 0.9, averageT: 7.4, accuracy: 0.905 }
 */
export function exitPoint(tr: Trajectories, threshold: number): ExitPoint {
  let steps = 0, correct = 0;
  for (let i = 0; i < tr.count; i++) {
    const t = exitStep(tr, i, threshold);
    steps += t;
    if (tr.preds[i * tr.T + t - 1] === tr.labels[i]) correct++;
  }
  return { threshold, averageT: steps / Math.max(1, tr.count), accuracy: correct / Math.max(1, tr.count) };
}

/**
 * Early exit at every threshold that changes it, in one sweep: a sample's exit step only changes where the threshold
 * passes one of its running-best scores (a record), so the thresholds are swept from high to low over the records,
 * moving each sample's exit earlier as they pass.
 * @returns points from "never exit" (threshold +∞, the full T) down to the lowest record (every sample at step 1)
 */
export function exitSweep(tr: Trajectories): ExitPoint[] {
  const events: { score: number; sample: number; t: number }[] = [];
  for (let i = 0; i < tr.count; i++) {
    let best = -Infinity;
    for (let t = 0; t < tr.T; t++) {
      const s = tr.scores[i * tr.T + t]!;
      if (s > best) {
        best = s;
        events.push({ score: s, sample: i, t: t + 1 });
      }
    }
  }
  events.sort((a, b) => b.score - a.score || a.t - b.t);
  const exit = new Int32Array(tr.count).fill(tr.T);
  const right = (i: number): number => (tr.preds[i * tr.T + exit[i]! - 1] === tr.labels[i] ? 1 : 0);
  let steps = tr.count * tr.T, correct = 0;
  for (let i = 0; i < tr.count; i++) correct += right(i);
  const n = Math.max(1, tr.count);
  const points: ExitPoint[] = [{ threshold: Infinity, averageT: steps / n, accuracy: correct / n }];
  for (let k = 0; k < events.length;) {
    const th = events[k]!.score;
    for (; k < events.length && events[k]!.score === th; k++) {
      const { sample: i, t } = events[k]!;
      if (t >= exit[i]!) continue;
      steps -= exit[i]! - t;
      correct -= right(i);
      exit[i] = t;
      correct += right(i);
    }
    points.push({ threshold: th, averageT: steps / n, accuracy: correct / n });
  }
  return points;
}

/**
 * The accuracy–average-T curve for a report: at most `points` points of {@link exitSweep}, evenly spaced in average T,
 * sorted by it (the last one the full T).
 */
export function exitCurve(tr: Trajectories, points = 64): ExitPoint[] {
  const all = exitSweep(tr).sort((a, b) => a.averageT - b.averageT);
  if (all.length <= points) return all;
  const out = [all[0]!];
  const step = (all.at(-1)!.averageT - all[0]!.averageT) / (points - 1);
  for (const p of all.slice(1, -1)) if (p.averageT >= out.at(-1)!.averageT + step) out.push(p);
  out.push(all.at(-1)!);
  return out;
}

/** What chooseExitThreshold found. */
export interface ExitChoice extends ExitPoint {
  criterion: ExitCriterion;
  /** The full-T accuracy on the same samples, and the drop allowed from it. */
  fullAccuracy: number;
  drop: number;
  samples: number;
}

/** Early exit as a report shows it: the choice on training samples, its result on the test samples, the test curve. */
export interface EarlyExitSummary {
  choice: ExitChoice;
  T: number;
  test: ExitPoint;
  curve: ExitPoint[];
}

/**
 * Chooses the exit threshold on training samples: the lowest average T whose accuracy is at least the full-T accuracy
 * minus `drop` (over every threshold that changes the outcome, so the choice is exact for these samples).
 * @param tr trajectories of training samples (never the test set)
 * @param drop the accuracy one may lose, as a fraction (0.002: 0.2 points)
 * @throws SnnkitError for a drop outside [0, 1) or no samples
 * @example
 * const choice = chooseExitThreshold(trainTrajectories, 0.001); // choice.threshold, choice.averageT
 */
export function chooseExitThreshold(tr: Trajectories, drop: number): ExitChoice {
  if (!(drop >= 0 && drop < 1)) throw invalidArg('chooseExitThreshold', 'drop', 'a fraction in [0, 1)', drop);
  if (tr.count === 0) throw invalidArg('chooseExitThreshold', 'trajectories', 'at least one sample', tr.count);
  const sweep = exitSweep(tr), full = sweep[0]!;
  const best = sweep.reduce((b, p) => (p.accuracy >= full.accuracy - drop - 1e-12 && p.averageT < b.averageT ? p : b), full);
  return { ...best, criterion: tr.criterion, fullAccuracy: full.accuracy, drop, samples: tr.count };
}
