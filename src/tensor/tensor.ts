/**
 * The Tensor class: a thin, typed wrapper over one native at::Tensor handle. Shapes and dtypes are validated here
 * where a message can name the argument; libtorch's own errors arrive as SnnkitError naming the op and the shapes.
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import { BinaryOp, UnaryOp, type TensorHandle } from '../native/binding.js';
import { checkDType, viewAs, type DType, type TypedArrayOf } from './dtype.js';
import { release, track, untrack } from './scope.js';

/** A tensor or a plain number (broadcast as a scalar). */
export type TensorOrScalar = Tensor | number;
/** Nested arrays of numbers, as returned by toArray(). */
export type NestedArray = number | boolean | NestedArray[];

const handleOf = (v: TensorOrScalar | boolean): TensorHandle | number | boolean => (v instanceof Tensor ? v.handle : v);
/** The operand mask bit for argument `arg` when `v` is a tensor (see NativeBinding's TS operands). */
const bit = (v: unknown, arg: number): number => (v instanceof Tensor ? 1 << arg : 0);

function dimsArg(dims: number | readonly number[] | undefined): number[] | null {
  if (dims === undefined) return null;
  return typeof dims === 'number' ? [dims] : [...dims];
}

/**
 * The multidimensional array type of snnkit. Create tensors with `tensor()`, `zeros()`, `randn()` and friends.
 * @example
 * const t = tensor([[1, 2], [3, 4]]);
 * t.shape; // [2, 2]
 * t.mul(2).sum().item(); // 20
 */
export class Tensor {
  /** @internal The native handle. */
  readonly handle: TensorHandle;
  /** Survives the end of the scope (tidy) it was created in; set by keep(). */
  kept = false;
  private shape_: number[] | undefined;
  private disposed_ = false;

