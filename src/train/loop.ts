/**
 * The epoch loop every trainer shares: optimizer and schedule, one pass over the training data per epoch with a
 * trainer-supplied step, an end-of-epoch hook, evaluation on a validation split (from the training data) and on the
 * test set, best/last checkpoints written atomically, log.csv/log.json, resume after a kill (only the unfinished
 * epoch is lost), and progress with throughput.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArg, SnnkitError } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import { removeStaleTempFiles, writeFileAtomic } from '../formats/atomic.js';
import type { Module } from '../nn/module.js';
import { clipGradNorm } from '../optim/clip.js';
import { checkFiniteStep } from '../optim/finite.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, LinearWarmup, StepLR, type LRSchedule } from '../optim/schedule.js';
import { SGD } from '../optim/sgd.js';
import { manualSeed } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, saveModel, saveTrainingCheckpoint, type CheckpointMeta } from '../models/checkpoint.js';
import { evaluate } from './evaluate.js';
import { silentProgress, type ProgressSink } from './progress.js';

/** Hyper-parameters of the loop (saved in checkpoints; a resumed run must use the same). */
export interface LoopHyperParams {
  epochs: number;
  optimizer?: 'sgd' | 'adam' | 'adamw';
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: 'cosine' | 'step' | 'none';
  /** For 'step': decay every stepEpochs epochs by gamma. */
  stepEpochs?: number;
  gamma?: number;
  /** Linear warm-up over this many epochs (fractional allowed). */
  warmupEpochs?: number;
  /** Clip the gradient norm at this value (none by default). */
  clipGradNorm?: number;
  /** Seed of dropout and of anything random in the model during training (Poisson spikes). */
  seed?: number;
}

/** One epoch's numbers; trainers add their own (the Dspike search adds b and cosines). */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  /** On the validation split, when there is one. */
  valLoss?: number;
  valAccuracy?: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
  [extra: string]: number | undefined;
}

/** What every trainer takes besides its hyper-parameters. */
export interface TrainerIO<M extends Module = Module> {
  model: M;
  train: DataLoader;
  /** The validation split (taken from the training data); `best` is chosen on it. Without it, on the test set. */
  val?: DataLoader;
  test: DataLoader;
  /** Folder of best.safetensors, last.safetensors, log.csv and log.json. */
  outDir: string;
  /** Continue from outDir/last.safetensors when it exists (default true). */
  resume?: boolean;
  /** Saved into checkpoint metadata: architecture, dataset, normalisation and anything else. */
  meta: CheckpointMeta;
  progress?: ProgressSink;
  /** Called after each epoch's checkpoint with the history so far (the CLI draws the training curves here). */
  onEpoch?: (history: readonly EpochRecord[]) => void | Promise<void>;
}

/** @returns just the loop's hyper-parameters of `o` (what checkpoints record) */
export function loopHyper(o: LoopHyperParams): LoopHyperParams {
  return { epochs: o.epochs, optimizer: o.optimizer, lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay,
    schedule: o.schedule, stepEpochs: o.stepEpochs, gamma: o.gamma, warmupEpochs: o.warmupEpochs, clipGradNorm: o.clipGradNorm, seed: o.seed };
}

/** What a trainer plugs into the loop. */
export interface LoopSpec extends TrainerIO {
  /** The trainer's name, for messages. */
  fn: string;
  hyper: LoopHyperParams;
  /** The training forward of one batch: the loss to minimise and the logits [N, C] for the running accuracy. */
  forward: (x: Tensor, y: Tensor) => { loss: Tensor; logits: Tensor };
  /** Runs after each epoch's training pass, before evaluation; its numbers go into the epoch's record. */
  afterEpoch?: (epoch: number) => Promise<Record<string, number>> | Record<string, number>;
  /** State of the trainer that a resumed run must restore (saved in last.safetensors' metadata). */
  state?: { save: () => unknown; load: (saved: unknown) => void };
}

/** What the loop returns. */
export interface LoopResult {
  history: EpochRecord[];
  /** The best epoch on the validation split (the test set when there is none). */
  best: EpochRecord | undefined;
  bestPath: string;
  lastPath: string;
  /** The epoch training started from (0, or the checkpoint's when resumed). */
  resumedFrom: number;
}

/** @returns the optimizer the hyper-parameters name */
export function makeOptimizer(fn: string, model: Module, h: LoopHyperParams): Optimizer {
  const lr = h.lr ?? (h.optimizer === 'sgd' || h.optimizer === undefined ? 0.1 : 1e-3);
  const wd = h.weightDecay ?? (h.optimizer === 'adamw' ? 1e-2 : 5e-4);
  switch (h.optimizer ?? 'sgd') {
    case 'sgd': return new SGD(model.parameters(), { lr, momentum: h.momentum ?? 0.9, nesterov: h.nesterov ?? false, weightDecay: wd });
    case 'adam': return new Adam(model.parameters(), { lr, weightDecay: wd });
    case 'adamw': return new AdamW(model.parameters(), { lr, weightDecay: wd });
    default: throw invalidArg(fn, 'optimizer', "one of 'sgd', 'adam', 'adamw'", h.optimizer);
  }
}

