/** BatchNorm2d with running statistics, state-dict compatible with PyTorch (num_batches_tracked included). */
import { invalidArg } from '../errors.js';
import { batchNorm, type BatchNormOptions as BatchNormArgs } from '../functional/nn.js';
import { noGrad } from '../tensor/autograd.js';
import { ones, zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Options of BatchNorm2d (PyTorch's names and defaults). */
export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running statistics. */
  momentum?: number;
  /** Learnable scale and shift. */
  affine?: boolean;
  /** Keep running statistics (used in eval mode). */
  trackRunningStats?: boolean;
}

/** Batch normalisation over [N, C, H, W]: per channel, batch statistics in training, running ones in eval. */
export class BatchNorm2d extends Module {
  readonly weight: Parameter | undefined;
  readonly bias: Parameter | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  readonly numBatchesTracked: Tensor | undefined;
  readonly eps: number;
  readonly momentum: number;
  /**
   * @param numFeatures channels C
   * @example new nn.BatchNorm2d(64) // after a Conv2d with 64 output channels
   */
  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw invalidArg('BatchNorm2d', 'numFeatures', 'a positive integer', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw invalidArg('BatchNorm2d', 'momentum', 'a number in [0, 1]', this.momentum);
    if (opts.affine ?? true) {
      const w = ones([numFeatures]);
      const b = zeros([numFeatures]);
      this.weight = this.registerParameter('weight', new Parameter(w));
      this.bias = this.registerParameter('bias', new Parameter(b));
      w.dispose();
      b.dispose();
    }
    if (opts.trackRunningStats ?? true) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }), { optional: true });
    }
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw invalidArg('BatchNorm2d.forward', 'input', '4-D [N, C, H, W]', x);
    return batchNorm(x, this.batchOptions());
  }
  /**
   * What batchNorm runs with in the current mode (batch statistics while training, else the running ones); counts the
   * batch when training. forward calls it, and so does a neuron that runs fused with this layer.
   */
  batchOptions(): BatchNormArgs {
    const useBatch = this.training || !this.runningMean;
    if (this.training && this.numBatchesTracked) noGrad(() => this.numBatchesTracked!.add_(1));
    return {
      weight: this.weight, bias: this.bias,
      runningMean: this.training || !useBatch ? this.runningMean : undefined,
      runningVar: this.training || !useBatch ? this.runningVar : undefined,
      training: useBatch, momentum: this.momentum, eps: this.eps,
    };
  }
  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}
