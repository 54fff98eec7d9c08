/**
 * ONNX import: a ModelProto becomes a GraphModule of ordinary snnkit modules (Conv2d, Linear, BatchNorm2d, ReLU,
 * ClippedReLU, pooling ...), in eval mode. The protobuf is decoded by protobufjs against the subset of the official
 * onnx.proto schema that import reads (field numbers are ONNX's, so any exporter's files decode). Constant subgraphs
 * (the pads a PyTorch exporter computes with ConstantOfShape/Concat/Transpose ...) are folded at load time.
 */
import fs from 'node:fs';
import protobuf from 'protobufjs';
import { SnnkitError } from '../errors.js';
import { GraphModule, type GraphNode, type TensorOp } from '../nn/graph.js';
import { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { allOrNothing } from '../tensor/scope.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { CONVERTERS, FOLDERS, foldNode, unsupported, type ConvertContext, type OnnxNode } from './onnx-ops.js';

/** Options of loadOnnx. */
export interface LoadOnnxOptions {
  /** Replace MaxPool by average pooling of the same window (max pooling is not rate-preserving for spikes). */
  substituteMaxPool?: boolean;
  /** Receives warnings (MaxPool kept or substituted). Default: none. */
  onWarning?: (msg: string) => void;
}

/** The oldest default-domain opset loadOnnx reads. */
export const MIN_ONNX_OPSET = 11;

// The messages and fields of onnx/onnx.proto that import reads, with ONNX's field numbers.
const SCHEMA = `syntax = "proto2"; package onnx;
message AttributeProto { optional string name = 1; optional int32 type = 20; optional float f = 2; optional int64 i = 3;
  optional bytes s = 4; optional TensorProto t = 5; repeated float floats = 7; repeated int64 ints = 8; repeated bytes strings = 9; }
message ValueInfoProto { optional string name = 1; optional string doc_string = 3; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4;
  optional string domain = 7; repeated AttributeProto attribute = 5; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto { optional int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8; optional string producer_name = 2;
  optional string producer_version = 3; optional GraphProto graph = 7; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true]; repeated int64 int64_data = 7 [packed = true]; optional string name = 8;
  optional bytes raw_data = 9; repeated double double_data = 10 [packed = true];
  repeated StringStringEntryProto external_data = 13; optional int32 data_location = 14; }`;

let root: protobuf.Root | undefined;
/**
 * The protobufjs Root of the ONNX schema subset that loadOnnx reads: `onnxSchema().lookupType('onnx.ModelProto')`
 * encodes models too (tests and tools build small models with it).
 * @returns the shared Root
 */
export function onnxSchema(): protobuf.Root {
  return (root ??= protobuf.parse(SCHEMA, { keepCase: false }).root);
}

/** ONNX TensorProto.DataType codes import reads, and the snnkit dtype of each. */
const DATA_TYPES: Record<number, { name: string; read: (raw: Uint8Array | undefined, t: TensorMsg) => ArrayBufferView }> = {
  1: { name: 'FLOAT', read: (raw, t) => (raw ? new Float32Array(copy(raw)) : Float32Array.from(t.floatData ?? [])) },
  6: { name: 'INT32', read: (raw, t) => (raw ? new Int32Array(copy(raw)) : Int32Array.from(t.int32Data ?? [])) },
  7: { name: 'INT64', read: (raw, t) => (raw ? new BigInt64Array(copy(raw)) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v)))) },
  11: { name: 'DOUBLE', read: (raw, t) => (raw ? new Float64Array(copy(raw)) : Float64Array.from(t.doubleData ?? [])) },
};
const copy = (b: Uint8Array): ArrayBuffer => Uint8Array.from(b).buffer; // aligned (a Buffer may not be), little-endian as ONNX stores it

interface TensorMsg {
  name?: string; dims?: string[]; dataType?: number; rawData?: Uint8Array; floatData?: number[]; int32Data?: number[];
  int64Data?: string[]; doubleData?: number[]; dataLocation?: number;
}
interface AttrMsg { name?: string; f?: number; i?: string; s?: Uint8Array; t?: TensorMsg; floats?: number[]; ints?: string[] }
interface NodeMsg { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttrMsg[] }
interface ModelMsg {
  irVersion?: string; opsetImport?: { domain?: string; version?: string }[];
  graph?: { node?: NodeMsg[]; initializer?: TensorMsg[]; input?: { name?: string }[]; output?: { name?: string }[] };
}

/**
 * Converts an ONNX TensorProto (decoded) to a tensor.
 * @throws SnnkitError (FILE_FORMAT) naming the file and tensor for external data, unsupported types or a wrong size
 */
