/**
 * Early exit (dynamic time steps) for a simulated SNN classifier: a sample stops as soon as its accumulated output is
 * confident enough, so that easy samples cost a few steps and hard ones the full T. Follows SEENN-I (Li, Geller, Kim &
 * Panda, "SEENN: Towards Temporal Spiking Early-Exit Neural Networks", NeurIPS 2023): after each step t the score of
 * the mean output over steps 1..t (the confidence, max softmax; or the top-1 − top-2 margin; or minus the entropy of
 * the softmax) is compared with one threshold, from a minimum step on: a converted network's first outputs are far from
 * its rate code (at step 1 the mean output of the calibrated ResNet-20 is confidently wrong for many samples), so a
 * threshold alone exits them there. Threshold and minimum step are chosen together on training samples, as the pair
 * with the lowest average T whose accuracy stays within a given drop of the full-T accuracy. The decision itself never
 * looks at labels.
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
  /** No sample exits before this step (1-based). */
  minStep: number;
  /** Mean exit step over the samples (T for a sample that never reaches the threshold). */
  averageT: number;
  accuracy: number;
}

/**
 * The step at which a sample exits: the first t ≥ minStep (1-based) whose score reaches the threshold, else T.
 * @param tr trajectories
 * @param i the sample
 * @example
 * exitStep(tr, 0, 2.5, 6); // the step sample 0 stops at with margin ≥ 2.5 from step 6 on (tr.T if never)
 */
export function exitStep(tr: Trajectories, i: number, threshold: number, minStep = 1): number {
  const base = i * tr.T;
  for (let t = Math.max(0, minStep - 1); t < tr.T; t++) if (tr.scores[base + t]! >= threshold) return t + 1;
  return tr.T;
}

/**
 * Accuracy and average T of early exit at a threshold, replayed from recorded trajectories (no new simulation).
 * @example
 * const p = exitPoint(tr, 0.9); // { threshold: 0.9, minStep: 1, averageT: 7.4, accuracy: 0.905 }
 */
export function exitPoint(tr: Trajectories, threshold: number, minStep = 1): ExitPoint {
  let steps = 0, correct = 0;
  for (let i = 0; i < tr.count; i++) {
    const t = exitStep(tr, i, threshold, minStep);
    steps += t;
    if (tr.preds[i * tr.T + t - 1] === tr.labels[i]) correct++;
  }
  return { threshold, minStep, averageT: steps / Math.max(1, tr.count), accuracy: correct / Math.max(1, tr.count) };
}

/**
 * Early exit at every threshold that changes it, in one sweep: a sample's exit step only changes where the threshold
 * passes one of its running-best scores (a record), so the thresholds are swept from high to low over the records,
 * moving each sample's exit earlier as they pass. Steps before minStep are not looked at.
 * @returns points from "never exit" (threshold +∞, the full T) down to the lowest record (every sample at minStep)
 * @example
 * const lossless = exitSweep(tr).filter((p) => p.accuracy >= exitPoint(tr, Infinity).accuracy); // thresholds losing nothing
 */
export function exitSweep(tr: Trajectories, minStep = 1): ExitPoint[] {
  const events: { score: number; sample: number; t: number }[] = [];
  for (let i = 0; i < tr.count; i++) {
    let best = -Infinity;
    for (let t = Math.max(0, minStep - 1); t < tr.T; t++) {
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
  const points: ExitPoint[] = [{ threshold: Infinity, minStep, averageT: steps / n, accuracy: correct / n }];
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
    points.push({ threshold: th, minStep, averageT: steps / n, accuracy: correct / n });
  }
  return points;
}

/**
 * The accuracy–average-T curve for a report: at most `points` points of {@link exitSweep}, evenly spaced in average T,
 * sorted by it (the last one the full T).
 * @example
 * for (const p of exitCurve(testTrajectories, choice.minStep)) console.log(p.averageT, p.accuracy);
 */
export function exitCurve(tr: Trajectories, minStep = 1, points = 64): ExitPoint[] {
  const all = exitSweep(tr, minStep).sort((a, b) => a.averageT - b.averageT);
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
 * The minimum steps chooseExitThreshold tries by default: 1, 2, 3, 4, then about 1.5× each time, up to T.
 * @example
 * defaultMinSteps(32); // [1, 2, 3, 4, 6, 9, 13, 19, 28]
 */
export function defaultMinSteps(T: number): number[] {
  const out: number[] = [];
  for (let m = 1; m <= T; m = m < 4 ? m + 1 : m + (m >> 1)) out.push(m);
  return out;
}

/**
 * Chooses threshold and minimum step on training samples: the lowest average T whose accuracy is at least the full-T
 * accuracy minus `drop` (for each minimum step, over every threshold that changes the outcome, so the choice is exact
 * for these samples).
 * @param tr trajectories of training samples (never the test set)
 * @param drop the accuracy one may lose, as a fraction (0.002: 0.2 points)
 * @param minSteps the minimum steps to try (default defaultMinSteps(T))
 * @throws SnnkitError for a drop outside [0, 1), no samples, or a minimum step outside 1..T
 * @example
 * const choice = chooseExitThreshold(trainTrajectories, 0.001); // choice.threshold, choice.minStep, choice.averageT
 */
export function chooseExitThreshold(tr: Trajectories, drop: number, minSteps = defaultMinSteps(tr.T)): ExitChoice {
  if (!(drop >= 0 && drop < 1)) throw invalidArg('chooseExitThreshold', 'drop', 'a fraction in [0, 1)', drop);
  if (tr.count === 0) throw invalidArg('chooseExitThreshold', 'trajectories', 'at least one sample', tr.count);
  if (!minSteps.length || !minSteps.every((m) => Number.isInteger(m) && m >= 1 && m <= tr.T)) throw invalidArg('chooseExitThreshold', 'minSteps', `integers in 1..${tr.T}`, minSteps);
  const full = exitPoint(tr, Infinity);
  let best: ExitPoint = full;
  for (const m of minSteps)
    for (const p of exitSweep(tr, m)) if (p.accuracy >= full.accuracy - drop - 1e-12 && p.averageT < best.averageT) best = p;
  return { ...best, criterion: tr.criterion, fullAccuracy: full.accuracy, drop, samples: tr.count };
}
