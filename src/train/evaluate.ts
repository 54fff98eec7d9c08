/** Evaluation of a classifier over a DataLoader: accuracy and mean cross-entropy. */
import { crossEntropy } from '../functional/loss.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';

/** What evaluate() reports. */
export interface EvalResult {
  /** Fraction correct, in [0, 1]. */
  accuracy: number;
  /** Mean cross-entropy per sample. */
  loss: number;
  /** Samples seen. */
  count: number;
}

/**
 * Runs `model` in eval mode over one pass of `loader`, without gradients, and restores the model's training flag.
 * @param model a module, or a forward function (logits of a batch)
 * @param onBatch called after each batch with (batches done, batches in all)
 * @returns accuracy, loss and count
 * @example
 * const { accuracy } = await evaluate(model, testLoader);
 */
export async function evaluate(model: Module | ((x: Tensor) => Tensor), loader: DataLoader, onBatch?: (done: number, total: number) => void): Promise<EvalResult> {
  const forward = typeof model === 'function' ? model : (x: Tensor) => model.forward(x);
  const wasTraining = typeof model === 'function' ? undefined : model.training;
  if (typeof model !== 'function') model.eval();
  let correct = 0, lossSum = 0, count = 0;
  try {
    for await (const b of loader.epoch(0)) {
      const [c, l] = tidy(() => noGrad(() => {
        const logits = forward(b.x);
        return [logits.argmax(1).eq(b.y).sum().item(), crossEntropy(logits, b.y, { reduction: 'sum' }).item()];
      }));
      correct += c!;
      lossSum += l!;
      count += b.y.shape[0]!;
      b.dispose();
      onBatch?.(b.index + 1, loader.length);
    }
  } finally {
    if (typeof model !== 'function') model.train(wasTraining);
  }
  return { accuracy: count ? correct / count : 0, loss: count ? lossSum / count : 0, count };
}
