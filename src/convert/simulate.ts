/**
 * Running a converted SNN over a dataset: accuracy at several T from one run of T_max steps (the network does not
 * depend on T: thresholds and the V_th/2 initial potential are T-independent), in chunks of time steps so that memory
 * stays bounded, and the agreement with the ANN's predictions. Optionally every sample's exit score after every step
 * (the trajectories early exit is chosen and plotted from), or early exit itself: samples leave the batch once their
 * score reaches a threshold, and the rest go on with exactly the spikes they would have had.
 */
import { invalidArg, SnnkitError } from '../errors.js';
import type { DataLoader, Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { arange, rand, stack, tensor, type Generator } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { EXIT_CRITERIA, exitScore, type ExitCriterion, type Trajectories } from './early-exit.js';

/** Options of simulate. */
export interface SimulateOptions {
  /** The time steps to report, e.g. [4, 8, 16, 32]. */
  T: number[];
  /** 'direct' (default): the analog input current at every step; 'poisson': spikes with probability clamp(x, 0, 1). */
  encoding?: 'direct' | 'poisson';
  /**
   * Per-channel normalisation applied inside the simulation: then the loader gives raw pixels in [0, 1] (as Poisson
   * encoding needs), each step's input (spikes, or the pixels) is normalised, and so is the ANN's input. The mean over
   * time of normalised spikes is the normalised pixel, padding included.
   */
  normalize?: { mean: number[]; std: number[] };
  generator?: Generator;
  /** Time steps per forward call (memory ∝ chunk). Default: about 128 samples a call (1 step for a batch of 100), and 1 with early exit. */
  chunk?: number;
  /** The ANN, to report how often the SNN predicts what it predicts. */
  ann?: Module;
  /** Stop after this many samples. */
  limit?: number;
  /** Return every sample's output summed over the largest T (`outputs`), e.g. to compare two simulations exactly. */
  keepOutputs?: boolean;
  /** Record every sample's exit score and prediction after every step (`trajectories`), under this criterion. */
  record?: ExitCriterion;
  /**
   * Early exit: a sample stops at the first step from `minStep` (default 1) on whose exit score reaches `threshold`
   * (both chosen on training samples with chooseExitThreshold), else at the largest T; `earlyExit` in the result reports
   * its accuracy and average T.
   */
  earlyExit?: { criterion: ExitCriterion; threshold: number; minStep?: number };
  /** Called after each batch with the batches done so far and the loader's number of batches. */
  onBatch?: (done: number, total: number) => void;
}

/** What simulate reports, one entry per requested T. */
export interface SimulationResult {
  T: number[];
  /** Accuracy at each T (with early exit: of the samples' predictions at their exit, the same for every T). */
  accuracy: number[];
  /** Fraction of samples on which the SNN's prediction equals the ANN's (when an ANN was given). */
  agreement?: number[];
  annAccuracy?: number;
  count: number;
  /** With keepOutputs: [count × classes], each sample's output summed over the largest T, in loader order. */
  outputs?: Float32Array;
  /** With record. */
  trajectories?: Trajectories;
  /** With earlyExit: the accuracy at the exit, the mean exit step and each sample's exit step. */
  earlyExit?: { criterion: ExitCriterion; threshold: number; minStep?: number; accuracy: number; averageT: number; steps: Int32Array };
}

/** The running totals of a simulation. */
interface Tally {
  Ts: number[];
  correct: number[];
  agree: number[];
  annCorrect: number;
  count: number;
  outputs: Float32Array[];
  scores: Float32Array[];
  preds: Int32Array[];
  labels: Int32Array[];
  exitSteps: Int32Array[];
}

/**
 * Runs a converted SNN over `loader` once, for the largest T, and reports the accuracy at each T asked for.
 * @param snn a converted SNN ([T, N, ...] → [T, N, classes])
 * @param loader the evaluation data
 * @returns accuracy (and ANN agreement) at each T
 * @throws SnnkitError for an empty or non-integer T list, an unknown criterion, or keepOutputs with earlyExit
 * @example
 * const r = await convert.simulate(snn, testLoader, { T: [8, 16, 32], ann });
 * console.log(r.accuracy, r.agreement); // one entry per T
 */
export async function simulate(snn: Module, loader: DataLoader, opts: SimulateOptions): Promise<SimulationResult> {
  const Ts = [...new Set(opts.T)].sort((a, b) => a - b);
  if (Ts.length === 0 || !Ts.every((t) => Number.isInteger(t) && t >= 1)) throw invalidArg('simulate', 'T', 'a non-empty list of positive integers', opts.T);
  for (const c of [opts.record, opts.earlyExit?.criterion]) if (c !== undefined && !EXIT_CRITERIA.includes(c)) throw invalidArg('simulate', 'criterion', EXIT_CRITERIA.join(' | '), c);
  const ee = opts.earlyExit;
  if (ee && (Number.isNaN(ee.threshold) || typeof ee.threshold !== 'number')) throw invalidArg('simulate', 'earlyExit.threshold', 'a number (+Infinity: never exit)', ee.threshold);
  if (ee?.minStep !== undefined && !(Number.isInteger(ee.minStep) && ee.minStep >= 1)) throw invalidArg('simulate', 'earlyExit.minStep', 'a positive integer', ee.minStep);
  if (opts.earlyExit && opts.keepOutputs) throw new SnnkitError('simulate: keepOutputs and earlyExit exclude each other (exited samples have no output at the largest T)', 'INVALID_ARGUMENT');
  const tally: Tally = { Ts, correct: Ts.map(() => 0), agree: Ts.map(() => 0), annCorrect: 0, count: 0, outputs: [], scores: [], preds: [], labels: [], exitSteps: [] };
  snn.eval();
  opts.ann?.eval();
  for await (const b of loader.epoch(0)) {
    const take = Math.min(b.y.shape[0]!, (opts.limit || Infinity) - tally.count); // exactly `limit` samples (0: no limit)
    noGrad(() => runBatch(snn, b, take, opts, tally));
    tally.count += take;
    b.dispose();
    opts.onBatch?.(b.index + 1, loader.length);
    if (opts.limit && tally.count >= opts.limit) break;
  }
  snn.resetMemories();
  return result(tally, opts);
}

function result(t: Tally, opts: SimulateOptions): SimulationResult {
  const n = Math.max(1, t.count), tMax = t.Ts.at(-1)!;
  const r: SimulationResult = { T: t.Ts, accuracy: t.correct.map((c) => c / n), count: t.count,
    ...(opts.ann ? { agreement: t.agree.map((a) => a / n), annAccuracy: t.annCorrect / n } : {}) };
  if (opts.keepOutputs) r.outputs = concat(t.outputs, Float32Array);
  if (opts.record) r.trajectories = { criterion: opts.record, T: tMax, count: t.count, scores: concat(t.scores, Float32Array), preds: concat(t.preds, Int32Array), labels: concat(t.labels, Int32Array) };
  if (opts.earlyExit) {
    const steps = concat(t.exitSteps, Int32Array);
    r.earlyExit = { ...opts.earlyExit, accuracy: r.accuracy[0]!, averageT: steps.reduce((s, v) => s + v, 0) / n, steps };
  }
  return r;
}

/** Where a batch stands between chunks: the rows still running (indices into the batch) and their summed output. */
interface Running {
  rows: number[];
  x: Tensor;
  sum?: Tensor;
}

function runBatch(snn: Module, b: Batch, n: number, opts: SimulateOptions, tally: Tally): void {
  const tMax = tally.Ts.at(-1)!, ee = opts.earlyExit;
  // About 128 samples a forward call (chunk × batch) by default: larger calls were slower, their activations falling out
  // of the cache (ResNet-20, batch 100: 1 step a call 4.0 s, 4 steps 7.5 s, 16 steps 11.5 s for 200 images × 32 steps)
  const chunk = opts.chunk ?? (ee ? 1 : Math.max(1, Math.floor(128 / n)));
  const labels = Int32Array.from(b.y.toTypedArray() as BigInt64Array, Number).subarray(0, n);
  snn.resetMemories();
  const annPred = opts.ann ? tidy(() => Int32Array.from(opts.ann!.forward(affine(b.x.narrow(0, 0, n), opts.normalize)).argmax(1).toTypedArray() as BigInt64Array, Number)) : undefined;
  if (annPred) tally.annCorrect += annPred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0);
  const rec = opts.record ? { scores: new Float32Array(n * tMax), preds: new Int32Array(n * tMax) } : undefined;
  const exitStep = new Int32Array(n), exitPred = new Int32Array(n);
  // direct input is the same current at every step: normalised once
  const x = tidy(() => {
    const x0 = b.x.narrow(0, 0, n), v = opts.encoding === 'poisson' ? x0 : affine(x0, opts.normalize);
    return (v === x0 ? v.clone() : v).keep(); // owned here: rows are dropped from it on early exit
  });
  const run: Running = { rows: [...Array(n).keys()], x };
  try {
    for (let start = 0; start < tMax && run.rows.length; start += chunk) {
      const len = Math.min(chunk, tMax - start);
      const step = tidy(() => {
        const input = opts.encoding === 'poisson'
          ? affine(rand([len, ...run.x.shape], { generator: opts.generator }).lt(run.x.clamp(0, 1).unsqueeze(0)).to('float32'), opts.normalize)
          : run.x.unsqueeze(0).expand(len, ...run.x.shape);
        const out = snn.forward(input);
        // the running sum accumulates step after step in float32 whatever the chunk (sum + o0, then + o1, ...), so that
        // it is the same, bit for bit, for any chunking (ATen's cumsum carries a float64 sum within a call)
        const sums: Tensor[] = [];
        for (let i = 0, s = run.sum; i < len; i++) sums.push(s = s ? s.add(out.select(0, i)) : out.select(0, i));
        const cs = stack(sums);
        const preds = cs.argmax(2); // [len, rows]
        const score = rec || ee ? exitScore(cs.div(arange(start + 1, start + len + 1, 1, { dtype: 'float32' }).reshape(len, 1, 1)), (ee?.criterion ?? opts.record)!) : undefined;
        return { preds: Int32Array.from(preds.toTypedArray() as BigInt64Array, Number), scores: score?.toTypedArray() as Float32Array | undefined, last: cs.select(0, len - 1).contiguous().keep() };
      });
      run.sum?.dispose();
      run.sum = step.last;
      const m = run.rows.length;
      if (rec) run.rows.forEach((row, j) => {
        for (let i = 0; i < len; i++) {
          rec.scores[row * tMax + start + i] = step.scores![i * m + j]!;
          rec.preds[row * tMax + start + i] = step.preds[i * m + j]!;
        }
      });
      if (ee) exitRows(run, step, { start, len, tMax, threshold: ee.threshold, minStep: ee.minStep ?? 1, exitStep, exitPred }, snn);
      else tallyTs(tally, step.preds, { start, len, labels, annPred });
    }
    if (ee) tallyExits(tally, exitPred, labels, annPred);
    if (opts.keepOutputs && run.sum) tally.outputs.push(run.sum.toTypedArray() as Float32Array);
    if (rec) tally.scores.push(rec.scores), tally.preds.push(rec.preds), tally.labels.push(labels);
    if (ee) tally.exitSteps.push(exitStep);
  } finally {
    run.x.dispose();
    run.sum?.dispose();
  }
}

