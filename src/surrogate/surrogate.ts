/**
 * The Surrogate type shared by the surrogate files, its parameter check, and the brand that sends the built-in ones
 * to the fused native kernels (docs/methods.md §2).
 */
import { invalidArg } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** Codes of the native surrogate functors (native/src/ops/surrogate.h, enum Kind). */
export const SURROGATE_KIND = { rectangle: 0, triangle: 1, exponential: 2, sigmoid: 3, atan: 4, dspike: 5 } as const;
/** The built-in surrogates' names. */
export type SurrogateName = keyof typeof SURROGATE_KIND;

/**
 * A surrogate gradient for the spike function H(x), x = u - V_th: the forward pass stays the true step, the backward
 * pass uses `grad(x)` in place of dH/dx. The built-in surrogates run in the native kernels (native/src/ops/surrogate.h,
 * the same formulas); any other object with this shape (see defineSurrogate) runs on a generic path made of tensor ops.
 */
export interface Surrogate {
  /** The name `--surrogate NAME[:PARAM]` and checkpoints know it by (registerSurrogate for your own). */
  readonly name: string;
  /** The surrogate's one parameter (width, sharpness or temperature). */
  readonly param: number;
  /** g(x), as tensor ops: the backward of the spike function (and tests' reference for the native kernels). */
  grad(x: Tensor): Tensor;
  /** The smooth step whose derivative g is (g = d primitive / dx), where known; tests check g against it. */
  primitive?(x: Tensor): Tensor;
  /** e.g. `atan(sharpness=2)`: NAME(PARAMNAME=PARAM), which checkpoints store and parseSurrogate reads back. */
  toString(): string;
}

/** A built-in surrogate: a native kernel computes its g. */
export interface BuiltinSurrogate extends Surrogate {
  readonly name: SurrogateName;
  primitive(x: Tensor): Tensor;
}

const NATIVE_KIND: unique symbol = Symbol('snnkit.nativeSurrogateKind');

/** @internal Brands a built-in surrogate object with its native kernel code. */
export function builtinSurrogate(s: Omit<BuiltinSurrogate, typeof NATIVE_KIND>): BuiltinSurrogate {
  return Object.defineProperty(s, NATIVE_KIND, { value: SURROGATE_KIND[s.name], enumerable: false }) as BuiltinSurrogate;
}

/**
 * The native kernel code of a surrogate made by one of snnkit's factories (atan(), dspike(), ...), else undefined:
 * an object of your own runs on the generic path even if it borrows a built-in name.
 * @example
 * nativeSurrogateKind(atan()); // 4, SURROGATE_KIND.atan: the fused kernel
 * nativeSurrogateKind(defineSurrogate({ name: 'mine', grad: (x) => x.abs().neg().exp() })); // undefined
 */
export function nativeSurrogateKind(s: Surrogate): number | undefined {
  return (s as { [NATIVE_KIND]?: number })[NATIVE_KIND];
}

/** @internal Checks a surrogate parameter: a positive finite number. */
export function positiveParam(fn: string, name: string, v: number): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw invalidArg(fn, name, 'a positive finite number', v);
  return v;
}
