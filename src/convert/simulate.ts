/**
 * Running a converted SNN over a dataset: accuracy at several T from one run of T_max steps (the network does not
 * depend on T: thresholds and the V_th/2 initial potential are T-independent), in chunks of time steps so that memory
 * stays bounded, and the agreement with the ANN's predictions.
 */
import { invalidArg } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { rand, tensor, type Generator } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

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
  /** Time steps per forward call (memory ∝ chunk). Default 16. */
  chunk?: number;
  /** The ANN, to report how often the SNN predicts what it predicts. */
  ann?: Module;
  /** Stop after this many samples. */
  limit?: number;
  /** Called after each batch with the batches done so far and the loader's number of batches. */
  onBatch?: (done: number, total: number) => void;
}

/** What simulate reports, one entry per requested T. */
export interface SimulationResult {
  T: number[];
  accuracy: number[];
  /** Fraction of samples on which the SNN's prediction equals the ANN's (when an ANN was given). */
  agreement?: number[];
  annAccuracy?: number;
  count: number;
}

/**
 * Runs a converted SNN over `loader` once, for the largest T, and reports the accuracy at each T asked for.
 * @param snn a converted SNN ([T, N, ...] → [T, N, classes])
 * @param loader the evaluation data
 * @returns accuracy (and ANN agreement) at each T
 * @throws SnnkitError for an empty or non-integer T list
 * @example
 * const r = await convert.simulate(snn, testLoader, { T: [8, 16, 32], ann });
 * console.log(r.accuracy, r.agreement); // one entry per T
 */
export async function simulate(snn: Module, loader: DataLoader, opts: SimulateOptions): Promise<SimulationResult> {
  const Ts = [...new Set(opts.T)].sort((a, b) => a - b);
  if (Ts.length === 0 || !Ts.every((t) => Number.isInteger(t) && t >= 1)) throw invalidArg('simulate', 'T', 'a non-empty list of positive integers', opts.T);
  const tMax = Ts[Ts.length - 1]!, chunk = opts.chunk ?? 16;
  const correct = new Array<number>(Ts.length).fill(0), agree = new Array<number>(Ts.length).fill(0);
  let count = 0, annCorrect = 0;
  snn.eval();
  opts.ann?.eval();
  const norm = opts.normalize;
  const affine = (x: Tensor): Tensor => {
    if (!norm) return x;
    const c = x.shape[x.ndim - 3]!, shape = [c, 1, 1];
    const m = tensor(norm.mean.length === 1 ? new Array<number>(c).fill(norm.mean[0]!) : norm.mean, shape);
    const sd = tensor(norm.std.length === 1 ? new Array<number>(c).fill(norm.std[0]!) : norm.std, shape);
    return x.sub(m).div(sd);
  };
  for await (const b of loader.epoch(0)) {
    noGrad(() => {
      snn.resetMemories();
      // Each chunk of time steps runs in its own scope: only the running output sum (and the ANN's predictions) cross
      // chunks, so memory does not grow with T.
      const annPred = opts.ann ? tidy(() => opts.ann!.forward(affine(b.x)).argmax(1).keep()) : undefined;
      if (annPred) annCorrect += tidy(() => annPred.eq(b.y).sum().item());
      let sum: Tensor | undefined;
      for (let start = 0; start < tMax; start += chunk) {
        const len = Math.min(chunk, tMax - start);
        const next = tidy(() => {
          const input = opts.encoding === 'poisson'
            ? affine(rand([len, ...b.x.shape], { generator: opts.generator }).lt(b.x.clamp(0, 1).unsqueeze(0)).to('float32'))
            : affine(b.x).unsqueeze(0).expand(len, ...b.x.shape);
          const out = snn.forward(input);
          const cs = sum ? out.cumsum(0).add(sum.unsqueeze(0)) : out.cumsum(0);
          Ts.forEach((T, k) => {
            if (T <= start || T > start + len) return;
            const pred = cs.select(0, T - start - 1).argmax(1);
            correct[k] = correct[k]! + pred.eq(b.y).sum().item();
            if (annPred) agree[k] = agree[k]! + pred.eq(annPred).sum().item();
          });
          return cs.select(0, len - 1).contiguous().keep();
        });
        sum?.dispose();
        sum = next;
      }
      sum?.dispose();
      annPred?.dispose();
    });
    count += b.y.shape[0]!;
    b.dispose();
    opts.onBatch?.(b.index + 1, loader.length);
    if (opts.limit && count >= opts.limit) break;
  }
  snn.resetMemories();
  return {
    T: Ts, accuracy: correct.map((c) => c / count), count,
    ...(opts.ann ? { agreement: agree.map((a) => a / count), annAccuracy: annCorrect / count } : {}),
  };
}
