/**
 * The ONNX op converters of loadOnnx: each turns one ONNX node into GraphModule nodes (snnkit modules where one exists,
 * built-in tensor ops otherwise), and FOLDERS evaluate nodes whose inputs are all constants at load time.
 */
import { SnnkitError, describeValue } from '../errors.js';
import { ClippedReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { runTensorOp, type TensorOp } from '../nn/graph.js';
import { AdaptiveAvgPool2d, AvgPool2d, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, ReLU } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { full, tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** A decoded AttributeProto (int64 fields as decimal strings). */
export interface OnnxAttr { name?: string; f?: number; i?: string; s?: Uint8Array; t?: object; floats?: number[]; ints?: string[] }
/** One ONNX node, as the converters see it. */
export interface OnnxNode {
  name: string; opType: string; domain: string; inputs: string[]; outputs: string[]; attrs: Map<string, OnnxAttr>;
}
/** What a converter may do: read constants and emit GraphModule nodes. */
export interface ConvertContext {
  file: string;
  opset: number;
  opts: { substituteMaxPool?: boolean };
  /** Initializers, Constant outputs and folded values, by ONNX value name. */
  constants: Map<string, Tensor>;
  /** @returns the ONNX nodes that read value `v` */
  readers(v: string): OnnxNode[];
  /** @returns whether `v` is the graph output */
  isOutput(v: string): boolean;
  /** Appends a graph node reading ONNX values `inputs`. @returns its (unique) graph node name */
  emit(hint: string, op: Module | TensorOp, inputs: readonly string[]): string;
  /** Makes ONNX value `v` refer to graph node `name`. */
  bind(v: string, name: string): void;
  /** Marks an ONNX node as already converted (absorbed by an earlier one). */
  skip(n: OnnxNode): void;
  /** Converts a TensorProto attribute value to a tensor. */
  tensorOf(t: object, what: string): Tensor;
  warn(msg: string): void;
  /** The most elements one folded constant may have (so a small file cannot make a huge allocation). */
  maxFoldElements: number;
}
type Converter = (n: OnnxNode, ctx: ConvertContext) => void;

/** @returns the UNSUPPORTED_OP error for node `n`, listing what loadOnnx supports */
export function unsupported(n: OnnxNode, file: string, why?: string): SnnkitError {
  return new SnnkitError(`loadOnnx: ${file}: node '${n.name}' has op type '${n.opType}'${why ? ` (${why})` : ''}, which snnkit cannot import; ` +
    `supported ops: ${Object.keys(CONVERTERS).sort().join(', ')} (and ${Object.keys(FOLDERS).filter((k) => !(k in CONVERTERS)).join(', ')} on constants)`, 'UNSUPPORTED_OP');
}

const int = (n: OnnxNode, k: string, d: number): number => (n.attrs.get(k)?.i !== undefined ? Number(n.attrs.get(k)!.i) : d);
const ints = (n: OnnxNode, k: string, d: number[]): number[] => n.attrs.get(k)?.ints?.map(Number) ?? d;
const float = (n: OnnxNode, k: string, d: number): number => n.attrs.get(k)?.f ?? d;
const str = (n: OnnxNode, k: string, d: string): string => { const s = n.attrs.get(k)?.s; return s?.length ? Buffer.from(s).toString('utf8') : d; };
const has = (n: OnnxNode, k: number): boolean => (n.inputs[k] ?? '') !== '';

/** The constant at input k, or undefined when the input is absent; an UNSUPPORTED_OP error when computed at run time. */
function constant(n: OnnxNode, ctx: ConvertContext, k: number, role: string): Tensor | undefined {
  if (!has(n, k)) return undefined;
  const t = ctx.constants.get(n.inputs[k]!);
  if (!t) throw unsupported(n, ctx.file, `its ${role} '${n.inputs[k]}' is computed at run time; expected an initializer or a Constant`);
  return t;
}
const need = (n: OnnxNode, ctx: ConvertContext, k: number, role: string): Tensor =>
  constant(n, ctx, k, role) ?? ((): never => { throw unsupported(n, ctx.file, `the ${role} input is missing`); })();
const numbers = (t: Tensor | undefined): number[] | undefined => (t ? Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number) : undefined);

/**
 * Layers with weights are named after a recognisable weight initializer ('linear.weight' → 'linear'), else after the
 * node without the op type the exporter appends ('/layer1/layer1.0/conv1/Conv' → 'layer1_0_conv1').
 */
const hint = (n: OnnxNode, weight?: string): string =>
  (weight && /\.weight$/.test(weight) && !weight.startsWith('onnx::') ? weight : n.name.endsWith(`/${n.opType}`) && n.name.length > n.opType.length + 1 ? n.name.slice(0, -n.opType.length - 1) : n.name);

function load(m: Module, sd: Record<string, Tensor | undefined>, n: OnnxNode, ctx: ConvertContext): void {
  const given = Object.fromEntries(Object.entries(sd).filter(([, t]) => t !== undefined)) as Record<string, Tensor>;
  try {
    m.loadStateDict(given);
  } catch (e) {
    throw new SnnkitError(`loadOnnx: ${ctx.file}: node '${n.name}' (${n.opType}): ${(e as Error).message}`, 'FILE_FORMAT');
  }
}
function out(n: OnnxNode, ctx: ConvertContext, op: Module | TensorOp, inputs: readonly string[], h = n.name): string {
  const name = ctx.emit(h, op, inputs);
  ctx.bind(n.outputs[0]!, name);
  return name;
}
function onlyFirstOutput(n: OnnxNode, ctx: ConvertContext, what: string): void {
  for (const o of n.outputs.slice(1)) if (o && (ctx.readers(o).length || ctx.isOutput(o))) throw unsupported(n, ctx.file, `its ${what} output '${o}' is used`);
}

/** 2-D spatial pads [top, left, bottom, right] of Conv and the pools; auto_pad NOTSET or VALID only. */
function spatial(n: OnnxNode, ctx: ConvertContext): { symmetric: boolean; padding: [number, number]; torch: number[] } {
  const auto = str(n, 'auto_pad', 'NOTSET');
  if (auto !== 'NOTSET' && auto !== 'VALID') throw unsupported(n, ctx.file, `auto_pad ${auto}; expected NOTSET or VALID (re-export with explicit pads)`);
  const k = ints(n, 'kernel_shape', [0, 0]);
  if (k.length !== 2) throw unsupported(n, ctx.file, `a ${k.length}-D kernel; expected a 2-D one`);
  const [t, l, b, r] = auto === 'VALID' ? [0, 0, 0, 0] : ints(n, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  return { symmetric: t === b && l === r, padding: [t, l], torch: [l, r, t, b] };
}
/** Emits an explicit Pad node before a layer with asymmetric pads. @returns the ONNX value name the layer reads */
function prePad(n: OnnxNode, ctx: ConvertContext, torch: number[], value: number): string {
  const v = `${n.outputs[0]}#pad`;
  ctx.bind(v, ctx.emit(`${n.name}_pad`, { type: 'pad', pads: torch, mode: 'constant', value }, [n.inputs[0]!]));
  return v;
}

function pool(n: OnnxNode, ctx: ConvertContext, kind: 'avg' | 'max'): void {
  const { symmetric, padding, torch } = spatial(n, ctx);
  const kernel = ints(n, 'kernel_shape', []) as [number, number];
  const stride = ints(n, 'strides', [1, 1]) as [number, number];
  const dilation = ints(n, 'dilations', [1, 1]) as [number, number];
  const ceilMode = int(n, 'ceil_mode', 0) === 1;
  let countIncludePad = int(n, 'count_include_pad', 0) === 1;
  let avg = kind === 'avg';
  if (!avg) {
    onlyFirstOutput(n, ctx, 'indices');
    avg = ctx.opts.substituteMaxPool ?? false;
    ctx.warn(`loadOnnx: ${ctx.file}: MaxPool node '${n.name}': max pooling is not rate-preserving for spiking neurons (the max of ` +
      `spike trains is not the spike train of the max); ${avg ? 'replaced by average pooling of the same window (substituteMaxPool)' : 'kept as MaxPool2d; pass substituteMaxPool: true to use average pooling'}`);
    countIncludePad = !symmetric;
  }
  if (avg && dilation.some((d) => d !== 1)) throw unsupported(n, ctx.file, `dilations [${dilation}] with average pooling; expected 1`);
  if (kind === 'avg' && !symmetric && !countIncludePad) throw unsupported(n, ctx.file, `asymmetric pads [${ints(n, 'pads', [])}] with count_include_pad 0`);
  const src = symmetric ? n.inputs[0]! : prePad(n, ctx, torch, avg ? 0 : -Infinity);
  const pad = symmetric ? padding : ([0, 0] as [number, number]);
  const m = avg ? new AvgPool2d(kernel, { stride, padding: pad, ceilMode, countIncludePad }) : new MaxPool2d(kernel, { stride, padding: pad, ceilMode, dilation });
  out(n, ctx, m, [src]);
}

function linear(n: OnnxNode, ctx: ConvertContext, w: Tensor, b: Tensor | undefined, h: string): string {
  const [outF, inF] = w.shape as [number, number];
  const m = new Linear(inF, outF, { bias: b !== undefined });
  load(m, { weight: w, bias: b?.reshape(-1).expand(outF) }, n, ctx);
  return out(n, ctx, m, [n.inputs[0]!], h);
}

/** The built-in op of Add, Mul, MatMul, Concat, Reshape, Flatten, Slice, Pad, Identity, Dropout (data inputs first). */
function tensorOp(n: OnnxNode, ctx: ConvertContext): { op: TensorOp; inputs: string[] } {
  const data = [n.inputs[0]!];
  switch (n.opType) {
    case 'Add': return { op: { type: 'add' }, inputs: n.inputs.slice(0, 2) };
    case 'Mul': return { op: { type: 'mul' }, inputs: n.inputs.slice(0, 2) };
    case 'MatMul': return { op: { type: 'matmul' }, inputs: n.inputs.slice(0, 2) };
    case 'Concat': return { op: { type: 'concat', axis: int(n, 'axis', 0) }, inputs: n.inputs.filter((i) => i !== '') };
    case 'Flatten': return { op: { type: 'flatten', axis: int(n, 'axis', 1) }, inputs: data };
    case 'Reshape': return { op: { type: 'reshape', shape: numbers(need(n, ctx, 1, 'shape'))!, allowZero: int(n, 'allowzero', 0) === 1 }, inputs: data };
    case 'Slice': {
      const starts = numbers(need(n, ctx, 1, 'starts'))!;
      const axes = numbers(constant(n, ctx, 3, 'axes')) ?? starts.map((_, i) => i);
      const steps = numbers(constant(n, ctx, 4, 'steps')) ?? starts.map(() => 1);
      return { op: { type: 'slice', starts, ends: numbers(need(n, ctx, 2, 'ends'))!, axes, steps }, inputs: data };
    }
    case 'Pad': {
      const mode = str(n, 'mode', 'constant');
      const torchMode = ({ constant: 'constant', reflect: 'reflect', edge: 'replicate' } as const)[mode as 'constant'];
      if (!torchMode) throw unsupported(n, ctx.file, `mode '${mode}'; expected constant, reflect or edge`);
      const p = numbers(need(n, ctx, 1, 'pads'))!;
      const r = p.length / 2;
      const axes = numbers(constant(n, ctx, 3, 'axes'));
      if (axes && axes.some((a) => a >= 0)) throw unsupported(n, ctx.file, `non-negative Pad axes [${axes}] (the input rank is not known at load time); expected negative axes`);
      // ONNX lists all begins then all ends, first axis first; torch lists (begin, end) pairs from the last axis.
      const dims = axes ? axes.map((a) => -a - 1) : Array.from({ length: r }, (_, i) => r - 1 - i);
      const torch: number[] = [];
      dims.forEach((d, i) => { torch[2 * d] = p[i]!; torch[2 * d + 1] = p[i + r]!; });
      for (let i = 0; i < torch.length; i++) torch[i] ??= 0;
      // Leading unpadded dims are dropped (torch's reflect/replicate pad at most the last 3 dims; kept at 2 for them).
      const keep = torchMode === 'constant' ? 2 : 4;
      while (torch.length > keep && torch[torch.length - 1] === 0 && torch[torch.length - 2] === 0) torch.length -= 2;
      const value = numbers(constant(n, ctx, 2, 'constant_value'))?.[0] ?? 0;
      return { op: { type: 'pad', pads: torch, mode: torchMode, value }, inputs: data };
    }
    default: return { op: { type: 'identity' }, inputs: data };
  }
}
const viaTensorOp: Converter = (n, ctx) => {
  const { op, inputs } = tensorOp(n, ctx);
  out(n, ctx, op, inputs);
};

const DTYPES: Record<number, DType> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };

/** Converters by ONNX op type. */
export const CONVERTERS: Record<string, Converter> = {
  Conv(n, ctx) {
    const w = need(n, ctx, 1, 'weight');
    if (w.ndim !== 4) throw unsupported(n, ctx.file, `a ${w.ndim - 2}-D convolution; expected a 2-D one (4-D weight)`);
    const b = constant(n, ctx, 2, 'bias');
    const groups = int(n, 'group', 1);
    const { symmetric, padding, torch } = spatial({ ...n, attrs: new Map([...n.attrs, ['kernel_shape', { ints: w.shape.slice(2).map(String) }]]) }, ctx);
    const [o, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
    const conv = new Conv2d(inPerGroup * groups, o, [kh, kw], {
      stride: ints(n, 'strides', [1, 1]) as [number, number], dilation: ints(n, 'dilations', [1, 1]) as [number, number],
      groups, padding: symmetric ? padding : 0, bias: b !== undefined,
    });
    load(conv, { weight: w, bias: b }, n, ctx);
    out(n, ctx, conv, [symmetric ? n.inputs[0]! : prePad(n, ctx, torch, 0)], hint(n, n.inputs[1]));
  },
  Gemm(n, ctx) {
    if (int(n, 'transA', 0) !== 0) throw unsupported(n, ctx.file, 'transA = 1; expected 0');
    const B = need(n, ctx, 1, 'B');
    const C = constant(n, ctx, 2, 'C');
    const alpha = float(n, 'alpha', 1), beta = float(n, 'beta', 1);
    let w = int(n, 'transB', 0) ? B : B.transpose(0, 1).contiguous();
    if (alpha !== 1) w = w.mul(alpha);
    linear(n, ctx, w, C && beta !== 1 ? C.mul(beta) : C, hint(n, n.inputs[1]));
  },
  MatMul(n, ctx) {
    const w = ctx.constants.get(n.inputs[1]!);
    if (!w || w.ndim !== 2) return viaTensorOp(n, ctx);
    // MatMul + Add(bias) as exported for nn.Linear: one Linear with a bias.
    const v = n.outputs[0]!;
    const add = ctx.readers(v).length === 1 && !ctx.isOutput(v) ? ctx.readers(v)[0] : undefined;
    const biasName = add?.opType === 'Add' ? add.inputs.find((i) => i !== v) : undefined;
    const bias = biasName !== undefined ? ctx.constants.get(biasName) : undefined;
    const fold = bias && bias.size === w.shape[1] && bias.shape.filter((d) => d !== 1).length <= 1;
    const name = linear(n, ctx, w.transpose(0, 1).contiguous(), fold ? bias : undefined, hint(n, n.inputs[1]));
    if (fold) {
      ctx.bind(add!.outputs[0]!, name);
      ctx.skip(add!);
    }
  },
  Add: viaTensorOp, Mul: viaTensorOp, Concat: viaTensorOp, Reshape: viaTensorOp, Slice: viaTensorOp, Pad: viaTensorOp,
  Flatten(n, ctx) {
    if (int(n, 'axis', 1) !== 1) return viaTensorOp(n, ctx);
    out(n, ctx, new Flatten(1, -1), [n.inputs[0]!]);
  },
  BatchNormalization(n, ctx) {
    if (int(n, 'training_mode', 0) !== 0) throw unsupported(n, ctx.file, 'training_mode = 1; expected an inference graph');
    onlyFirstOutput(n, ctx, 'training statistics');
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((k, i) => need(n, ctx, k, ['scale', 'B', 'input_mean', 'input_var'][i]!));
    const bn = new BatchNorm2d(mean!.size, { eps: float(n, 'epsilon', 1e-5), momentum: 1 - float(n, 'momentum', 0.9) });
    load(bn, { weight: scale, bias, running_mean: mean, running_var: variance }, n, ctx);
    out(n, ctx, bn, [n.inputs[0]!], hint(n, n.inputs[1]));
  },
  Relu: (n, ctx) => out(n, ctx, new ReLU(), [n.inputs[0]!]),
  Clip(n, ctx) {
    const lo = numbers(constant(n, ctx, 1, 'min'))?.[0] ?? (n.attrs.has('min') ? float(n, 'min', 0) : undefined);
    const hi = numbers(constant(n, ctx, 2, 'max'))?.[0] ?? (n.attrs.has('max') ? float(n, 'max', 0) : undefined);
    if (lo !== 0) throw unsupported(n, ctx.file, `min ${lo ?? '-inf'}; expected min 0 (a ReLU or clipped ReLU)`);
    if (hi !== undefined && !(hi > 0)) throw unsupported(n, ctx.file, `max ${hi}; expected a positive max`);
    out(n, ctx, hi === undefined || hi === Infinity ? new ReLU() : new ClippedReLU(hi), [n.inputs[0]!]);
  },
  AveragePool: (n, ctx) => pool(n, ctx, 'avg'),
  MaxPool: (n, ctx) => pool(n, ctx, 'max'),
  GlobalAveragePool: (n, ctx) => out(n, ctx, new AdaptiveAvgPool2d(1), [n.inputs[0]!]),
  Identity: (n, ctx) => out(n, ctx, new Identity(), [n.inputs[0]!]),
  Dropout(n, ctx) {
    onlyFirstOutput(n, ctx, 'mask');
    const ratio = numbers(constant(n, ctx, 1, 'ratio'))?.[0] ?? float(n, 'ratio', 0.5);
    out(n, ctx, new Dropout(ratio), [n.inputs[0]!]);
  },
};

function input(n: OnnxNode, ctx: ConvertContext, k = 0): Tensor {
  const t = ctx.constants.get(n.inputs[k] ?? '');
  if (!t) throw new SnnkitError(`loadOnnx: ${ctx.file}: node '${n.name}' (${n.opType}) has no constant input ${k} ('${n.inputs[k] ?? ''}'), which folding it needs`, 'FILE_FORMAT');
  return t;
}
const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** Numpy broadcasting of two shapes (sizes compared from the last dim; a size that is not 1 wins). */
const broadcast = (a: readonly number[], b: readonly number[]): number[] =>
  Array.from({ length: Math.max(a.length, b.length) }, (_, i) => {
    const x = a[a.length - 1 - i] ?? 1, y = b[b.length - 1 - i] ?? 1;
    return x === 1 ? y : x;
  }).reverse();

/**
 * The element count of a folded node's output, for the ops whose output can be much larger than their inputs
 * (ConstantOfShape, Pad, broadcasting Add/Mul, MatMul); undefined for the others, bounded by their inputs.
 */
function foldedElements(n: OnnxNode, ctx: ConvertContext): number | undefined {
  switch (n.opType) {
    case 'ConstantOfShape': return prod(numbers(input(n, ctx))!);
    case 'Add': case 'Mul': return prod(broadcast(input(n, ctx).shape, input(n, ctx, 1).shape));
    case 'MatMul': {
      const a = input(n, ctx).shape, b = input(n, ctx, 1).shape;
      return prod(broadcast(a.slice(0, -2), b.slice(0, -2))) * (a.length > 1 ? a[a.length - 2]! : 1) * (b.length > 1 ? b[b.length - 1]! : 1);
    }
    case 'Pad': {
      const op = tensorOp(n, ctx).op as unknown as { pads: number[] };
      const shape = [...input(n, ctx).shape];
      for (let i = 0; 2 * i < op.pads.length; i++) {
        const d = shape.length - 1 - i;
        if (d >= 0) shape[d]! += op.pads[2 * i]! + op.pads[2 * i + 1]!;
      }
      return prod(shape);
    }
    default: return undefined;
  }
}

/**
 * Folds a node whose inputs are all constants, after checking that its output stays within ctx.maxFoldElements.
 * @throws SnnkitError (FILE_FORMAT) naming the node when the output would be larger, or an input is missing
 */
export function foldNode(n: OnnxNode, ctx: ConvertContext): Tensor {
  const size = foldedElements(n, ctx);
  if (size !== undefined && !(size <= ctx.maxFoldElements)) {
    throw new SnnkitError(`loadOnnx: ${ctx.file}: folding node '${n.name}' (${n.opType}) would make a constant of ${size} elements, `
      + `more than the ${ctx.maxFoldElements} a file of this size may fold to`, 'FILE_FORMAT');
  }
  return FOLDERS[n.opType]!(n, ctx);
}
const fromTensorOp = (n: OnnxNode, ctx: ConvertContext): Tensor => {
  const { op, inputs } = tensorOp(n, ctx);
  return runTensorOp(op, inputs.map((i) => ctx.constants.get(i)!));
};
/** Load-time evaluation of nodes whose inputs are all constants, by ONNX op type. */
export const FOLDERS: Record<string, (n: OnnxNode, ctx: ConvertContext) => Tensor> = {
  Add: fromTensorOp, Mul: fromTensorOp, MatMul: fromTensorOp, Concat: fromTensorOp, Reshape: fromTensorOp, Flatten: fromTensorOp,
  Slice: fromTensorOp, Pad: fromTensorOp, Identity: fromTensorOp, Dropout: fromTensorOp,
  Constant(n, ctx) {
    const a = (k: string): OnnxAttr | undefined => n.attrs.get(k);
    if (a('value')?.t) return ctx.tensorOf(a('value')!.t!, `Constant node '${n.name}'`);
    if (a('value_float')) return tensor(float(n, 'value_float', 0));
    if (a('value_floats')) return tensor(a('value_floats')!.floats ?? []);
    if (a('value_int')) return tensor(BigInt64Array.from([BigInt(a('value_int')!.i ?? '0')]), []);
    if (a('value_ints')) return tensor(BigInt64Array.from((a('value_ints')!.ints ?? []).map((v) => BigInt(v))));
    throw unsupported(n, ctx.file, `attributes [${[...n.attrs.keys()]}]; expected value, value_float(s) or value_int(s)`);
  },
  ConstantOfShape(n, ctx) {
    const v = n.attrs.get('value')?.t ? ctx.tensorOf(n.attrs.get('value')!.t!, `ConstantOfShape node '${n.name}'`) : tensor([0]);
    const t = full(numbers(input(n, ctx))!, Number(v.toTypedArray()[0] ?? 0), { dtype: v.dtype });
    v.dispose();
    return t;
  },
  Transpose(n, ctx) {
    const x = input(n, ctx);
    const perm = ints(n, 'perm', x.shape.map((_, i) => x.ndim - 1 - i));
    if (perm.length !== x.ndim || new Set(perm).size !== x.ndim || !perm.every((p) => p >= 0 && p < x.ndim)) {
      throw new SnnkitError(`loadOnnx: ${ctx.file}: Transpose node '${n.name}' has perm ${describeValue(perm)}; expected a permutation of 0..${x.ndim - 1}`, 'FILE_FORMAT');
    }
    return x.permute(...perm).contiguous();
  },
  Cast(n, ctx) {
    const to = DTYPES[int(n, 'to', 0)] ?? ((): never => { throw unsupported(n, ctx.file, `cast to data type ${int(n, 'to', 0)}`); })();
    return input(n, ctx).to(to);
  },
  Shape: (n, ctx) => tensor(BigInt64Array.from(input(n, ctx).shape.map(BigInt))),
  Unsqueeze(n, ctx) {
    const x = input(n, ctx);
    const axes = numbers(constant(n, ctx, 1, 'axes')) ?? ints(n, 'axes', []);
    const rank = x.ndim + axes.length;
    let y = x.view(...x.shape);
    for (const a of axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q)) y = y.unsqueeze(a);
    return y;
  },
  Squeeze(n, ctx) {
    const x = input(n, ctx);
    const axes = numbers(constant(n, ctx, 1, 'axes')) ?? ints(n, 'axes', x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
    let y = x.view(...x.shape);
    for (const a of axes.map((a) => (a < 0 ? a + x.ndim : a)).sort((p, q) => q - p)) y = y.squeeze(a);
    return y;
  },
};
