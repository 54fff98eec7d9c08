/**
 * ONNX import: a ModelProto becomes a GraphModule of ordinary snnkit modules (Conv2d, Linear, BatchNorm2d, ReLU,
 * ClippedReLU, pooling ...), in eval mode; the file itself is decoded by src/formats/onnx.ts. Constant subgraphs
 * (the pads a PyTorch exporter computes with ConstantOfShape/Concat/Transpose ...) are folded at load time.
 */
import { SnnkitError } from '../errors.js';
import { GraphModule, type GraphNode, type TensorOp } from '../nn/graph.js';
import { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { allOrNothing } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeOnnxModel, onnxTensor, readOnnxSource, type ModelMsg, type TensorMsg } from '../formats/onnx.js';
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
  const { bytes, file } = readOnnxSource(source);
  const model = decodeOnnxModel(bytes, file);
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
