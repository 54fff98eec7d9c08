/** Weight initialisation, in place, with PyTorch's formulas (torch.nn.init). */
import { invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import { noGrad } from '../tensor/autograd.js';
import type { Generator } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * fan_in and fan_out of a weight [out, in, ...kernel].
 * @example
 * nn.init.fans(new nn.Conv2d(3, 16, 3).weight); // { fanIn: 27, fanOut: 144 }
 */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw invalidArg('fans', 'tensor', 'at least 2-D (a weight)', t);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/**
 * Fills with U(low, high). @returns t
 * @example
 * nn.init.uniform_(fc.weight, -0.1, 0.1);
 */
export function uniform_(t: Tensor, low = 0, high = 1, generator?: Generator): Tensor {
  noGrad(() => native.uniformInplace(t.handle, low, high, generator?.handle));
  return t;
}
/**
 * Fills with N(mean, std²). @returns t
 * @example
 * nn.init.normal_(fc.weight, 0, 0.01);
 */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  noGrad(() => native.normalInplace(t.handle, mean, std, generator?.handle));
  return t;
}
/**
 * Fills with a constant. @returns t
 * @example
 * nn.init.constant_(bn.weight!, 1); nn.init.constant_(bn.bias!, 0);
 */
export function constant_(t: Tensor, v: number): Tensor {
  noGrad(() => t.fill_(v));
  return t;
}

function gain(nonlinearity: 'relu' | 'leaky_relu' | 'linear', a: number): number {
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'leaky_relu') return Math.sqrt(2 / (1 + a * a));
  return 1;
}

/** Options of the Kaiming initialisations. */
export interface KaimingOptions {
  /** Negative slope of leaky ReLU (PyTorch's layers use sqrt(5)). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: 'relu' | 'leaky_relu' | 'linear';
  generator?: Generator;
}
/**
 * He et al. uniform initialisation: U(-b, b) with b = gain * sqrt(3 / fan). PyTorch's Conv2d/Linear default is
 * a = sqrt(5), nonlinearity 'leaky_relu', which gives b = 1 / sqrt(fan_in).
 * @returns t
 * @example
 * nn.init.kaimingUniform_(conv.weight, { nonlinearity: 'relu' });
 */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const bound = gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, opts.generator);
}
/**
 * He et al. normal initialisation: N(0, (gain / sqrt(fan))²). @returns t
 * @example
 * nn.init.kaimingNormal_(conv.weight, { mode: 'fanOut', nonlinearity: 'relu' });
 */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  return normal_(t, 0, gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan), opts.generator);
}
/**
 * Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)). @returns t
 * @example
 * nn.init.xavierUniform_(fc.weight);
 */
export function xavierUniform_(t: Tensor, g = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(t);
  const b = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -b, b, generator);
}