/** Counts the predictions at each requested T that falls in this chunk (every row is running: no early exit). */
function tallyTs(tally: Tally, preds: Int32Array, c: { start: number; len: number; labels: Int32Array; annPred?: Int32Array }): void {
  const n = c.labels.length;
  tally.Ts.forEach((T, k) => {
    if (T <= c.start || T > c.start + c.len) return;
    const at = (T - c.start - 1) * n;
    for (let j = 0; j < n; j++) {
      if (preds[at + j] === c.labels[j]) tally.correct[k]!++;
      if (c.annPred && preds[at + j] === c.annPred[j]) tally.agree[k]!++;
    }
  });
}

function tallyExits(tally: Tally, exitPred: Int32Array, labels: Int32Array, annPred?: Int32Array): void {
  exitPred.forEach((p, j) => {
    tally.Ts.forEach((_, k) => {
      if (p === labels[j]) tally.correct[k]!++;
      if (annPred && p === annPred[j]) tally.agree[k]!++;
    });
  });
}

/**
 * Early exit after a chunk: rows whose score reached the threshold at some step of it (or that reached the last step)
 * record that step and prediction, and leave the batch: their rows are dropped from the network's memories, the input
 * and the running sum.
 */
function exitRows(run: Running, step: { preds: Int32Array; scores?: Float32Array }, c: { start: number; len: number; tMax: number; threshold: number; minStep: number; exitStep: Int32Array; exitPred: Int32Array }, snn: Module): void {
  const m = run.rows.length, keep: number[] = [];
  run.rows.forEach((row, j) => {
    let i = Math.max(0, c.minStep - 1 - c.start);
    while (i < c.len && !(step.scores![i * m + j]! >= c.threshold)) i++;  // (i may start past the chunk: no exit in it)
    if (i >= c.len && c.start + c.len < c.tMax) return void keep.push(j);
    i = Math.min(i, c.len - 1);
    c.exitStep[row] = c.start + i + 1;
    c.exitPred[row] = step.preds[i * m + j]!;
  });
  if (keep.length === m) return;
  const next = keep.map((j) => run.rows[j]!);
  if (next.length) {
    tidy(() => {
      const idx = tensor(keep, [keep.length], { dtype: 'int64' });
      snn.selectMemories(idx);
      const x = run.x.indexSelect(0, idx).keep(), sum = run.sum!.indexSelect(0, idx).keep();
      run.x.dispose();
      run.sum!.dispose();
      run.x = x;
      run.sum = sum;
    });
  }
  run.rows = next;
}

function affine(x: Tensor, norm?: { mean: number[]; std: number[] }): Tensor {
  if (!norm) return x;
  const c = x.shape[x.ndim - 3]!, shape = [c, 1, 1];
  const m = tensor(norm.mean.length === 1 ? new Array<number>(c).fill(norm.mean[0]!) : norm.mean, shape);
  const sd = tensor(norm.std.length === 1 ? new Array<number>(c).fill(norm.std[0]!) : norm.std, shape);
  return x.sub(m).div(sd);
}

function concat<A extends Float32Array | Int32Array>(parts: A[], Kind: { new(n: number): A }): A {
  const out = new Kind(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
