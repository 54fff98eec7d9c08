/**
 * The end-to-end fine-tuning steps of calibration (snnkit's additions, not in the paper): what they share. Both train
 * on the calibration samples only, with the ANN's logits as targets (no labels), each drawn image optionally shifted
 * and mirrored.
 */
import type { DataLoader } from '../data/loader.js';
import { checkFiniteStep } from '../optim/finite.js';
import { SnnkitError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Adam } from '../optim/adam.js';
import { CosineAnnealingLR } from '../optim/schedule.js';
import { enableGrad, noGrad } from '../tensor/autograd.js';
import { cat, Generator, randint, randperm } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** What the fine-tuning steps (quantize, distill) do to each sample: nothing, or random shifts and mirror images. */
export type Augment = 'none' | 'crop' | 'crop+flip';
/** The augmentations. */
export const AUGMENTS: readonly Augment[] = ['none', 'crop', 'crop+flip'];

/** Settings the end-to-end fine-tuning steps share. Both see only the calibration samples, never their labels. */
export interface FinetuneOptions {
  epochs?: number;
  lr?: number;
  batchSize?: number;
  /**
   * Applied to image samples ([N, C, H, W]) each time they are drawn, the teacher seeing the same augmented image
   * (default 'crop+flip': shifts of up to 4 pixels, zero-padded, and a mirror image half the time; use 'crop' for
   * data whose mirror image means something else, such as digits).
   */
  augment?: Augment;
  seed?: number;
  /** Called after each optimizer step: steps done (from 1), steps in all, that minibatch's loss (for a progress bar). */
  onStep?: (done: number, total: number, loss: number) => void;
}

/**
 * The quantize step: before the walk, the converted network is fine-tuned as the ANN the SNN approximates, with each
 * ReLU replaced by clipfloor(x, T, V) (the floor passed straight through, V learnt per neuron layer as in LSQ/QCFS),
 * so that its logits match the original ANN's on the calibration samples (mean squared error; labels unused), Adam
 * with a cosine schedule. The layer-wise steps then calibrate the SNN against this quantized ANN (its clip-floor
 * activations, its weights and thresholds) instead of the original; the threshold step, if asked for, only gives
 * quantize its starting thresholds. Cheap: it costs no more than training the ANN for a few epochs on the
 * calibration samples, whatever T.
 */
export interface QuantizeOptions extends FinetuneOptions {
  /** Default 20. */
  epochs?: number;
  /** Weights and biases (default 5e-4). */
  lr?: number;
  /** The thresholds (default 1e-3). */
  thresholdLr?: number;
  /** Default 64. */
  batchSize?: number;
  /**
   * Training samples the step draws from (default: the calibration samples, `samples`): the first n of the
   * calibration loader's epoch 0, so the walk's samples are among them. Quantize costs an ANN's training step per
   * sample, whatever T, so it can use a whole training set where the layer-wise steps use a thousand images.
   */
  samples?: number;
  /**
   * The clip-floor levels L of the quantized ANN (default T). QCFS (Bu et al., ICLR 2022) trains at L and simulates
   * at T ≥ L: the SNN then averages over T/L steps a level, which shrinks the error of uneven input.
   */
  levels?: number;
  /**
   * Called once the quantized ANN is trained, with its forward pass (logits of normalized images, no gradient), e.g.
   * to measure its accuracy on a validation split: the ceiling the SNN calibrated against it approaches.
   */
  evaluate?: (qann: (x: Tensor) => Tensor) => Promise<void>;
}

/**
 * The distill step: every weight and bias of the calibrated SNN trained end to end, through time with the neurons'
 * surrogate gradients, so that its time-averaged output matches the ANN's logits on the calibration samples (mean
 * squared error; labels unused), Adam with a cosine schedule. Thresholds and initial potentials stay as calibrated.
 * Layer-wise steps match each layer on its own; this one also corrects what errors add up to across layers.
 */
export interface DistillOptions extends FinetuneOptions {
  /** Default 8. */
  epochs?: number;
  /**
   * Default 4e-3 / T: the gradient through time grows with T (ResNet-20 after WC: 5e-4 gives +3.5 points at T = 8 but
   * −5.8 at T = 16, where 2.5e-4 gives +0.1; 2e-3 diverges at T = 8).
   */
  lr?: number;
  /** Default 32. */
  batchSize?: number;
}

