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
  | 'NON_FINITE'
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
   * Creates an error with a message and a stable code.
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
  return new SnnkitError(`${fn}: argument '${arg}' must be ${expected}, got ${describeValue(got)}`, code);
}

const warned = new Set<string>();
/**
 * Says once per process that an old spelling was used (a Node DeprecationWarning, code SNNKIT_DEPRECATED): old
 * spellings keep working for one release after they are renamed.
 * @param fn the function, class or command, e.g. 'LIF'
 * @param old the old spelling, e.g. 'alpha'
 * @param now the spelling to use, e.g. 'decay'
 */
export function deprecated(fn: string, old: string, now: string): void {
  const key = `${fn}\0${old}`;
  if (warned.has(key)) return;
  warned.add(key);
  const q = (x: string): string => (x.includes("'") ? x : `'${x}'`);
  process.emitWarning(`${fn}: ${q(old)} is deprecated and goes in snnkit 0.3: use ${q(now)}`, { type: 'DeprecationWarning', code: 'SNNKIT_DEPRECATED' });
}

/**
 * A short, safe description of any value for an error message: strings are quoted and cut at 60 characters, arrays
 * show their first 8 items and at most 3 levels, bigints print as numbers. It never throws and stays short for cyclic,
 * very deep or very long values from untrusted files (JSON.stringify throws on bigints and cycles, and recurses).
 * @param v the value
 * @returns its description
 * @example
 * describeValue([1n, 'x', [[[[]]]]]); // "[1, 'x', [[[array of 0]]]]"
 */
export function describeValue(v: unknown): string {
  return describe(v, 0);
}

function describe(v: unknown, depth: number): string {
  if (typeof v === 'string') return v.length > 60 ? `'${v.slice(0, 57)}...' (${v.length} characters)` : `'${v}'`;
  if (Array.isArray(v)) {
    if (depth >= 3) return `[array of ${v.length}]`;
    const items = v.slice(0, 8).map((x) => describe(x, depth + 1));
    return `[${items.join(', ')}${v.length > 8 ? `, ... (${v.length} items)` : ''}]`;
  }
  if (v === null || v === undefined || typeof v !== 'object') return typeof v === 'symbol' ? v.toString() : String(v);
  try {
    const d = (v as { describe?: () => string }).describe;
    return typeof d === 'function' ? String(d.call(v)) : Object.prototype.toString.call(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
