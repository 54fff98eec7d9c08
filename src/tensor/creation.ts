/** Creating tensors: from data, constants, ranges and seeded random numbers; joining tensors. */
import { SnnkitError, invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import type { GeneratorHandle } from '../native/binding.js';
import { checkDType, dtypeOfArray, ITEM_SIZE, type DType } from './dtype.js';
import { Tensor, type TensorOrScalar } from './tensor.js';

/** Options shared by creation functions. */
export interface CreateOptions {
  /** Element type (default float32, or int64 for integer ranges). */
  dtype?: DType;
  /** Record gradients for this tensor. */
  requiresGrad?: boolean;
}
/** Options of random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** Draw from this generator instead of the global one (see manualSeed). */
  generator?: Generator;
}

/**
 * A seeded random-number generator. Two generators with the same seed produce the same numbers.
 * @example
 * const g = new Generator(42); const a = randn([3], { generator: g });
 */
export class Generator {
  /** @internal */
  readonly handle: GeneratorHandle;
  /**
   * Creates a generator seeded with `seed`.
   * @param seed the initial seed (an integer)
   */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArg('Generator', 'seed', 'a non-negative integer', seed);
    this.handle = new native.GeneratorHandle(seed);
  }
  /** Re-seeds the generator. @param seed a non-negative integer */
  manualSeed(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArg('Generator.manualSeed', 'seed', 'a non-negative integer', seed);
    this.handle.manualSeed(seed);
  }
  /** @returns the seed it was last seeded with */
  get seed(): number {
    return this.handle.seed();
  }
}

/**
 * Seeds the global generator (used when no generator is passed, and by dropout).
 * @param seed a non-negative integer
 * @example manualSeed(0); const w = randn([4, 4]); // the same numbers on every run
 */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArg('manualSeed', 'seed', 'a non-negative integer', seed);
  native.manualSeed(seed);
}

function checkShape(fn: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw invalidArg(fn, 'shape', 'an array of non-negative integers', shape);
  return [...shape];
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * Nested arrays of numbers or booleans (a number alone is a 0-d tensor).
 * @inline
 */
type NestedNumbers = number | boolean | readonly NestedNumbers[];

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly NestedNumbers[])[0] ?? 0;
  }
  return shape;
}

function flattenInto(data: NestedNumbers, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') throw invalidArg('tensor', 'data', 'a rectangular nested array of numbers', data);
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth])
    throw new SnnkitError(`tensor: argument 'data' is ragged: expected ${shape[depth]} entries at depth ${depth}`);
  for (const x of data as readonly NestedNumbers[]) flattenInto(x, shape, depth + 1, out);
}

function toBytes(values: ArrayLike<number | bigint>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float32': return Float32Array.from(values as ArrayLike<number>);
    case 'float64': return Float64Array.from(values as ArrayLike<number>);
    case 'int64': return BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(Math.trunc(Number(v))));
    case 'int32': return Int32Array.from(values as ArrayLike<number>);
    case 'int8': return Int8Array.from(values as ArrayLike<number>);
    case 'uint8': return Uint8Array.from(values as ArrayLike<number>);
    case 'bool': return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}

/**
 * Creates a tensor from a nested array, a number, or a typed array with a shape. The data is copied.
 * @param data nested arrays of numbers, a number (0-d tensor), or a typed array
 * @param shapeOrOpts the shape for a typed array (default: 1-D), or options
 * @param opts dtype (default: float32 for arrays, the typed array's own type otherwise) and requiresGrad
 * @returns a new tensor
 * @throws SnnkitError when the data is ragged or does not fill the shape
 * @example
 * tensor([[1, 2], [3, 4]]); tensor(new Float32Array(6), [2, 3]); tensor([0, 2, 1], { dtype: 'int64' })
 */
