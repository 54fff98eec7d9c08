/**
 * Exactly what the addon (native/src/addon.cc) exports. Everything above this file is ordinary TypeScript.
 */

/**
 * One tensor in the addon's table: an integer (slot + generation). Only the Tensor class in src/tensor holds these;
 * an id of a disposed tensor is detected (DISPOSED), never reused by mistake.
 */
export type TensorHandle = number & { readonly __tensorId?: never };
/** A seeded CPU random generator (at::Generator). */
export interface GeneratorHandle {
  seed(): number;
  manualSeed(seed: number): void;
}

export type NativeDType = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
type H = TensorHandle;
type G = GeneratorHandle | undefined;
/** A tensor id or a scalar: which one is told by the `mask` argument (bit k = argument k is a tensor id). */
type TS = H | number | boolean;
type Dims = number[] | null;

export interface MemoryStats {
  liveTensors: number;
  liveBytes: number;
  allocator: 'caching' | 'tuned-malloc' | 'system';
  allocatedBytes: number;
  cachedBytes: number;
  peakBytes: number;
  cacheHits: number;
  cacheMisses: number;
}

/** Codes of `binary` / `binaryInplace` (native/src/ops/elementwise.cc, enum Binary). */
export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
  logicalAnd: 13, logicalOr: 14, remainder: 15, floorDivide: 16, atan2: 17,
} as const;
/** Codes of `unary` / `unaryInplace` (enum Unary). */
export const UnaryOp = {
  neg: 0, abs: 1, sign: 2, floor: 3, ceil: 4, round: 5, trunc: 6, relu: 7, sigmoid: 8, tanh: 9, exp: 10, log: 11,
  sqrt: 12, rsqrt: 13, reciprocal: 14, square: 15, logicalNot: 16, sin: 17, cos: 18, log1p: 19, expm1: 20, erf: 21,
  isnan: 22, isfinite: 23, atan: 24,
} as const;