export function onnxTensor(t: TensorMsg, file: string, what = `tensor '${t.name ?? ''}'`): Tensor {
  const fail = (msg: string): never => { throw new SnnkitError(`loadOnnx: ${file}: ${what} ${msg}`, 'FILE_FORMAT'); };
  if (t.dataLocation === 1)
    fail('stores its data in an external file; save the model with its data inside (onnx.save_model(m, path, save_as_external_data=False))');
  const type = DATA_TYPES[t.dataType ?? 0] ?? fail(`has data type ${t.dataType}; expected FLOAT (1), DOUBLE (11), INT64 (7) or INT32 (6)`);
  const shape = (t.dims ?? []).map(Number);
  let data: ArrayBufferView;
  try {
    data = type.read(t.rawData?.length ? t.rawData : undefined, t);
  } catch (e) {
    return fail(`has unreadable ${type.name} data (${(e as Error).message})`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if ((data as unknown as ArrayLike<number>).length !== n) fail(`has ${(data as unknown as ArrayLike<number>).length} elements for dims [${shape}] (${n} expected)`);
  return tensor(data, shape);
}

function decodeModel(bytes: Uint8Array, file: string): ModelMsg {
  const fail = (msg: string): never => { throw new SnnkitError(`loadOnnx: ${file} is not an ONNX model: ${msg}`, 'FILE_FORMAT'); };
  let msg: ModelMsg;
  try {
    const type = onnxSchema().lookupType('onnx.ModelProto');
    msg = type.toObject(type.decode(bytes), { longs: String, arrays: true, defaults: false }) as ModelMsg;
  } catch (e) {
    return fail(`protobuf decoding failed (${(e as Error).message}); truncated, or not an .onnx file?`);
  }
  if (!msg.graph || !msg.irVersion || !msg.opsetImport?.length) fail('no ModelProto found (expected ir_version, opset_import and graph)');
  if (!msg.graph!.node?.length) fail('the graph has no nodes');
  return msg;
}

/**
 * Imports an ONNX model as a GraphModule in eval mode. Opset 11 or newer; ops: Conv, Gemm, MatMul, Add, Mul,
 * BatchNormalization, Relu, Clip, AveragePool, GlobalAveragePool, MaxPool, Flatten, Reshape, Slice, Pad, Concat,
 * Identity, Dropout, Constant (and constant subgraphs of ConstantOfShape, Transpose, Cast, Unsqueeze, Squeeze, Shape).
 * Module nodes are named after their weight initializer (`linear.weight` → node `linear`) or the ONNX node name
 * (`/layer1/layer1.0/conv1/Conv` → `layer1_0_conv1`).
 * @param source a file path or the file's bytes
 * @param opts MaxPool substitution and a warning callback
 * @returns the network, in eval mode
 * @throws SnnkitError FILE_NOT_FOUND for a missing file; FILE_FORMAT naming the file when it is not an ONNX ModelProto,
 *   its opset is below 11, an initializer is external or of an unsupported type, or the graph has several inputs or
 *   outputs; UNSUPPORTED_OP naming the op type and node, and listing the supported ops
 * @example
 * const net = loadOnnx('resnet20.onnx', { onWarning: console.warn });
 * const logits = tidy(() => net.forward(x));
 */
export function loadOnnx(source: string | Uint8Array, opts: LoadOnnxOptions = {}): GraphModule {
  const file = typeof source === 'string' ? source : '<bytes>';
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = fs.readFileSync(source);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SnnkitError(`loadOnnx: file '${source}' does not exist`, 'FILE_NOT_FOUND');
      throw new SnnkitError(`loadOnnx: cannot read '${source}': ${(e as Error).message}`, 'IO_ERROR');
    }
  } else if (source instanceof Uint8Array) bytes = source;
  else throw new SnnkitError(`loadOnnx: argument 'source' must be a path or a Uint8Array, got ${typeof source}`);
  const model = decodeModel(bytes, file);
  const fmt = (msg: string): never => { throw new SnnkitError(`loadOnnx: ${file}: ${msg}`, 'FILE_FORMAT'); };
  const opsetEntry = model.opsetImport!.find((o) => !o.domain || o.domain === 'ai.onnx') ?? fmt('no opset_import for the default ONNX domain');
  const opset = Number(opsetEntry.version ?? 0);
  if (opset < MIN_ONNX_OPSET) fmt(`the model uses ONNX opset ${opset}; snnkit imports opset ${MIN_ONNX_OPSET} or newer (re-export it, e.g. torch.onnx.export(..., opset_version=13))`);
  // A folded constant may have as many elements as the file has bytes (at least 2^24): more is a hostile file.
  const maxFoldElements = Math.max(1 << 24, bytes.length);
  // allOrNothing: a file that fails halfway frees the constants and layers made before the error.
  return noGrad(() => allOrNothing(() => buildGraph(model.graph!, file, opset, opts, maxFoldElements)));
}

