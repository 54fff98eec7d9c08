/**
 * The ANN trainer: epochs of SGD/Adam/AdamW with a schedule, evaluation after each epoch, best-checkpoint keeping,
 * resume after a kill (only the unfinished epoch is lost), a CSV/JSON log, progress with throughput.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArg, SnnkitError } from '../errors.js';
import { crossEntropy } from '../functional/loss.js';
import type { DataLoader } from '../data/loader.js';
import { removeStaleTempFiles, writeFileAtomic } from '../io/atomic.js';
import type { Module } from '../nn/module.js';
import { clipGradNorm } from '../optim/clip.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, LinearWarmup, StepLR, type LRSchedule } from '../optim/schedule.js';
import { SGD } from '../optim/sgd.js';
import { manualSeed } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { loadCheckpoint, saveModel, saveTrainingCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { silentProgress, type ProgressSink } from './progress.js';

/** Hyper-parameters of trainAnn (saved in checkpoints; a resumed run must use the same). */
export interface AnnHyperParams {
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
  labelSmoothing?: number;
  /** Clip the gradient norm at this value (none by default). */
  clipGradNorm?: number;
  /** Seed of dropout and of anything random in the model during training. */
  seed?: number;
}

/** Options of trainAnn. */
export interface TrainAnnOptions extends AnnHyperParams {
  model: Module;
  train: DataLoader;
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

/** One epoch's numbers. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

/** What trainAnn returns. */
export interface TrainAnnResult {
  history: EpochRecord[];
  best: EpochRecord | undefined;
  bestPath: string;
  lastPath: string;
  /** The epoch training started from (0, or the checkpoint's when resumed). */
  resumedFrom: number;
}

function makeOptimizer(model: Module, h: AnnHyperParams): Optimizer {
  const lr = h.lr ?? (h.optimizer === 'sgd' || h.optimizer === undefined ? 0.1 : 1e-3);
  const wd = h.weightDecay ?? (h.optimizer === 'adamw' ? 1e-2 : 5e-4);
  switch (h.optimizer ?? 'sgd') {
    case 'sgd': return new SGD(model.parameters(), { lr, momentum: h.momentum ?? 0.9, nesterov: h.nesterov ?? false, weightDecay: wd });
    case 'adam': return new Adam(model.parameters(), { lr, weightDecay: wd });
    case 'adamw': return new AdamW(model.parameters(), { lr, weightDecay: wd });
    default: throw invalidArg('trainAnn', 'optimizer', "one of 'sgd', 'adam', 'adamw'", h.optimizer);
  }
}

function makeSchedule(opt: Optimizer, h: AnnHyperParams, stepsPerEpoch: number): LRSchedule | undefined {
  const total = h.epochs * stepsPerEpoch;
  const warm = Math.round((h.warmupEpochs ?? 0) * stepsPerEpoch);
  let main: LRSchedule | undefined;
  const kind = h.schedule ?? 'cosine';
  if (kind === 'cosine') main = new CosineAnnealingLR(opt, Math.max(1, total - warm));
  else if (kind === 'step') main = new StepLR(opt, Math.max(1, (h.stepEpochs ?? 30) * stepsPerEpoch), h.gamma ?? 0.1);
  else if (kind !== 'none') throw invalidArg('trainAnn', 'schedule', "one of 'cosine', 'step', 'none'", kind);
  return warm > 0 ? new LinearWarmup(opt, warm, 1 / Math.max(1, warm), main) : main;
}

const CSV_COLUMNS: (keyof EpochRecord)[] = ['epoch', 'lr', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'seconds', 'imagesPerSecond'];

function writeLogs(outDir: string, history: EpochRecord[]): void {
  const csv = [CSV_COLUMNS.join(','), ...history.map((r) => CSV_COLUMNS.map((c) => r[c]).join(','))].join('\n') + '\n';
  writeFileAtomic(join(outDir, 'log.csv'), csv);
  writeFileAtomic(join(outDir, 'log.json'), JSON.stringify(history, null, 1) + '\n');
}

/**
 * Trains a classifier. After every epoch it evaluates on `test`, writes last.safetensors (weights, optimizer state,
 * epoch, history) and, when the test accuracy improved, best.safetensors (weights and metadata), all atomically.
 * @returns the history, the best epoch and the checkpoint paths
 * @throws SnnkitError for invalid hyper-parameters, or when the checkpoint to resume belongs to another setup
 * @example
 * await trainAnn({ model, train, test, epochs: 10, lr: 0.05, outDir: 'runs/mnist', meta: { arch: 'mnist-cnn', dataset: 'mnist' } });
 */
export async function trainAnn(opts: TrainAnnOptions): Promise<TrainAnnResult> {
  const { model, train, test, outDir } = opts;
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw invalidArg('trainAnn', 'epochs', 'a positive integer', opts.epochs);
  const progress = opts.progress ?? silentProgress;
  const hyper: AnnHyperParams = { epochs: opts.epochs, optimizer: opts.optimizer, lr: opts.lr, momentum: opts.momentum, nesterov: opts.nesterov,
    weightDecay: opts.weightDecay, schedule: opts.schedule, stepEpochs: opts.stepEpochs, gamma: opts.gamma, warmupEpochs: opts.warmupEpochs,
    labelSmoothing: opts.labelSmoothing, clipGradNorm: opts.clipGradNorm, seed: opts.seed };
  mkdirSync(outDir, { recursive: true });
  for (const f of removeStaleTempFiles(outDir)) progress.log(`removed ${f}, left by a write that was killed`);
  const bestPath = join(outDir, 'best.safetensors'), lastPath = join(outDir, 'last.safetensors');
  const optimizer = makeOptimizer(model, hyper);
  const steps = train.length;
  const schedule = makeSchedule(optimizer, hyper, steps);
  let history: EpochRecord[] = [];
  let start = 0;
  if ((opts.resume ?? true) && existsSync(lastPath)) {
    const ck = loadCheckpoint(lastPath);
    try {
      if (ck.meta.arch !== undefined && opts.meta.arch !== undefined && ck.meta.arch !== opts.meta.arch)
        throw new SnnkitError(`trainAnn: ${lastPath} holds a '${String(ck.meta.arch)}' model, not '${opts.meta.arch}': use another --out or delete it`, 'STATE_DICT_MISMATCH');
      model.loadStateDict(ck.weights);
      if (ck.optimizer) optimizer.loadStateDict(ck.optimizer);
      start = ck.meta.epoch ?? 0;
      history = (ck.meta['history'] as EpochRecord[] | undefined) ?? [];
    } finally {
      ck.dispose();
    }
    progress.log(`resuming from ${lastPath}: ${start} of ${opts.epochs} epochs done`);
  }
  schedule?.goTo(start * steps);
  let best = history.reduce<EpochRecord | undefined>((b, r) => (!b || r.testAccuracy > b.testAccuracy ? r : b), undefined);
  for (let epoch = start; epoch < opts.epochs; epoch++) {
    manualSeed((opts.seed ?? 0) * 1000 + epoch); // dropout masks depend only on (seed, epoch): a resumed run matches
    model.train();
    const t0 = performance.now();
    let lossSum = 0, correct = 0, seen = 0;
    const lr = optimizer.paramGroups[0]!.lr;
    progress.start(`epoch ${epoch + 1}/${opts.epochs}`, steps);
    for await (const b of train.epoch(epoch)) {
      const [loss, right] = tidy(() => {
        const logits = model.forward(b.x);
        const l = crossEntropy(logits, b.y, { labelSmoothing: opts.labelSmoothing ?? 0 });
        optimizer.zeroGrad();
        l.backward();
        if (opts.clipGradNorm) clipGradNorm(model.parameters(), opts.clipGradNorm);
        optimizer.step();
        schedule?.step();
        return [l.item(), logits.argmax(1).eq(b.y).sum().item()];
      });
      const n = b.y.shape[0]!;
      b.dispose();
      if (!Number.isFinite(loss!)) throw new SnnkitError(`trainAnn: the loss became ${loss} at epoch ${epoch + 1}, batch ${b.index + 1}: lower the learning rate`, 'INVALID_ARGUMENT');
      lossSum += loss! * n;
      correct += right!;
      seen += n;
      const secs = (performance.now() - t0) / 1000;
      progress.update(b.index + 1, { loss: (lossSum / seen).toFixed(4), acc: `${((100 * correct) / seen).toFixed(2)}%`, 'img/s': Math.round(seen / secs) });
    }
    progress.stop();
    const trainSeconds = (performance.now() - t0) / 1000;
    const ev = await evaluate(model, test);
    const rec: EpochRecord = { epoch: epoch + 1, lr, trainLoss: lossSum / seen, trainAccuracy: correct / seen, testLoss: ev.loss,
      testAccuracy: ev.accuracy, seconds: (performance.now() - t0) / 1000, imagesPerSecond: seen / trainSeconds };
    history.push(rec);
    const meta = { ...opts.meta, epoch: epoch + 1, hyper };
    if (!best || rec.testAccuracy > best.testAccuracy) {
      best = rec;
      saveModel(bestPath, model, { ...meta, accuracy: rec.testAccuracy });
    }
    saveTrainingCheckpoint(lastPath, model, optimizer, { ...meta, accuracy: rec.testAccuracy, history });
    writeLogs(outDir, history);
    await opts.onEpoch?.(history);
    progress.log(`epoch ${rec.epoch}/${opts.epochs}  loss ${rec.trainLoss.toFixed(4)}  train ${(100 * rec.trainAccuracy).toFixed(2)}%  ` +
      `test ${(100 * rec.testAccuracy).toFixed(2)}%  (${rec.seconds.toFixed(1)} s, ${Math.round(rec.imagesPerSecond)} img/s)`);
  }
  return { history, best, bestPath, lastPath, resumedFrom: start };
}