/** The first n samples of the loader's epoch 0 (the walk's samples), as one tensor. */
export async function collectSamples(loader: DataLoader, n: number): Promise<Tensor> {
  const parts: Tensor[] = [];
  let seen = 0;
  for await (const b of loader.epoch(0)) {
    const take = Math.min(b.x.shape[0]!, n - seen);
    parts.push(b.x.narrow(0, 0, take).clone().keep());
    seen += take;
    b.dispose();
    if (seen >= n) break;
  }
  if (!parts.length) throw new SnnkitError('calibrate: the calibration loader gave no batch', 'INVALID_ARGUMENT');
  const x = tidy(() => cat(parts).keep());
  for (const p of parts) p.dispose();
  return x;
}

/**
 * Random shifts (up to 4 pixels, zero-padded) and mirror images of a batch of images [N, C, H, W], drawn per sample
 * from `gen`; other shapes and 'none' are returned as they are.
 * @example
 * const v = calibrate.augmentImages(x, 'crop+flip', new Generator(0)); // x: [N, C, H, W]; v: the same shape
 */
export function augmentImages(x: Tensor, augment: Augment, gen: Generator): Tensor {
  if (augment === 'none' || x.ndim !== 4) return x;
  const N = x.shape[0]!, H = x.shape[2]!, W = x.shape[3]!, pad = 4;
  const shifts = randint(0, 2 * pad + 1, [N, 2], { generator: gen }).toTypedArray() as ArrayLike<number | bigint>;
  const flips = randint(0, 2, [N], { generator: gen }).toTypedArray() as ArrayLike<number | bigint>;
  const padded = x.pad([pad, pad, pad, pad]);
  const parts: Tensor[] = [];
  for (let i = 0; i < N; i++) {
    let s = padded.narrow(0, i, 1).narrow(2, Number(shifts[2 * i]), H).narrow(3, Number(shifts[2 * i + 1]), W);
    if (augment === 'crop+flip' && Number(flips[i]) === 1) s = s.flip(3);
    parts.push(s);
  }
  return cat(parts);
}

/** A group of tensors trained together: its learning rate, and a floor they are clamped to after each step. */
export interface TrainedGroup {
  params: Tensor[];
  /** The group's name in error messages (default 'group k'). */
  name?: string;
  lr: number;
  min?: number;
}

/**
 * Trains `groups` (Adam each, one cosine schedule to 0) so that student(x) matches teacher(x) (mean squared error) on
 * the samples x, in shuffled minibatches, each augmented as the options say (the teacher sees the same image).
 * @param defaults the step's defaults for the options left out
 * @example
 * calibrate.finetune(teacher, (x) => student.forward(x), samples, { epochs: 2, augment: 'crop' },
 *   { epochs: 8, batchSize: 32 }, [{ params: student.parameters(), lr: 1e-3, name: 'weights' }]);
 */
export function finetune(teacher: Module, student: (x: Tensor) => Tensor, x: Tensor, f: FinetuneOptions, defaults: { epochs: number; batchSize: number }, groups: TrainedGroup[]): void {
  const epochs = f.epochs ?? defaults.epochs, bs = Math.min(f.batchSize ?? defaults.batchSize, x.shape[0]!);
  const N = x.shape[0]!, perEpoch = Math.floor(N / bs);
  const gen = new Generator(f.seed ?? 0);
  const augment = f.augment ?? 'crop+flip';
  const opts = groups.map((g) => new Adam(g.params, { lr: g.lr }));
  const scheds = opts.map((opt) => new CosineAnnealingLR(opt, Math.max(1, epochs * perEpoch)));
  const named = groups.flatMap((g, k) => g.params.map((p, i) => [`${g.name ?? `group ${k}`}[${i}]`, p] as const));
  try {
    for (let e = 0; e < epochs; e++) {
      const perm = randperm(N, { generator: gen }).keep();
      try {
        for (let s0 = 0; s0 + bs <= N; s0 += bs) tidy(() => {
          const v = augmentImages(x.indexSelect(0, perm.narrow(0, s0, bs)), augment, gen);
          const logits = noGrad(() => teacher.forward(v));
          enableGrad(() => {
            const loss = student(v).sub(logits).square().mean();
            for (const opt of opts) opt.zeroGrad();
            loss.backward();
            checkFiniteStep('finetune', `epoch ${e + 1}, step ${s0 / bs + 1}`, loss, named);
            if (f.onStep) f.onStep(e * perEpoch + s0 / bs + 1, epochs * perEpoch, loss.item());
          });
          opts.forEach((opt, i) => { opt.step(); scheds[i]!.step(); });
          noGrad(() => groups.forEach((g) => { if (g.min !== undefined) for (const p of g.params) p.clamp_(g.min); }));
        });
      } finally {
        perm.dispose();
      }
    }
  } finally {
    for (const opt of opts) opt.zeroGrad();
  }
}