function buildGraph(g: NonNullable<ModelMsg['graph']>, file: string, opset: number, opts: LoadOnnxOptions, maxFoldElements: number): GraphModule {
  const constants = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) constants.set(t.name ?? '', onnxTensor(t, file, `initializer '${t.name ?? ''}'`).keep());
  const inputs = (g.input ?? []).map((v) => v.name ?? '').filter((n) => !constants.has(n));
  const outputs = (g.output ?? []).map((v) => v.name ?? '');
  if (inputs.length !== 1 || outputs.length !== 1)
    throw new SnnkitError(`loadOnnx: ${file}: the graph has inputs [${inputs.join(', ')}] and outputs [${outputs.join(', ')}]; a GraphModule has exactly one of each`, 'FILE_FORMAT');
  const nodes: OnnxNode[] = (g.node ?? []).map((n, k) => ({
    name: n.name || `${n.opType}_${k}`, opType: n.opType ?? '', domain: n.domain ?? '', inputs: n.input ?? [], outputs: n.output ?? [],
    attrs: new Map((n.attribute ?? []).map((a) => [a.name ?? '', a])),
  }));
  const readers = new Map<string, OnnxNode[]>();
  for (const n of nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);

  const inputName = sanitize(inputs[0]!, '', new Set()) || 'input';
  const used = new Set<string>([inputName]);
  const graphNodes: GraphNode[] = [];
  const bound = new Map<string, string>([[inputs[0]!, inputName]]);
  const skipped = new Set<OnnxNode>();
  const emit = (hint: string, op: Module | TensorOp, ins: readonly string[]): string => {
    const name = sanitize(hint, '', used);
    used.add(name);
    graphNodes.push({ name, op, inputs: ins.map(resolve) });
    return name;
  };
  const resolve = (value: string): string => {
    const b = bound.get(value);
    if (b !== undefined) return b;
    const c = constants.get(value);
    if (!c) throw new SnnkitError(`loadOnnx: ${file}: value '${value}' is read before any node produces it (the graph is not topologically sorted, or incomplete)`, 'FILE_FORMAT');
    const name = emit(value, { type: 'constant', value: c }, []);
    bound.set(value, name);
    return name;
  };
  const ctx: ConvertContext = {
    file, opset, opts, constants,
    readers: (v) => readers.get(v) ?? [],
    isOutput: (v) => outputs.includes(v),
    emit, bind: (v, name) => void bound.set(v, name), skip: (n) => void skipped.add(n),
    tensorOf: (t, what) => onnxTensor(t as TensorMsg, file, what),
    warn: (msg) => opts.onWarning?.(msg),
    maxFoldElements,
  };
  for (const n of nodes) {
    if (skipped.has(n)) continue;
    if (n.domain && n.domain !== 'ai.onnx') throw unsupported(n, file, `domain '${n.domain}'`);
    const live = n.inputs.filter((i) => i !== '');
    const fold = FOLDERS[n.opType];
    if (fold && (n.opType === 'Constant' || (live.length && live.every((i) => constants.has(i) && !bound.has(i))))) {
      const name = n.outputs[0] ?? '';
      if (constants.has(name)) throw new SnnkitError(`loadOnnx: ${file}: value '${name}' is produced twice (by node '${n.name}' and before it); ONNX graphs assign each value once`, 'FILE_FORMAT');
      constants.set(name, foldNode(n, ctx).keep());
      continue;
    }
    const convert = CONVERTERS[n.opType] ?? ((): never => { throw unsupported(n, file); });
    convert(n, ctx);
  }
  const output = outputs[0]!;
  const outName = bound.get(output) ?? emit(`${output}_out`, { type: 'identity' }, [output]);
  const graph = new GraphModule(inputName, graphNodes, outName).eval();
  const kept = new Set(graphNodes.map((n) => (n.op instanceof Module ? undefined : n.op.type === 'constant' ? n.op.value : undefined)));
  for (const t of constants.values()) if (!kept.has(t)) t.dispose();
  return graph;
}

/** '/layer1/layer1.0/Relu_1' → 'layer1_0_Relu_1'; 'linear.weight' → 'linear'; made unique against `used`. */
function sanitize(hint: string, opType: string, used: Set<string>): string {
  const segs = hint.replace(/\.weight$/, '').split('/').filter(Boolean);
  const kept = segs.filter((s, i) => !segs[i + 1]?.startsWith(`${s}.`));
  const base = kept.join('_').replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || opType || 'node';
  let name = base;
  for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
  return name;
}
