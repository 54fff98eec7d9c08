/** The Surrogate type shared by the surrogate files, and its parameter check. */
import { invalidArg } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** Codes of the native surrogate functors (native/src/ops/surrogate.h, enum Kind). */
export const SURROGATE_KIND = { rectangle: 0, triangle: 1, exponential: 2, sigmoid: 3, atan: 4, dspike: 5 } as const;
/** The surrogate names. */
export type SurrogateName = keyof typeof SURROGATE_KIND;

/**
 * A surrogate gradient for the spike function H(x), x = u - V_th: the forward pass stays the true step, the backward
 * pass uses `grad(x)` in place of dH/dx. The native kernels compute the same formula (native/src/ops/surrogate.h).
 */
export interface Surrogate {
  readonly name: SurrogateName;
  /** The surrogate's one parameter (width, sharpness or temperature). */
  readonly param: number;
  /** The reference formula of g(x), as tensor ops (tests check the native backward against it). */
  grad(x: Tensor): Tensor;
  /** The smooth step whose derivative g is (g = d primitive / dx); tests check g against its numerical derivative. */
  primitive(x: Tensor): Tensor;
  /** e.g. `atan(alpha=2)` */
  toString(): string;
}

/** @internal Checks a surrogate parameter: a positive finite number. */
export function positiveParam(fn: string, name: string, v: number): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw invalidArg(fn, name, 'a positive finite number', v);
  return v;
}