export function tensor(data: NestedNumbers | ArrayBufferView, shapeOrOpts?: readonly number[] | CreateOptions, opts?: CreateOptions): Tensor {
  const shapeGiven = Array.isArray(shapeOrOpts) ? checkShape('tensor', shapeOrOpts) : undefined;
  const o = (Array.isArray(shapeOrOpts) ? opts : (shapeOrOpts as CreateOptions | undefined)) ?? {};
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    const dtype = o.dtype ? checkDType('tensor', o.dtype) : own;
    if (!dtype) throw invalidArg('tensor', 'data', 'a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array', data);
    const n = data.byteLength / (own ? ITEM_SIZE[own] : 1);
    const shape = shapeGiven ?? [n];
    const need = shape.reduce((a, b) => a * b, 1);
    if (need !== n) throw new SnnkitError(`tensor: ${n} elements cannot fill shape [${shape.join(',')}] (${need} elements)`, 'SHAPE_MISMATCH');
    const bytes = own === dtype ? data : toBytes(data as unknown as ArrayLike<number>, dtype);
    return finish(new Tensor(native.fromBuffer(bytes, shape, dtype)), o);
  }
  const shape = inferShape(data);
  const flat: number[] = [];
  flattenInto(data, shape, 0, flat);
  let first: NestedNumbers = data;
  while (Array.isArray(first)) first = (first as readonly NestedNumbers[])[0] ?? 0;
  const dtype = o.dtype ? checkDType('tensor', o.dtype) : typeof first === 'boolean' ? 'bool' : 'float32';
  const finalShape = shapeGiven ?? shape;
  if (finalShape.reduce((a, b) => a * b, 1) !== flat.length)
    throw new SnnkitError(`tensor: ${flat.length} elements cannot fill shape [${finalShape.join(',')}]`, 'SHAPE_MISMATCH');
  return finish(new Tensor(native.fromBuffer(toBytes(flat, dtype), finalShape, dtype)), o);
}