function makeSchedule(fn: string, opt: Optimizer, h: LoopHyperParams, stepsPerEpoch: number): LRSchedule | undefined {
  const total = h.epochs * stepsPerEpoch;
  const warm = Math.round((h.warmupEpochs ?? 0) * stepsPerEpoch);
  let main: LRSchedule | undefined;
  const kind = h.schedule ?? 'cosine';
  if (kind === 'cosine') main = new CosineAnnealingLR(opt, Math.max(1, total - warm));
  else if (kind === 'step') main = new StepLR(opt, Math.max(1, (h.stepEpochs ?? 30) * stepsPerEpoch), h.gamma ?? 0.1);
  else if (kind !== 'none') throw invalidArg(fn, 'schedule', "one of 'cosine', 'step', 'none'", kind);
  return warm > 0 ? new LinearWarmup(opt, warm, 1 / Math.max(1, warm), main) : main;
}

const FIRST_COLUMNS = ['epoch', 'lr', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'testLoss', 'testAccuracy', 'seconds', 'imagesPerSecond'];

function writeLogs(outDir: string, history: EpochRecord[]): void {
  const present = new Set(history.flatMap((r) => Object.keys(r)));
  const cols = [...FIRST_COLUMNS.filter((c) => present.has(c)), ...[...present].filter((c) => !FIRST_COLUMNS.includes(c))];
  const csv = [cols.join(','), ...history.map((r) => cols.map((c) => r[c] ?? '').join(','))].join('\n') + '\n';
  writeFileAtomic(join(outDir, 'log.csv'), csv);
  writeFileAtomic(join(outDir, 'log.json'), JSON.stringify(history, null, 1) + '\n');
}

const score = (r: EpochRecord): number => r.valAccuracy ?? r.testAccuracy;

/**
 * The settings a resumed run would change, as 'name: was → now': every hyper-parameter, and every metadata entry of
 * this run (architecture, dataset, normalisation, data and trainer settings) that the checkpoint records; inside a
 * recorded object, the fields it records (so a checkpoint written before a setting was recorded still resumes).
 */
