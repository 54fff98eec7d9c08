/**
 * The one error class snnkit throws. Native (libtorch) errors arrive as this class too, with a stable `code`.
 * This module imports nothing, so every layer may use it.
 */

/** Stable error codes. Match on `err.code`, never on the message text. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'INDEX_OUT_OF_RANGE'
  | 'DEVICE_ERROR'
  | 'NO_GRAD'
  | 'DISPOSED'
  | 'OUT_OF_MEMORY'
  | 'TORCH_ERROR'
  | 'NATIVE_ERROR'
  | 'NATIVE_LOAD_FAILED'
  | 'STATE_DICT_MISMATCH'
  | 'FILE_NOT_FOUND' | 'FILE_FORMAT' | 'IO_ERROR'
  | 'CHECKSUM_MISMATCH' | 'DOWNLOAD_FAILED'
  | 'UNSAFE_PICKLE'
  | 'UNSUPPORTED_OP';

/**
 * An error raised by snnkit. `code` is stable across versions; the message names the operation, the argument and
 * what was expected.
 * @example
 * try { a.matmul(b); } catch (e) { if (e instanceof SnnkitError && e.code === 'SHAPE_MISMATCH') ... }
 */
export class SnnkitError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;
  /**
   * @param message what went wrong, naming the operation/argument and what was expected
   * @param code the stable error code
   */
  constructor(message: string, code: ErrorCode = 'INVALID_ARGUMENT') {
    super(message);
    this.name = 'SnnkitError';
    this.code = code;
  }
}

/**
 * Builds the standard message for a bad argument: which function, which argument, what was expected, what arrived.
 * @param fn the public function name, e.g. 'conv2d'
 * @param arg the argument name, e.g. 'weight'
 * @param expected what was expected
 * @param got what arrived (already formatted)
 * @returns an SnnkitError with code INVALID_ARGUMENT (or the given code)
 */
export function invalidArg(fn: string, arg: string, expected: string, got: unknown, code: ErrorCode = 'INVALID_ARGUMENT'): SnnkitError {
  return new SnnkitError(`${fn}: argument '${arg}' must be ${expected}, got ${describe(got)}`, code);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  const d = (v as { describe?: () => string }).describe;
  return typeof d === 'function' ? d.call(v) : Object.prototype.toString.call(v);
}
