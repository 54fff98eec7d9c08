/**
 * The ANN trainer: epochs of SGD/Adam/AdamW with a schedule, evaluation after each epoch, best-checkpoint keeping,
 * resume after a kill (only the unfinished epoch is lost), a CSV/JSON log, progress with throughput (the shared
 * epoch loop of loop.ts with a cross-entropy step).
 */
import type { DataLoader } from '../data/loader.js';
import { crossEntropy } from '../functional/loss.js';
import type { Module } from '../nn/module.js';
import type { CheckpointMeta } from './checkpoint.js';
import { runEpochs, type EpochRecord, type LoopHyperParams, type LoopResult } from './loop.js';
import type { ProgressSink } from './progress.js';

export type { EpochRecord } from './loop.js';

/** Hyper-parameters of trainAnn (saved in checkpoints; a resumed run must use the same). */
export interface AnnHyperParams extends LoopHyperParams {
  labelSmoothing?: number;
}

/** Options of trainAnn. */
export interface TrainAnnOptions extends AnnHyperParams {
  model: Module;
  train: DataLoader;
  /** A validation split of the training data: `best` is chosen on it (on `test` when absent). */
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

/** What trainAnn returns. */
export type TrainAnnResult = LoopResult;

/**
 * Trains a classifier. After every epoch it evaluates on `test` (and `val`), writes last.safetensors (weights,
 * optimizer state, epoch, history) and, when the accuracy improved, best.safetensors (weights and metadata), all
 * atomically.
 * @returns the history, the best epoch and the checkpoint paths
 * @throws SnnkitError for invalid hyper-parameters, or when the checkpoint to resume belongs to another setup
 * @example
 * await trainAnn({ model, train, test, epochs: 10, lr: 0.05, outDir: 'runs/mnist', meta: { arch: 'mnist-cnn', dataset: 'mnist' } });
 */
export async function trainAnn(opts: TrainAnnOptions): Promise<TrainAnnResult> {
  const hyper: AnnHyperParams = { epochs: opts.epochs, optimizer: opts.optimizer, lr: opts.lr, momentum: opts.momentum, nesterov: opts.nesterov,
    weightDecay: opts.weightDecay, schedule: opts.schedule, stepEpochs: opts.stepEpochs, gamma: opts.gamma, warmupEpochs: opts.warmupEpochs,
    labelSmoothing: opts.labelSmoothing, clipGradNorm: opts.clipGradNorm, seed: opts.seed };
  const ls = opts.labelSmoothing ?? 0;
  return runEpochs({
    fn: 'trainAnn', model: opts.model, train: opts.train, val: opts.val, test: opts.test, outDir: opts.outDir, resume: opts.resume,
    meta: opts.meta, hyper, progress: opts.progress, onEpoch: opts.onEpoch,
    forward: (x, y) => {
      const logits = opts.model.forward(x);
      return { loss: crossEntropy(logits, y, { labelSmoothing: ls }), logits };
    },
  });
}
