/**
 * The ANN trainer: epochs of SGD/Adam/AdamW with a schedule, evaluation after each epoch, best-checkpoint keeping,
 * resume after a kill (only the unfinished epoch is lost), a CSV/JSON log, progress with throughput (the shared
 * epoch loop of loop.ts with a cross-entropy step).
 */
import { crossEntropy } from '../functional/loss.js';
import { loopHyper, runEpochs, type LoopHyperParams, type LoopResult, type TrainerIO } from './loop.js';

export type { EpochRecord } from './loop.js';

/** Hyper-parameters of trainAnn (saved in checkpoints; a resumed run must use the same). */
export interface AnnHyperParams extends LoopHyperParams {
  labelSmoothing?: number;
}

/** Options of trainAnn. */
export interface TrainAnnOptions extends AnnHyperParams, TrainerIO {}

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
  const hyper: AnnHyperParams = { ...loopHyper(opts), labelSmoothing: opts.labelSmoothing };
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