export function changedSettings(was: CheckpointMeta, hyper: LoopHyperParams, meta: CheckpointMeta): string[] {
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const diff = (name: string, a: unknown, b: unknown): string[] => {
    if (isObject(a) && isObject(b)) return Object.keys(a).flatMap((k) => diff(`${name}.${k}`, a[k], b[k]));
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${name}: ${show(a)} → ${show(b)}`];
  };
  const h0 = (was['hyper'] ?? {}) as Record<string, unknown>, h1 = hyper as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(h0), ...Object.keys(h1)])];
  return [...keys.flatMap((k) => (JSON.stringify(h0[k]) === JSON.stringify(h1[k]) ? [] : [`${k}: ${show(h0[k])} → ${show(h1[k])}`])),
    ...Object.keys(meta).filter((k) => k in was).flatMap((k) => diff(k, was[k], meta[k]))];
}

/** Restores model, optimizer, history and trainer state from last.safetensors. @returns the epochs done */
function resumeFrom(s: LoopSpec, lastPath: string, optimizer: Optimizer, history: EpochRecord[]): number {
  const ck = loadCheckpoint(lastPath);
  try {
    if (ck.meta.arch !== undefined && s.meta.arch !== undefined && ck.meta.arch !== s.meta.arch)
      throw new SnnkitError(`${s.fn}: ${lastPath} holds a '${String(ck.meta.arch)}' model, not '${s.meta.arch}': use another --out or delete it`, 'STATE_DICT_MISMATCH');
    const changed = changedSettings(ck.meta, s.hyper, s.meta);
    if (changed.length)
      throw new SnnkitError(`${s.fn}: ${lastPath} is a run with other settings (${changed.join('; ')}): resume it with the same settings, or use another --out`, 'INVALID_ARGUMENT');
    s.model.loadStateDict(ck.weights);
    if (ck.optimizer) optimizer.loadStateDict(ck.optimizer);
    history.push(...((ck.meta['history'] as EpochRecord[] | undefined) ?? []));
    if (s.state && ck.meta['trainer_state'] !== undefined) s.state.load(ck.meta['trainer_state']);
    return ck.meta.epoch ?? 0;
  } finally {
    ck.dispose();
  }
}

/** One optimizer step on a batch, after checking its loss and gradients. @returns the loss and the correct count */
function trainStep(s: LoopSpec, x: Tensor, y: Tensor, where: string, optimizer: Optimizer, schedule: LRSchedule | undefined): [number, number] {
  return tidy(() => {
    const { loss, logits } = s.forward(x, y);
    optimizer.zeroGrad();
    loss.backward();
    const value = checkFiniteStep(s.fn, where, loss, s.model.namedParameters());
    if (s.hyper.clipGradNorm) clipGradNorm(s.model.parameters(), s.hyper.clipGradNorm);
    optimizer.step();
    schedule?.step();
    return [value, logits.argmax(1).eq(y).sum().item()];
  });
}

/** One pass over the training data. @returns mean loss, accuracy and samples seen */
async function trainEpoch(s: LoopSpec, epoch: number, optimizer: Optimizer, schedule: LRSchedule | undefined, progress: ProgressSink, t0: number) {
  let lossSum = 0, correct = 0, seen = 0;
  for await (const b of s.train.epoch(epoch)) {
    const n = b.y.shape[0]!;
    let loss: number, right: number;
    try {
      [loss, right] = trainStep(s, b.x, b.y, `epoch ${epoch + 1}, batch ${b.index + 1}`, optimizer, schedule);
    } finally {
      b.dispose();
    }
    lossSum += loss * n;
    correct += right;
    seen += n;
    progress.update(b.index + 1, { loss: (lossSum / seen).toFixed(4), acc: `${((100 * correct) / seen).toFixed(2)}%`, 'img/s': Math.round(seen / ((performance.now() - t0) / 1000)) });
  }
  return { loss: lossSum / Math.max(1, seen), accuracy: correct / Math.max(1, seen), seen };
}

/**
 * Runs the epochs. After every epoch it evaluates on the validation split (if any) and the test set, writes
 * last.safetensors (weights, optimizer state, epoch, history, trainer state) and, when the validation accuracy
 * improved, best.safetensors, all atomically; log.csv and log.json follow each epoch.
 * @returns the history, the best epoch and the checkpoint paths
 * @throws SnnkitError for invalid hyper-parameters, a diverging loss, or a checkpoint to resume of another setup
 */
export async function runEpochs(s: LoopSpec): Promise<LoopResult> {
  const h = s.hyper;
  if (!Number.isInteger(h.epochs) || h.epochs < 1) throw invalidArg(s.fn, 'epochs', 'a positive integer', h.epochs);
  const progress = s.progress ?? silentProgress;
  mkdirSync(s.outDir, { recursive: true });
  for (const f of removeStaleTempFiles(s.outDir)) progress.log(`removed ${f}, left by a write that was killed`);
  const bestPath = join(s.outDir, 'best.safetensors'), lastPath = join(s.outDir, 'last.safetensors');
  const optimizer = makeOptimizer(s.fn, s.model, h);
  const steps = s.train.length;
  const schedule = makeSchedule(s.fn, optimizer, h, steps);
  const history: EpochRecord[] = [];
  let start = 0;
  if ((s.resume ?? true) && existsSync(lastPath)) {
    start = resumeFrom(s, lastPath, optimizer, history);
    progress.log(`resuming from ${lastPath}: ${start} of ${h.epochs} epochs done`);
  }
  schedule?.goTo(start * steps);
  let best = history.reduce<EpochRecord | undefined>((b, r) => (!b || score(r) > score(b) ? r : b), undefined);
  for (let epoch = start; epoch < h.epochs; epoch++) {
    manualSeed((h.seed ?? 0) * 1000 + epoch); // dropout masks and Poisson spikes depend only on (seed, epoch): a resumed run matches
    s.model.train();
    const t0 = performance.now();
    const lr = optimizer.paramGroups[0]!.lr;
    progress.start(`epoch ${epoch + 1}/${h.epochs}`, steps);
    const tr = await trainEpoch(s, epoch, optimizer, schedule, progress, t0);
    progress.stop();
    const trainSeconds = (performance.now() - t0) / 1000;
    const extra = (await s.afterEpoch?.(epoch)) ?? {};
    const val = s.val ? await evaluate(s.model, s.val) : undefined;
    const ev = await evaluate(s.model, s.test);
    const rec: EpochRecord = { epoch: epoch + 1, lr, trainLoss: tr.loss, trainAccuracy: tr.accuracy,
      ...(val ? { valLoss: val.loss, valAccuracy: val.accuracy } : {}), testLoss: ev.loss, testAccuracy: ev.accuracy,
      seconds: (performance.now() - t0) / 1000, imagesPerSecond: tr.seen / trainSeconds, ...extra };
    history.push(rec);
    const meta = { ...s.meta, epoch: epoch + 1, hyper: h };
    if (!best || score(rec) > score(best)) {
      best = rec;
      saveModel(bestPath, s.model, { ...meta, accuracy: rec.testAccuracy, ...(val ? { val_accuracy: val.accuracy } : {}) });
    }
    saveTrainingCheckpoint(lastPath, s.model, optimizer, { ...meta, accuracy: rec.testAccuracy, history, ...(s.state ? { trainer_state: s.state.save() } : {}) });
    writeLogs(s.outDir, history);
    await s.onEpoch?.(history);
    progress.log(`epoch ${rec.epoch}/${h.epochs}  loss ${rec.trainLoss.toFixed(4)}  train ${(100 * rec.trainAccuracy).toFixed(2)}%  ` +
      (val ? `val ${(100 * val.accuracy).toFixed(2)}%  ` : '') +
      `test ${(100 * rec.testAccuracy).toFixed(2)}%  (${rec.seconds.toFixed(1)} s, ${Math.round(rec.imagesPerSecond)} img/s)`);
  }
  return { history, best, bestPath, lastPath, resumedFrom: start };
}
