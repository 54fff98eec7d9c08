/** Element types and their JavaScript typed arrays. */
import { invalidArg } from '../errors.js';

/** The element types snnkit tensors support. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
/** Every valid DType, for validation and error messages. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'];

/** The typed array that holds each dtype's elements (bool as one byte each). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type AnyTypedArray = TypedArrayOf[DType];

/** Bytes per element. */
export const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1 };

/**
 * Checks that `v` names a dtype.
 * @param fn the calling function, for the error message
 * @param v the value to check
 * @returns v as a DType
 * @throws SnnkitError (INVALID_ARGUMENT) listing the valid dtypes
 */
export function checkDType(fn: string, v: unknown): DType {
  if (typeof v === 'string' && (DTYPES as readonly string[]).includes(v)) return v as DType;
  throw invalidArg(fn, 'dtype', `one of ${DTYPES.join(', ')}`, v);
}

/**
 * Views raw bytes as the typed array of a dtype.
 * @param dtype the element type
 * @param buf the bytes (length a multiple of the item size)
 * @returns a typed array over `buf` (no copy)
 */
export function viewAs<D extends DType>(dtype: D, buf: ArrayBuffer): TypedArrayOf[D] {
  switch (dtype) {
    case 'float32': return new Float32Array(buf) as TypedArrayOf[D];
    case 'float64': return new Float64Array(buf) as TypedArrayOf[D];
    case 'int64': return new BigInt64Array(buf) as TypedArrayOf[D];
    case 'int32': return new Int32Array(buf) as TypedArrayOf[D];
    case 'int8': return new Int8Array(buf) as TypedArrayOf[D];
    default: return new Uint8Array(buf) as TypedArrayOf[D];
  }
}

/**
 * The dtype a typed array holds, as created by `tensor(array)` when no dtype is given.
 * @param a a typed array
 * @returns its dtype, or undefined for typed arrays snnkit does not store
 */
export function dtypeOfArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

/** True for float32 and float64. */
export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}