  /** @internal Use the creation functions; this wraps a native handle. */
  constructor(handle: TensorHandle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata --------------------------------------------------------------------------------------------------
  /** The size of each dimension. */
  get shape(): readonly number[] {
    return (this.shape_ ??= native.shape(this.handle));
  }
  /** The element type. */
  get dtype(): DType {
    return native.dtype(this.handle);
  }
  /** 'cpu' or 'cuda:N'. */
  get device(): string {
    return native.device(this.handle);
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** True after dispose(). */
  get isDisposed(): boolean {
    return this.disposed_;
  }
  /** A short description such as `float32[2,3]`. */
  describe(): string {
    return this.isDisposed ? 'disposed tensor' : `${this.dtype}[${this.shape.join(',')}]`;
  }
  /** @returns `Tensor(float32[2,3])` */
  toString(): string {
    return `Tensor(${this.describe()})`;
  }

  // ---- lifetime --------------------------------------------------------------------------------------------------
  /** Frees the native memory now. Idempotent. */
  dispose(): void {
    if (!this.disposed_) {
      this.disposed_ = true;
      native.dispose(this.handle);
      untrack(this);
    }
  }
  /**
   * Marks this tensor to survive the scope it was created in (parameters, optimizer state, caches).
   * @returns this
   */
  keep(): this {
    this.kept = true;
    release(this);
    return this;
  }

  // ---- data out --------------------------------------------------------------------------------------------------
  /**
   * Copies the elements into a new typed array, in row-major order.
   * @returns Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array (uint8 and bool)
   */
  toTypedArray(): TypedArrayOf[DType] {
    return viewAs(this.dtype, native.toBuffer(this.handle));
  }
  /**
   * Copies the elements into nested JavaScript arrays (int64 as numbers).
   * @returns nested arrays, or a number for a 0-d tensor
   */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const isBool = this.dtype === 'bool';
    const conv = (i: number): number | boolean => {
      const v = flat[i]!;
      return isBool ? v !== 0 : Number(v);
    };
    const shape = this.shape;
    let pos = 0;
    const build = (d: number): NestedArray => {
      if (d === shape.length) return conv(pos++);
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]!; i++) out.push(build(d + 1));
      return out;
    };
    return build(0);
  }
  /**
   * The value of a one-element tensor.
   * @returns the number (bool tensors give 1 or 0)
   * @throws SnnkitError (SHAPE_MISMATCH) when the tensor has more than one element
   */
  item(): number {
    return native.item(this.handle);
  }

  // ---- shape and views -------------------------------------------------------------------------------------------
  /** @param shape new shape; one entry may be -1. @returns a tensor with the same data (a view when possible) */
  reshape(...shape: number[]): Tensor {
    return new Tensor(native.reshape(this.handle, shape));
  }
  /** @param shape new shape (the data must be contiguous). @returns a view */
  view(...shape: number[]): Tensor {
    return new Tensor(native.view(this.handle, shape));
  }
  /** @param dims the new order of dimensions. @returns a view */
  permute(...dims: number[]): Tensor {
    return new Tensor(native.permute(this.handle, dims));
  }
  /** @returns a view with dimensions d0 and d1 swapped */
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.transpose(this.handle, d0, d1));
  }
  /** @returns whether the elements lie in row-major order without gaps (as torch's is_contiguous) */
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  /** @returns a contiguous tensor (this data, or a copy) */
  contiguous(): Tensor {
    return new Tensor(native.contiguous(this.handle));
  }
  /** @returns a copy that stays in the autograd graph */
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  /** @returns the same data, cut from the autograd graph */
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }
  /** @returns dims start..end merged into one */
  flatten(start = 0, end = -1): Tensor {
    return new Tensor(native.flatten(this.handle, start, end));
  }
  /** @returns a view with a new dimension of size 1 at `dim` */
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  /** @returns a view without dimension `dim` (or all size-1 dimensions) */
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.handle, dim));
  }
  /** @returns a broadcast view of the given shape (-1 keeps a size) */
  expand(...shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  /** @returns the tensor tiled `reps` times along each dimension */
  repeat(...reps: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, reps));
  }
  /** @returns a copy reversed along `dims` */
  flip(...dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  /**
   * Python's `t[..., start:end:step, ...]` along one dimension (a view). Negative indices count from the end.
   * @param dim the dimension
   * @param start first index (default 0)
   * @param end one past the last index (default: the size)
   * @param step stride, >= 1
   */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    if (!Number.isInteger(step) || step < 1) throw invalidArg('slice', 'step', 'an integer >= 1', step);
    return new Tensor(native.slice(this.handle, dim, start, end ?? Number.MAX_SAFE_INTEGER, step));
  }
  /** @returns the slice at `index` along `dim`, without that dimension (a view) */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  /** @returns `length` elements from `start` along `dim` (a view) */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  /**
   * A view of this tensor's storage with the given sizes, strides and storage offset, as `torch.as_strided`:
   * element i of the view is storage element `offset + Σ i_d·stride[d]`. Zero and overlapping strides are allowed.
   * @param size the sizes
   * @param stride one stride per size, in elements
   * @param offset the storage offset, in elements (default 0)
   * @throws SnnkitError (INVALID_ARGUMENT) when the sizes, strides or offset are not non-negative integers of one
   *   length; (INDEX_OUT_OF_RANGE) when the view reaches past the storage
   * @example
   * tensor([1, 2, 3]).asStrided([2, 2], [1, 1]).toArray(); // [[1, 2], [2, 3]]
   */
  asStrided(size: number[], stride: number[], offset = 0): Tensor {
    const ints = (v: unknown): boolean => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (!ints(size)) throw invalidArg('asStrided', 'size', 'an array of non-negative integers', size);
    if (!ints(stride) || stride.length !== size.length) throw invalidArg('asStrided', 'stride', `${size.length} non-negative integers (one per size)`, stride);
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArg('asStrided', 'offset', 'a non-negative integer', offset);
    return new Tensor(native.asStrided(this.handle, size, stride, offset));
  }
  /** @param index int64 indices. @returns the entries at `index` along `dim` */
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  /** @param index int64 tensor of this rank. @returns out[i][j] = this[index[i][j]][j] (dim 0), as torch.gather */
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  /** @param mask bool tensor broadcastable to this. @returns a 1-D tensor of the selected elements */
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.handle, mask.handle));
  }
  /** @returns pieces of `size` along `dim` (the last may be smaller) */
  split(size: number, dim = 0): Tensor[] {
    return native.split(this.handle, size, dim).map((h) => new Tensor(h));
  }
  /**
   * Pads, as torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the last dimension.
   * @param pads e.g. [left, right, top, bottom]
   * @param mode 'constant' | 'reflect' | 'replicate'
   * @param value the fill value for 'constant'
   */
  pad(pads: readonly number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
    if (pads.length % 2 !== 0 || pads.length / 2 > this.ndim) throw invalidArg('pad', 'pads', `pairs for at most ${this.ndim} dims`, pads);
    return new Tensor(native.pad(this.handle, [...pads], mode, value));
  }
  /** @returns this converted to `dtype` (a copy unless it already has it) */
  to(dtype: DType): Tensor {
    return new Tensor(native.toDtype(this.handle, checkDType('to', dtype)));
  }
  /** @param device 'cpu' or 'cuda[:N]' (needs a CUDA libtorch). @returns this on `device` */
  toDevice(device: string): Tensor {
    return new Tensor(native.toDevice(this.handle, device));
  }
  /** @returns one-hot encoding of integer labels, int64 [..., numClasses] */
  oneHot(numClasses: number): Tensor {
    return new Tensor(native.oneHot(this.handle, numClasses));
  }

  // ---- elementwise -----------------------------------------------------------------------------------------------
  private bin(code: number, b: TensorOrScalar | boolean, alpha?: number): Tensor {
    return new Tensor(native.binary(code, this.handle, handleOf(b), bit(b, 2), alpha));
  }
  private un(code: number): Tensor {
    return new Tensor(native.unary(code, this.handle));
  }
  /** @returns this + alpha * b (broadcasting) */ add(b: TensorOrScalar, alpha?: number): Tensor { return this.bin(BinaryOp.add, b, alpha); }
  /** @returns this - alpha * b */ sub(b: TensorOrScalar, alpha?: number): Tensor { return this.bin(BinaryOp.sub, b, alpha); }
  /** @returns this * b */ mul(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.mul, b); }
  /** @returns this / b (true division) */ div(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.div, b); }
  /** @returns this ** b */ pow(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.pow, b); }
  /** @returns elementwise max(this, b) */ maximum(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.maximum, b); }
  /** @returns elementwise min(this, b) */ minimum(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.minimum, b); }
  /** @returns bool tensor this == b */ eq(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.eq, b); }
  /** @returns bool tensor this != b */ ne(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.ne, b); }
  /** @returns bool tensor this < b */ lt(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.lt, b); }
  /** @returns bool tensor this <= b */ le(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.le, b); }
  /** @returns bool tensor this > b */ gt(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.gt, b); }
  /** @returns bool tensor this >= b */ ge(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.ge, b); }
  /** @returns logical and */ logicalAnd(b: Tensor): Tensor { return this.bin(BinaryOp.logicalAnd, b); }
  /** @returns logical or */ logicalOr(b: Tensor): Tensor { return this.bin(BinaryOp.logicalOr, b); }
  /** @returns Python-style modulo */ remainder(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.remainder, b); }
  /** @returns floor(this / b) */ floorDivide(b: TensorOrScalar): Tensor { return this.bin(BinaryOp.floorDivide, b); }
  /** @returns -this */ neg(): Tensor { return this.un(UnaryOp.neg); }
  /** @returns |this| */ abs(): Tensor { return this.un(UnaryOp.abs); }
  /** @returns -1, 0 or 1 */ sign(): Tensor { return this.un(UnaryOp.sign); }
  /** @returns floor */ floor(): Tensor { return this.un(UnaryOp.floor); }
  /** @returns ceil */ ceil(): Tensor { return this.un(UnaryOp.ceil); }
  /** @returns round half to even (as PyTorch) */ round(): Tensor { return this.un(UnaryOp.round); }
  /** @returns truncation toward zero */ trunc(): Tensor { return this.un(UnaryOp.trunc); }
  /** @returns max(this, 0) */ relu(): Tensor { return this.un(UnaryOp.relu); }
  /** @returns 1 / (1 + exp(-this)) */ sigmoid(): Tensor { return this.un(UnaryOp.sigmoid); }
  /** @returns tanh */ tanh(): Tensor { return this.un(UnaryOp.tanh); }
  /** @returns exp */ exp(): Tensor { return this.un(UnaryOp.exp); }
  /** @returns natural log */ log(): Tensor { return this.un(UnaryOp.log); }
  /** @returns square root */ sqrt(): Tensor { return this.un(UnaryOp.sqrt); }
  /** @returns 1 / sqrt */ rsqrt(): Tensor { return this.un(UnaryOp.rsqrt); }
  /** @returns 1 / this */ reciprocal(): Tensor { return this.un(UnaryOp.reciprocal); }
  /** @returns this * this */ square(): Tensor { return this.un(UnaryOp.square); }
  /** @returns logical not */ logicalNot(): Tensor { return this.un(UnaryOp.logicalNot); }
  /** @returns sin */ sin(): Tensor { return this.un(UnaryOp.sin); }
  /** @returns cos */ cos(): Tensor { return this.un(UnaryOp.cos); }
  /** @returns log(1 + this) */ log1p(): Tensor { return this.un(UnaryOp.log1p); }
  /** @returns exp(this) - 1 */ expm1(): Tensor { return this.un(UnaryOp.expm1); }
  /** @returns the error function */ erf(): Tensor { return this.un(UnaryOp.erf); }
  /** @returns arctangent */ atan(): Tensor { return this.un(UnaryOp.atan); }
  /** @returns bool: NaN elements */ isnan(): Tensor { return this.un(UnaryOp.isnan); }
  /** @returns bool: finite elements */ isfinite(): Tensor { return this.un(UnaryOp.isfinite); }
  /**
   * Clamps to [min, max]; either bound may be omitted, and either may be a tensor.
   * @returns the clamped tensor
   */
  clamp(min?: TensorOrScalar, max?: TensorOrScalar): Tensor {
    if (min === undefined && max === undefined) throw new SnnkitError('clamp: give at least one of min and max');
    return new Tensor(native.clamp(this.handle, min === undefined ? undefined : handleOf(min), max === undefined ? undefined : handleOf(max), bit(min, 1) | bit(max, 2)));
  }

  // ---- in place (for optimizers and state updates; they bypass autograd checks only as PyTorch does) --------------
  /** this += alpha * b. @returns this */ add_(b: TensorOrScalar, alpha?: number): this { native.binaryInplace(BinaryOp.add, this.handle, handleOf(b), bit(b, 2), alpha); return this; }
  /** this -= alpha * b. @returns this */ sub_(b: TensorOrScalar, alpha?: number): this { native.binaryInplace(BinaryOp.sub, this.handle, handleOf(b), bit(b, 2), alpha); return this; }
  /** this *= b. @returns this */ mul_(b: TensorOrScalar): this { native.binaryInplace(BinaryOp.mul, this.handle, handleOf(b), bit(b, 2)); return this; }
  /** this /= b. @returns this */ div_(b: TensorOrScalar): this { native.binaryInplace(BinaryOp.div, this.handle, handleOf(b), bit(b, 2)); return this; }
  /** this = max(this, b). @returns this */ maximum_(b: TensorOrScalar): this { native.binaryInplace(BinaryOp.maximum, this.handle, handleOf(b), bit(b, 2)); return this; }
  /** this = min(this, b). @returns this */ minimum_(b: TensorOrScalar): this { native.binaryInplace(BinaryOp.minimum, this.handle, handleOf(b), bit(b, 2)); return this; }
  /** this = max(this, 0). @returns this */ relu_(): this { native.unaryInplace(UnaryOp.relu, this.handle); return this; }
  /** this = sqrt(this). @returns this */ sqrt_(): this { native.unaryInplace(UnaryOp.sqrt, this.handle); return this; }
  /** this = floor(this). @returns this */ floor_(): this { native.unaryInplace(UnaryOp.floor, this.handle); return this; }
  /** Clamp in place. @returns this */
  clamp_(min?: number, max?: number): this {
    native.clampInplace(this.handle, min, max);
    return this;
  }
  /** this += value * a * b. @returns this */ addcmul_(a: Tensor, b: Tensor, value = 1): this { native.addcmulInplace(this.handle, a.handle, b.handle, value); return this; }
  /** this += value * a / b. @returns this */ addcdiv_(a: Tensor, b: Tensor, value = 1): this { native.addcdivInplace(this.handle, a.handle, b.handle, value); return this; }
  /** this += weight * (end - this). @returns this */ lerp_(end: Tensor, weight: number): this { native.lerpInplace(this.handle, end.handle, weight); return this; }
  /** Copies src (broadcast) into this. @returns this */ copy_(src: Tensor): this { native.copyInplace(this.handle, src.handle); return this; }
  /** Fills with a value. @returns this */ fill_(v: number | boolean): this { native.fillInplace(this.handle, v); return this; }
  /** Fills with zeros. @returns this */ zero_(): this { native.zeroInplace(this.handle); return this; }

  // ---- reductions ------------------------------------------------------------------------------------------------
  /** @param dims dims to reduce (default all). @returns the sum */
  sum(dims?: number | readonly number[], keepdim = false): Tensor { return new Tensor(native.sum(this.handle, dimsArg(dims), keepdim)); }
  /** @returns the mean over `dims` (default all) */
  mean(dims?: number | readonly number[], keepdim = false): Tensor { return new Tensor(native.mean(this.handle, dimsArg(dims), keepdim)); }
  /** @returns the maximum over `dims` (default all) */
  amax(dims?: number | readonly number[], keepdim = false): Tensor { return new Tensor(native.amax(this.handle, dimsArg(dims), keepdim)); }
  /** @returns the minimum over `dims` (default all) */
  amin(dims?: number | readonly number[], keepdim = false): Tensor { return new Tensor(native.amin(this.handle, dimsArg(dims), keepdim)); }
  /** @returns the maximum of all elements */
  max(): Tensor;
  /** @returns values and indices of the maximum along `dim` */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amax();
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** @returns the minimum of all elements */
  min(): Tensor;
  /** @returns values and indices of the minimum along `dim` */
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amin();
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** @returns int64 index of the maximum along `dim` (or of the flattened tensor) */
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmax(this.handle, dim ?? null, keepdim)); }
  /** @returns int64 index of the minimum along `dim` (or of the flattened tensor) */
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmin(this.handle, dim ?? null, keepdim)); }
  /** @returns the variance over `dims` (unbiased by default, as PyTorch) */
  var(dims?: number | readonly number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.var(this.handle, dimsArg(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  /** @returns the standard deviation over `dims` (unbiased by default) */
  std(dims?: number | readonly number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.std(this.handle, dimsArg(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  /**
   * Quantiles, as torch.quantile.
   * @param q a probability in [0, 1], or a 1-D tensor of them
   * @param dim the dimension (default: the flattened tensor)
   * @param keepdim keep the reduced dimension
   * @param interpolation 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest'
   * @throws SnnkitError when q is outside [0, 1]
   */
  quantile(q: number | Tensor, dim?: number, keepdim = false, interpolation: 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest' = 'linear'): Tensor {
    if (typeof q === 'number' && !(q >= 0 && q <= 1)) throw invalidArg('quantile', 'q', 'a number in [0, 1]', q);
    return new Tensor(native.quantile(this.handle, handleOf(q) as number | TensorHandle, dim ?? null, keepdim, interpolation, bit(q, 1)));
  }
  /** @returns values and indices of the k-th smallest element (1-based) along `dim` */
  kthvalue(k: number, dim = -1, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.kthvalue(this.handle, k, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** @returns the k largest (or smallest) values and their indices along `dim` */
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest, sorted);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** @returns sorted values and their indices along `dim` */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** @returns the p-norm over `dims` (default all) */
  norm(p = 2, dims?: number | readonly number[], keepdim = false): Tensor { return new Tensor(native.norm(this.handle, p, dimsArg(dims), keepdim)); }
  /** @returns cumulative sum along `dim` */
  cumsum(dim: number): Tensor { return new Tensor(native.cumsum(this.handle, dim)); }
  /** @returns bool scalar: all elements true */
  all(): Tensor { return new Tensor(native.all(this.handle)); }
  /** @returns bool scalar: any element true */
  any(): Tensor { return new Tensor(native.any(this.handle)); }

  // ---- linear algebra --------------------------------------------------------------------------------------------
  /** @returns the matrix product (batched and broadcast as torch.matmul) */
  matmul(b: Tensor): Tensor { return new Tensor(native.matmul(this.handle, b.handle)); }

  // ---- autograd --------------------------------------------------------------------------------------------------
  /**
   * Replaces this tensor's data by `src`'s (PyTorch's `t.data = src`), keeping this object, its identity in modules
   * and optimizers, and its leaf status. Used to change a parameter's dtype in place.
   * @param src the new data (any shape and dtype)
   * @returns this
   */
  setData_(src: Tensor): this {
    native.setData(this.handle, src.handle);
    this.shape_ = undefined;
    return this;
  }
  /** @internal A fresh handle to this tensor's data, cut from the graph (for Parameter). */
  static detachedHandle(t: Tensor): TensorHandle {
    return native.detach(t.handle);
  }

  /** Whether gradients are recorded for this tensor. */
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  /** Turns gradient recording for this tensor on or off. */
  set requiresGrad(on: boolean) { native.setRequiresGrad(this.handle, on); }
  /** @returns this, after setting requiresGrad */
  requiresGrad_(on = true): this { native.setRequiresGrad(this.handle, on); return this; }
  /** True for tensors created by the user (not by an op that records gradients). */
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The accumulated gradient, or undefined. Each read returns a new handle to the same data. */
  get grad(): Tensor | undefined {
    const g = native.grad(this.handle);
    return g ? new Tensor(g) : undefined;
  }
  /** Replaces the accumulated gradient; undefined clears it. */
  set grad(g: Tensor | undefined) { native.setGrad(this.handle, g ? g.handle : null); }
  /** Keeps .grad on a non-leaf tensor after backward(). @returns this */
  retainGrad(): this { native.retainGrad(this.handle); return this; }
  /**
   * Back-propagates from this tensor, accumulating into the .grad of leaves that require grad.
   * @param gradient d(loss)/d(this); omit for a scalar
   * @param opts retainGraph: keep the graph for a second backward
   * @throws SnnkitError (NO_GRAD) when nothing requires grad; (SHAPE_MISMATCH) for a non-scalar without gradient
   */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, opts.retainGraph ?? false);
  }
}