/** @returns a tensor of zeros. @example zeros([2, 3]) */
export function zeros(shape: readonly number[], opts?: CreateOptions): Tensor {
  return finish(new Tensor(native.zeros(checkShape('zeros', shape), checkDType('zeros', opts?.dtype ?? 'float32'))), opts);
}
/** @returns a tensor of ones. @example ones([2, 3]) */
export function ones(shape: readonly number[], opts?: CreateOptions): Tensor {
  return finish(new Tensor(native.ones(checkShape('ones', shape), checkDType('ones', opts?.dtype ?? 'float32'))), opts);
}
/** @returns an uninitialised tensor (contents undefined). @example const out = empty([64, 10]) */
export function empty(shape: readonly number[], opts?: CreateOptions): Tensor {
  return finish(new Tensor(native.empty(checkShape('empty', shape), checkDType('empty', opts?.dtype ?? 'float32'))), opts);
}
/** @returns a tensor filled with `value`. @example full([2], 0.5) */
export function full(shape: readonly number[], value: number | boolean, opts?: CreateOptions): Tensor {
  return finish(new Tensor(native.full(checkShape('full', shape), value, checkDType('full', opts?.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')))), opts);
}
/** @returns zeros with the shape, dtype and device of `t` @example const v = zerosLike(membrane) */
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(native.zerosLike(t.handle));
}
/** @returns ones with the shape, dtype and device of `t` @example onesLike(tensor([[1, 2]])) // [[1, 1]] */
export function onesLike(t: Tensor): Tensor {
  return new Tensor(native.onesLike(t.handle));
}
/** @returns `value` with the shape, dtype and device of `t` @example const vTh = fullLike(membrane, 1.0) */
export function fullLike(t: Tensor, value: number | boolean): Tensor {
  return new Tensor(native.fullLike(t.handle, value));
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) with `step`, as torch.arange; one argument means [0, end).
 * @returns int64 when all arguments are integers, else float32 (or opts.dtype)
 * @example arange(5); arange(0, 1, 0.25)
 */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw invalidArg('arange', 'step', 'a finite non-zero number', step);
  const dtype = opts?.dtype ?? ([s, e, step].every(Number.isInteger) ? 'int64' : 'float32');
  return finish(new Tensor(native.arange(s, e, step, checkDType('arange', dtype))), opts);
}
/**
 * @returns `steps` evenly spaced values from start to end inclusive
 * @example linspace(0, 1, 5) // [0, 0.25, 0.5, 0.75, 1]
 */
export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw invalidArg('linspace', 'steps', 'a non-negative integer', steps);
  return finish(new Tensor(native.linspace(start, end, steps, checkDType('linspace', opts?.dtype ?? 'float32'))), opts);
}
/** @returns the n×n identity matrix @example eye(3) */
export function eye(n: number, opts?: CreateOptions): Tensor {
  return finish(new Tensor(native.eye(n, checkDType('eye', opts?.dtype ?? 'float32'))), opts);
}
/** @returns uniform samples in [0, 1) @example const spikes = rand([8, 784]).lt(0.1) */
export function rand(shape: readonly number[], opts?: RandomOptions): Tensor {
  return finish(new Tensor(native.rand(checkShape('rand', shape), checkDType('rand', opts?.dtype ?? 'float32'), opts?.generator?.handle)), opts);
}
/** @returns standard normal samples @example randn([2, 3]); randn([4], { generator: new Generator(1) }) */
export function randn(shape: readonly number[], opts?: RandomOptions): Tensor {
  return finish(new Tensor(native.randn(checkShape('randn', shape), checkDType('randn', opts?.dtype ?? 'float32'), opts?.generator?.handle)), opts);
}
/** @returns integers uniform in [low, high), int64 by default @example const labels = randint(0, 10, [32]) */
export function randint(low: number, high: number, shape: readonly number[], opts?: RandomOptions): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw invalidArg('randint', 'high', `an integer > low (${low})`, high);
  return new Tensor(native.randint(low, high, checkShape('randint', shape), checkDType('randint', opts?.dtype ?? 'int64'), opts?.generator?.handle));
}
/** @returns a random permutation of 0..n-1 (int64) @example const order = randperm(60000) */
export function randperm(n: number, opts?: { generator?: Generator }): Tensor {
  if (!Number.isInteger(n) || n < 0) throw invalidArg('randperm', 'n', 'a non-negative integer', n);
  return new Tensor(native.randperm(n, opts?.generator?.handle));
}
/**
 * @returns 0/1 samples with probabilities `p`
 * @example const spikes = bernoulli(images) // rate coding of pixel intensities in [0, 1]
 */
export function bernoulli(p: Tensor, opts?: { generator?: Generator }): Tensor {
  return new Tensor(native.bernoulli(p.handle, opts?.generator?.handle));
}

/**
 * Concatenates tensors along an existing dimension.
 * @throws SnnkitError for an empty list, or shapes that differ outside `dim`
 * @example cat([tensor([[1, 2]]), tensor([[3, 4]])]) // [[1, 2], [3, 4]]
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw invalidArg('cat', 'tensors', 'a non-empty array of tensors', tensors);
  return new Tensor(native.cat(tensors.map((t) => t.handle), dim));
}
/**
 * Stacks same-shaped tensors along a new dimension.
 * @throws SnnkitError for an empty list, or different shapes
 * @example const seq = stack(frames) // T tensors of shape [N, C] give [T, N, C]
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw invalidArg('stack', 'tensors', 'a non-empty array of tensors', tensors);
  return new Tensor(native.stack(tensors.map((t) => t.handle), dim));
}
/**
 * @returns elementwise `cond ? a : b` (broadcasting; a or b may be numbers)
 * @example where(x.gt(0), x, 0) // like x.relu()
 */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const h = (v: TensorOrScalar) => (v instanceof Tensor ? v.handle : v);
  const mask = (a instanceof Tensor ? 2 : 0) | (b instanceof Tensor ? 4 : 0);
  return new Tensor(native.where(cond.handle, h(a), h(b), mask));
}
