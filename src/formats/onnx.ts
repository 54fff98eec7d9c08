/**
 * The ONNX file format: the subset of the official onnx.proto schema that model import reads (field numbers are
 * ONNX's, so any exporter's files decode), decoded by protobufjs, and TensorProto → tensor. What the graph means is
 * src/models/onnx.ts's business.
 */
import protobuf from 'protobufjs';
import { SnnkitError } from '../errors.js';
import { readFileBytes } from './read.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

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
 * @example
 * const ModelProto = onnxSchema().lookupType('onnx.ModelProto');
 * const model = ModelProto.fromObject({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph });
 * const bytes = ModelProto.encode(model).finish();
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

/** A decoded ONNX TensorProto: name, dims, data type and data (int64 values as strings). */
export interface TensorMsg {
  name?: string; dims?: string[]; dataType?: number; rawData?: Uint8Array; floatData?: number[]; int32Data?: number[];
  int64Data?: string[]; doubleData?: number[]; dataLocation?: number;
}
/** A decoded ONNX AttributeProto of a node (int64 values as strings). */
export interface AttrMsg { name?: string; f?: number; i?: string; s?: Uint8Array; t?: TensorMsg; floats?: number[]; ints?: string[] }
/** A decoded ONNX NodeProto: one operator of the graph, with its inputs, outputs and attributes. */
export interface NodeMsg { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttrMsg[] }
/** A decoded ONNX ModelProto: IR version, opsets and the graph (nodes, initializers, inputs and outputs). */
export interface ModelMsg {
  irVersion?: string; opsetImport?: { domain?: string; version?: string }[];
  graph?: { node?: NodeMsg[]; initializer?: TensorMsg[]; input?: { name?: string }[]; output?: { name?: string }[] };
}

/**
 * Converts an ONNX TensorProto (decoded) to a tensor.
 * @throws SnnkitError (FILE_FORMAT) naming the file and tensor for external data, unsupported types or a wrong size
 * @example
 * const w = onnxTensor({ name: 'w', dims: ['2'], dataType: 1, floatData: [0.5, -1] }, 'model.onnx'); // float32 [2]
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

/**
 * Decodes an ONNX ModelProto (the subset of fields import reads).
 * @param file the file name, for messages
 * @throws SnnkitError (FILE_FORMAT) naming the file when the bytes are not a ModelProto with a graph and an opset
 * @example
 * const model = decodeOnnxModel(fs.readFileSync('resnet20.onnx'), 'resnet20.onnx');
 * console.log(model.graph!.node!.map((n) => n.opType));
 */
export function decodeOnnxModel(bytes: Uint8Array, file: string): ModelMsg {
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
 * Reads an ONNX file (or takes its bytes).
 * @returns the bytes and the name messages use
 * @throws SnnkitError FILE_NOT_FOUND / IO_ERROR naming the file, INVALID_ARGUMENT for a source of another type
 * @example
 * const { bytes, file } = readOnnxSource('resnet20.onnx'); // readOnnxSource(bytes) names the file '<bytes>'
 */
export function readOnnxSource(source: string | Uint8Array): { bytes: Uint8Array; file: string } {
  if (source instanceof Uint8Array) return { bytes: source, file: '<bytes>' };
  if (typeof source !== 'string') throw new SnnkitError(`loadOnnx: argument 'source' must be a path or a Uint8Array, got ${typeof source}`);
  return { bytes: readFileBytes('loadOnnx', source), file: source };
}