export interface NativeBinding {
  dispose(t: H): boolean;
  isLive(t: H): boolean;
  GeneratorHandle: new (seed?: number) => GeneratorHandle;
  setErrorClass(cls: new (message: string, code: string) => Error): void;
  // creation
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: NativeDType): H;
  toBuffer(t: H): ArrayBuffer;
  item(t: H): number;
  zeros(shape: number[], dtype: NativeDType): H;
  ones(shape: number[], dtype: NativeDType): H;
  empty(shape: number[], dtype: NativeDType): H;
  full(shape: number[], value: number | boolean, dtype: NativeDType): H;
  zerosLike(t: H): H;
  onesLike(t: H): H;
  fullLike(t: H, value: number | boolean): H;
  arange(start: number, end: number, step: number, dtype: NativeDType): H;
  linspace(start: number, end: number, steps: number, dtype: NativeDType): H;
  eye(n: number, dtype: NativeDType): H;
  rand(shape: number[], dtype: NativeDType, gen: G): H;
  randn(shape: number[], dtype: NativeDType, gen: G): H;
  randint(low: number, high: number, shape: number[], dtype: NativeDType, gen: G): H;
  randperm(n: number, gen: G): H;
  bernoulli(p: H, gen: G): H;
  uniformInplace(t: H, low: number, high: number, gen: G): void;
  normalInplace(t: H, mean: number, std: number, gen: G): void;
  // metadata, views, indexing
  shape(t: H): number[];
  dtype(t: H): NativeDType;
  device(t: H): string;
  isContiguous(t: H): boolean;
  reshape(t: H, shape: number[]): H;
  view(t: H, shape: number[]): H;
  permute(t: H, dims: number[]): H;
  transpose(t: H, d0: number, d1: number): H;
  contiguous(t: H): H;
  clone(t: H): H;
  detach(t: H): H;
  flatten(t: H, start: number, end: number): H;
  unsqueeze(t: H, dim: number): H;
  squeeze(t: H, dim: number | undefined): H;
  expand(t: H, shape: number[]): H;
  repeat(t: H, reps: number[]): H;
  flip(t: H, dims: number[]): H;
  slice(t: H, dim: number, start: number, end: number, step: number): H;
  select(t: H, dim: number, index: number): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  asStrided(t: H, size: number[], stride: number[], offset: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  maskedSelect(t: H, mask: H): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  split(t: H, size: number, dim: number): H[];
  pad(t: H, pads: number[], mode: string, value: number): H;
  toDtype(t: H, dtype: NativeDType): H;
  toDevice(t: H, device: string): H;
  copyInplace(dst: H, src: H): void;
  fillInplace(t: H, value: number | boolean): void;
  zeroInplace(t: H): void;
  oneHot(t: H, numClasses: number): H;
  // elementwise
  binary(code: number, a: H, b: TS, mask: number, alpha?: number): H;
  binaryInplace(code: number, a: H, b: TS, mask: number, alpha?: number): void;
  unary(code: number, a: H): H;
  unaryInplace(code: number, a: H): void;
  where(cond: H, a: TS, b: TS, mask: number): H;
  clamp(t: H, min: TS | undefined, max: TS | undefined, mask: number): H;
  clampInplace(t: H, min: number | undefined, max: number | undefined): void;
  addcmulInplace(t: H, a: H, b: H, value: number): void;
  addcdivInplace(t: H, a: H, b: H, value: number): void;
  lerpInplace(t: H, end: H, weight: number): void;
  // reductions
  sum(t: H, dims: Dims, keepdim: boolean): H;
  mean(t: H, dims: Dims, keepdim: boolean): H;
  amax(t: H, dims: Dims, keepdim: boolean): H;
  amin(t: H, dims: Dims, keepdim: boolean): H;
  maxDim(t: H, dim: number, keepdim: boolean): [H, H];
  minDim(t: H, dim: number, keepdim: boolean): [H, H];
  argmax(t: H, dim: number | null, keepdim: boolean): H;
  argmin(t: H, dim: number | null, keepdim: boolean): H;
  var(t: H, dims: Dims, unbiased: boolean, keepdim: boolean): H;
  std(t: H, dims: Dims, unbiased: boolean, keepdim: boolean): H;
  quantile(t: H, q: number | H, dim: number | null, keepdim: boolean, interpolation: string, mask: number): H;
  kthvalue(t: H, k: number, dim: number, keepdim: boolean): [H, H];
  topk(t: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean): [H, H];
  norm(t: H, p: number, dims: Dims, keepdim: boolean): H;
  cumsum(t: H, dim: number): H;
  all(t: H): H;
  any(t: H): H;
  // nn
  matmul(a: H, b: H): H;
  linear(x: H, w: H, b: H | undefined): H;
  conv2d(x: H, w: H, b: H | undefined, stride: number[], padding: number[], dilation: number[], groups: number): H;
  avgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean, divisor: number | undefined): H;
  maxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  clipFloorSte(z: H, v: H, levels: number, shift: number): H;
  spikeConvPack(w: H): [H, H];
  spikeConv(src: H, q: H, scale: H, stride: number[], padding: number[], dst: H | undefined, accumulate: boolean): H;
  spikeConvInfo(geometry: number[]): string;
  spikeCountsU8(x: H, inv: H): H;
  adaptiveAvgPool2d(x: H, out: number[]): H;
  batchNorm(x: H, w: H | undefined, b: H | undefined, rm: H | undefined, rv: H | undefined, training: boolean, momentum: number, eps: number): H;
  dropout(x: H, p: number, training: boolean, gen: G): H;
  logSoftmax(x: H, dim: number): H;
  softmax(x: H, dim: number): H;
  crossEntropy(x: H, y: H, w: H | undefined, reduction: string, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(x: H, y: H, w: H | undefined, reduction: string, ignoreIndex: number): H;
  mseLoss(x: H, y: H, reduction: string): H;
  // autograd
  requiresGrad(t: H): boolean;
  setRequiresGrad(t: H, on: boolean): void;
  isLeaf(t: H): boolean;
  grad(t: H): H | undefined;
  setGrad(t: H, g: H | null): void;
  retainGrad(t: H): void;
  backward(t: H, grad: H | undefined, retainGraph: boolean): void;
  setData(t: H, src: H): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  // system
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  memory(): MemoryStats;
  emptyCache(): void;
  resetPeakMemory(): void;
  buildInfo(): { torchVersion: string; hasCuda: boolean; parallel: string };
  // optimizers
  adamStep(p: H, g: H, m: H, v: H, vmax: H | undefined, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
    decoupled: boolean, maximize: boolean, step: number): boolean;
  // neurons
  neuronMultiStep(x: H, v0: H | undefined, vth: H, alpha: H, hard: boolean, vReset: number, ampVth: boolean, detachReset: boolean, surrogate: number, param: number): [H, H];
  bnNeuronMultiStep(x: H, w: H | undefined, b: H | undefined, rm: H | undefined, rv: H | undefined, training: boolean, momentum: number, eps: number, T: number,
    v0: H | undefined, vth: H, alpha: H, hard: boolean, vReset: number, ampVth: boolean, detachReset: boolean, surrogate: number, param: number,
    repeated?: boolean): [H, H];
  signedMultiStep(x: H, v0: H | undefined, n0: H | undefined, vth: H, ampVth: boolean): [H, H, H];
  spike(x: H, surrogate: number, param: number): H;
  surrogateGrad(x: H, surrogate: number, param: number): H;
}
