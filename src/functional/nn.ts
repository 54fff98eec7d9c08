/**
 * Neural-network functions over tensors: linear, convolution, pooling, normalisation, dropout, softmax.
 * Arguments are checked here so that errors name the argument; libtorch checks the rest.
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/creation.js';

/** A size given as one number for both spatial dims, or as [h, w]. */
export type Size2 = number | readonly [number, number] | readonly number[];

/**
 * @internal Normalises a 2-D size argument.
 * @throws SnnkitError naming the function and argument
 */
export function pair(fn: string, name: string, v: Size2, min = 0): [number, number] {
  const p: number[] = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min))
    throw invalidArg(fn, name, `an integer >= ${min} or a pair [h, w] of them`, v);
  return [p[0]!, p[1]!];
}

function rank(fn: string, name: string, t: Tensor, ranks: readonly number[]): void {
  if (!ranks.includes(t.ndim))
    throw new SnnkitError(`${fn}: argument '${name}' must be ${ranks.join('-D or ')}-D, got ${t.describe()}`, 'SHAPE_MISMATCH');
}

/**
 * y = x Wᵀ + b.
 * @param x [..., in]
 * @param weight [out, in]
 * @param bias [out]
 * @returns [..., out]
 * @example linear(randn([8, 4]), randn([3, 4]), zeros([3]))  // [8, 3]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  rank('linear', 'weight', weight, [2]);
  const inF = weight.shape[1]!;
  if (x.shape[x.ndim - 1] !== inF)
    throw new SnnkitError(`linear: input ${x.describe()} has ${x.shape[x.ndim - 1]} features but weight ${weight.describe()} expects ${inF}`, 'SHAPE_MISMATCH');
  return new Tensor(native.linear(x.handle, weight.handle, bias?.handle));
}

/** Options of conv2d. */
export interface Conv2dOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
}
/**
 * 2-D convolution (cross-correlation, as PyTorch), via oneDNN on CPU.
 * @param x [N, C_in, H, W]
 * @param weight [C_out, C_in / groups, kH, kW]
 * @param bias [C_out]
 * @returns [N, C_out, H', W']
 * @throws SnnkitError when ranks or channel counts do not match
 * @example conv2d(randn([1, 3, 32, 32]), randn([16, 3, 3, 3]), undefined, { padding: 1 })  // [1, 16, 32, 32]
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  rank('conv2d', 'input', x, [4]);
  rank('conv2d', 'weight', weight, [4]);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw invalidArg('conv2d', 'groups', 'an integer >= 1', groups);
  if (x.shape[1] !== weight.shape[1]! * groups)
    throw new SnnkitError(
      `conv2d: input ${x.describe()} has ${x.shape[1]} channels but weight ${weight.describe()} expects ${weight.shape[1]! * groups} (groups=${groups})`,
      'SHAPE_MISMATCH',
    );
  return new Tensor(
    native.conv2d(x.handle, weight.handle, bias?.handle, pair('conv2d', 'stride', opts.stride ?? 1, 1),
      pair('conv2d', 'padding', opts.padding ?? 0), pair('conv2d', 'dilation', opts.dilation ?? 1, 1), groups),
  );
}

/** Options of the pooling functions. */
export interface Pool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  padding?: Size2;
  ceilMode?: boolean;
}
/**
 * Average pooling. Linear, so it may act on spikes directly.
 * @param x [N, C, H, W]
 * @param kernel window size
 * @returns [N, C, H', W']
 * @example avgPool2d(spikes, 2)  // [N, C, 32, 32] → [N, C, 16, 16]
 */
export function avgPool2d(x: Tensor, kernel: Size2, opts: Pool2dOptions & { countIncludePad?: boolean; divisorOverride?: number } = {}): Tensor {
  rank('avgPool2d', 'input', x, [3, 4]);
  const k = pair('avgPool2d', 'kernel', kernel, 1);
  return new Tensor(native.avgPool2d(x.handle, k, pair('avgPool2d', 'stride', opts.stride ?? k, 1), pair('avgPool2d', 'padding', opts.padding ?? 0),
    opts.ceilMode ?? false, opts.countIncludePad ?? true, opts.divisorOverride));
}
/**
 * Max pooling.
 * @param x [N, C, H, W]
 * @param kernel window size
 * @example maxPool2d(x, 3, { stride: 2, padding: 1 })  // [N, C, 32, 32] → [N, C, 16, 16]
 */
export function maxPool2d(x: Tensor, kernel: Size2, opts: Pool2dOptions & { dilation?: Size2 } = {}): Tensor {
  rank('maxPool2d', 'input', x, [3, 4]);
  const k = pair('maxPool2d', 'kernel', kernel, 1);
  return new Tensor(native.maxPool2d(x.handle, k, pair('maxPool2d', 'stride', opts.stride ?? k, 1), pair('maxPool2d', 'padding', opts.padding ?? 0),
    pair('maxPool2d', 'dilation', opts.dilation ?? 1, 1), opts.ceilMode ?? false));
}
/**
 * Adaptive average pooling to a fixed output size.
 * @param x [N, C, H, W]
 * @param outputSize [h, w] (or one number for both)
 * @example adaptiveAvgPool2d(features, 1)  // global average pooling: [N, C, H, W] → [N, C, 1, 1]
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  rank('adaptiveAvgPool2d', 'input', x, [3, 4]);
  return new Tensor(native.adaptiveAvgPool2d(x.handle, pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1)));
}

/** Options of batchNorm. */
export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  runningMean?: Tensor;
  runningVar?: Tensor;
  /** Use batch statistics (and update the running ones in place). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}
/**
 * Batch normalisation over the channel dimension 1, as torch.nn.functional.batch_norm.
 * @param x [N, C, ...]
 * @throws SnnkitError in eval mode without running statistics
 * @example batchNorm(x, { runningMean: zeros([16]), runningVar: ones([16]) })  // eval mode, x [N, 16, H, W]
 */
export function batchNorm(x: Tensor, opts: BatchNormOptions = {}): Tensor {
  const training = opts.training ?? false;
  if (!training && (!opts.runningMean || !opts.runningVar))
    throw new SnnkitError('batchNorm: eval mode (training: false) needs runningMean and runningVar', 'INVALID_ARGUMENT');
  if (x.ndim < 2) throw new SnnkitError(`batchNorm: input must have a channel dimension, got ${x.describe()}`, 'SHAPE_MISMATCH');
  return new Tensor(native.batchNorm(x.handle, opts.weight?.handle, opts.bias?.handle, opts.runningMean?.handle,
    opts.runningVar?.handle, training, opts.momentum ?? 0.1, opts.eps ?? 1e-5));
}

/**
 * Zeroes elements with probability p and scales the rest by 1/(1-p) while training; identity otherwise.
 * @param p drop probability in [0, 1]
 * @param training apply dropout (default true)
 * @param generator draw the mask from this generator
 * @example dropout(h, 0.2, this.training)  // inside a Module's forward
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw invalidArg('dropout', 'p', 'a probability in [0, 1]', p);
  return new Tensor(native.dropout(x.handle, p, training, generator?.handle));
}

/**
 * @returns log(softmax(x)) along `dim`, computed stably
 * @example nllLoss(logSoftmax(logits), y)  // equals crossEntropy(logits, y)
 */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return new Tensor(native.logSoftmax(x.handle, dim));
}
/**
 * @returns softmax along `dim`
 * @example const probs = softmax(model.forward(x));  // [N, C], each row sums to 1
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  return new Tensor(native.softmax(x.handle, dim));
}
