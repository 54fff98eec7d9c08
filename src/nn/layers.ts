/** Stateless and affine layers: Linear, Conv2d, pooling, Flatten, ReLU, Dropout, Identity. */
import { invalidArg } from '../errors.js';
import * as F from '../functional/nn.js';
import { empty, type Generator } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { perSample } from './repeated.js';

function positiveInt(fn: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw invalidArg(fn, name, 'a positive integer', v);
  return v;
}

/**
 * Registers `weight` (Kaiming uniform with a = sqrt(5)) and, unless disabled, `bias` (U(-1/sqrt(fanIn), 1/sqrt(fanIn))):
 * the default initialisation of PyTorch's Linear and Conv2d.
 */
function affineParams(m: Module, weightShape: number[], opts: AffineOptions): { weight: Parameter; bias: Parameter | undefined } {
  const w = empty(weightShape);
  const weight = m.registerParameter('weight', new Parameter(kaimingUniform_(w, { a: Math.sqrt(5), generator: opts.generator })));
  w.dispose();
  if (!(opts.bias ?? true)) return { weight, bias: undefined };
  const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
  const b = empty([weightShape[0]!]);
  const bias = m.registerParameter('bias', new Parameter(uniform_(b, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), opts.generator)));
  b.dispose();
  return { weight, bias };
}

/** Options of layers with an optional bias and a seedable initialisation. */
export interface AffineOptions {
  bias?: boolean;
  generator?: Generator;
}

/** y = x Wᵀ + b. Weight [out, in]; PyTorch's default initialisation. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  /**
   * @param inFeatures size of each input sample
   * @param outFeatures size of each output sample
   * @example new Linear(128, 10)
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: AffineOptions = {}) {
    super();
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    ({ weight: this.weight, bias: this.bias } = affineParams(this, [outFeatures, inFeatures], opts));
  }
  forward(x: Tensor): Tensor {
    return perSample(x, (h) => F.linear(h, this.weight, this.bias));
  }
  protected override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== undefined}`;
  }
}

/** Options of Conv2d. */
export interface Conv2dOptions extends AffineOptions, F.Conv2dOptions {}

/** 2-D convolution. Weight [out, in/groups, kH, kW]; PyTorch's default initialisation. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly kernelSize: [number, number];
  readonly opts: Required<F.Conv2dOptions>;
  /**
   * @param inChannels input channels
   * @param outChannels output channels
   * @param kernelSize kernel size (one number or [kH, kW])
   * @example new Conv2d(3, 64, 3, { padding: 1 })
   */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: F.Size2, opts: Conv2dOptions = {}) {
    super();
    positiveInt('Conv2d', 'inChannels', inChannels);
    positiveInt('Conv2d', 'outChannels', outChannels);
    const groups = positiveInt('Conv2d', 'groups', opts.groups ?? 1);
    if (inChannels % groups || outChannels % groups) throw invalidArg('Conv2d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
    this.kernelSize = F.pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.opts = {
      stride: F.pair('Conv2d', 'stride', opts.stride ?? 1, 1),
      padding: F.pair('Conv2d', 'padding', opts.padding ?? 0),
      dilation: F.pair('Conv2d', 'dilation', opts.dilation ?? 1, 1),
      groups,
    };
    ({ weight: this.weight, bias: this.bias } = affineParams(this, [outChannels, inChannels / groups, ...this.kernelSize], opts));
  }
  forward(x: Tensor): Tensor {
    return perSample(x, (h) => F.conv2d(h, this.weight, this.bias, this.opts));
  }
  protected override extraRepr(): string {
    const o = this.opts;
    return `${this.inChannels}, ${this.outChannels}, kernel=${this.kernelSize}, stride=${o.stride}, padding=${o.padding}` +
      (o.groups > 1 ? `, groups=${o.groups}` : '') + `, bias=${this.bias !== undefined}`;
  }
}

/** Average pooling (linear: acts on spikes as well as on activations). */
export class AvgPool2d extends Module {
  /**
   * @param kernelSize window; stride defaults to it
   * @example new AvgPool2d(2) // [N, C, 32, 32] → [N, C, 16, 16]
   */
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions & { countIncludePad?: boolean; divisorOverride?: number } = {}) {
    super();
    F.pair('AvgPool2d', 'kernelSize', kernelSize, 1);
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.opts);
  }
  protected override extraRepr(): string {
    return `kernel=${this.kernelSize}`;
  }
}
/** Max pooling. */
export class MaxPool2d extends Module {
  /**
   * @param kernelSize window; stride defaults to it
   * @example new MaxPool2d(3, { stride: 2, padding: 1 }) // [N, C, 32, 32] → [N, C, 16, 16]
   */
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions & { dilation?: F.Size2 } = {}) {
    super();
    F.pair('MaxPool2d', 'kernelSize', kernelSize, 1);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.opts);
  }
  protected override extraRepr(): string {
    return `kernel=${this.kernelSize}`;
  }
}
/**
 * Adaptive average pooling to a fixed output size (1 = global average pooling).
 * @example new AdaptiveAvgPool2d(1) // [N, 64, 8, 8] → [N, 64, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  /**
   * Makes the layer.
   * @param outputSize the output's height and width (one number for both)
   */
  constructor(readonly outputSize: F.Size2) {
    super();
    F.pair('AdaptiveAvgPool2d', 'outputSize', outputSize, 1);
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
  protected override extraRepr(): string {
    return `output=${this.outputSize}`;
  }
}
/**
 * Merges dims startDim..endDim (default: all but the batch).
 * @example new Flatten() // [N, 64, 1, 1] → [N, 64]
 */
export class Flatten extends Module {
  /**
   * Makes the layer.
   * @param startDim the first dim merged (default 1)
   * @param endDim the last dim merged (default -1)
   */
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
/**
 * max(x, 0).
 * @example new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10))
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
/** Dropout while training; identity in eval mode. */
export class Dropout extends Module {
  /**
   * @param p drop probability in [0, 1]
   * @example new Dropout(0.2) // in training mode zeroes each value with probability 0.2; identity after eval()
   */
  constructor(readonly p = 0.5, readonly generator?: Generator) {
    super();
    if (!(p >= 0 && p <= 1)) throw invalidArg('Dropout', 'p', 'a probability in [0, 1]', p);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.generator);
  }
  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
/**
 * Returns its input (a view).
 * @example const shortcut = inPlanes === planes ? new Identity() : new Conv2d(inPlanes, planes, 1);
 */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.view(...x.shape);
  }
}
