// ONNX import: the shared ResNet-20 against the zoo model on real CIFAR-10 images, hand-built models per op, and
// every malformed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { assertClose, errorOf } from '../helpers.js';
import { Generator, SnnkitError, arange, cat, memory, noGrad, randn, tensor, tidy, F, type Tensor } from '../../src/index.js';
import { loadSafetensors, onnxSchema } from '../../src/formats/index.js';
import { loadOnnx } from '../../src/models/index.js';
import { AvgPool2d, ClippedReLU, Conv2d, GraphModule, Linear, MaxPool2d, ReLU, createModel } from '../../src/nn/index.js';
import { DataLoader, loadCifar10Binary, normalize } from '../../src/data/index.js';

const shared = [join(process.cwd(), '..', 'shared'), join(process.cwd(), 'shared')].find((d) => fs.existsSync(join(d, 'models'))) ?? '../shared';
const MODEL_DIR = join(shared, 'models/cifar10-resnet20');
const ONNX = join(MODEL_DIR, 'cifar10-resnet20.onnx');
const TEST_BIN = join(shared, 'data/cifar10-exact-subset/test_first1000.bin');

// ---- a tiny ONNX writer over the same protobuf schema --------------------------------------------------------------
type Attr = { name: string; i?: number; f?: number; ints?: number[]; s?: Uint8Array; t?: object };
const ModelProto = onnxSchema().lookupType('onnx.ModelProto');
const f32 = (name: string, dims: number[], v: number[]): object => ({ name, dims, dataType: 1, floatData: v });
const i64 = (name: string, dims: number[], v: number[]): object => ({ name, dims, dataType: 7, int64Data: v });
const node = (opType: string, name: string, input: string[], output: string[], attribute: Attr[] = []): object => ({ opType, name, input, output, attribute });
const str = (name: string, s: string): Attr => ({ name, s: Buffer.from(s) });
const constant = (out: string, t: object): object => node('Constant', out, [], [out], [{ name: 'value', t }]);
function onnx(nodes: object[], initializer: object[] = [], opset = 13): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject({
    irVersion: 7, opsetImport: [{ domain: '', version: opset }],
    graph: { node: nodes, initializer, input: [{ name: 'x' }], output: [{ name: 'y' }] },
  })).finish();
}
const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);
const rnd = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed) });
const ops = (g: GraphModule): string[] => g.nodes.map((n) => ('type' in n.op ? (n.op as { type: string }).type : n.op.constructor.name));

test('the shared ResNet-20 gives the zoo model\'s logits and top-1 predictions on real CIFAR-10 images', async () => {
  const g = loadOnnx(ONNX);
  assert.ok(g instanceof GraphModule && !g.training);
  assert.equal(g.inputName, 'input');
  assert.deepEqual(ops(g).filter((o) => o === 'Conv2d').length, 19);
  assert.ok(g.consumers('Relu').some((n) => ops(g)[g.nodes.indexOf(n)] === 'add'), 'the stem ReLU feeds the first residual Add');
  const zoo = createModel('cifar-resnet20').eval();
  const st = loadSafetensors(join(MODEL_DIR, 'cifar10-resnet20.safetensors'));
  zoo.loadStateDict(st.tensors);
  for (const t of Object.values(st.tensors)) t.dispose();
  const ds = loadCifar10Binary(TEST_BIN, 'test');
  const loader = new DataLoader(ds, { batchSize: 100, workers: 0, transforms: [normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])] });
  let seen = 0, agree = 0, correct = 0;
  for await (const b of loader.epoch(0)) {
    tidy(() => noGrad(() => {
      const a = g.forward(b.x), z = zoo.forward(b.x) as Tensor;
      if (seen === 0) assertClose(a.slice(0, 0, 8), z.slice(0, 0, 8), 1e-4, 0, 'logits of the first 8 images');
      const pa = a.argmax(1).toTypedArray(), pz = z.argmax(1).toTypedArray(), y = b.y.toTypedArray();
      for (let i = 0; i < pa.length; i++) { agree += Number(pa[i] === pz[i]); correct += Number(pa[i] === BigInt(y[i]!)); }
    }));
    seen += b.x.shape[0]!;
    b.dispose();
    if (seen >= 200) break;
  }
  await loader.close();
  assert.equal(seen, 200);
  assert.equal(agree, 200, 'top-1 predictions equal the zoo model\'s');
  assert.ok(correct >= 170, `accuracy on 200 test images ${correct}/200 (PyTorch: 91.5% on 1000)`);
  g.dispose();
  zoo.dispose();
});

test('Gemm (transB 1 and 0, alpha, beta) becomes a Linear named after its weight', () => {
  const x = rnd([2, 3], 1), w = rnd([4, 3], 2), c = rnd([4], 3);
  const init = [f32('fc.weight', [4, 3], values(w)), f32('fc.bias', [4], values(c))];
  const g = loadOnnx(onnx([node('Gemm', 'gemm', ['x', 'fc.weight', 'fc.bias'], ['y'], [{ name: 'transB', i: 1 }, { name: 'alpha', f: 2 }, { name: 'beta', f: 0.5 }])], init));
  assert.deepEqual(ops(g), ['Linear']);
  assert.deepEqual(Object.keys(g.stateDict()), ['fc.weight', 'fc.bias']);
  assertClose(g.forward(x), x.matmul(w.transpose(0, 1)).mul(2).add(c.mul(0.5)), 1e-5);
  const wt = w.transpose(0, 1).contiguous();
  const g2 = loadOnnx(onnx([node('Gemm', 'gemm', ['x', 'B'], ['y'])], [f32('B', [3, 4], values(wt))]));
  assertClose(g2.forward(x), x.matmul(wt), 1e-5);
});

test('MatMul + Add with an initializer bias folds into one Linear; MatMul of two activations stays a matmul', () => {
  const x = rnd([5, 3], 4), w = rnd([3, 2], 5), b = rnd([2], 6);
  const g = loadOnnx(onnx([node('MatMul', 'mm', ['x', 'W'], ['h']), node('Add', 'add', ['h', 'b'], ['y'])], [f32('W', [3, 2], values(w)), f32('b', [2], values(b))]));
  assert.deepEqual(ops(g), ['Linear']);
  assert.ok((g.nodes[0]!.op as Linear).bias);
  assertClose(g.forward(x), x.matmul(w).add(b), 1e-5);
  const g2 = loadOnnx(onnx([node('MatMul', 'mm', ['x', 'x'], ['y'])]));
  assert.deepEqual(ops(g2), ['matmul']);
  const sq = rnd([3, 3], 7);
  assertClose(g2.forward(sq), sq.matmul(sq), 1e-5);
});

test('Clip with min 0 becomes ClippedReLU(max) (bounds from Constant inputs), or ReLU without max', () => {
  const x = tensor([[-2, 0.5, 3, 9]]);
  const g = loadOnnx(onnx([constant('lo', f32('', [], [0])), constant('hi', f32('', [], [6])), node('Clip', 'relu6', ['x', 'lo', 'hi'], ['y'])]));
  assert.deepEqual(ops(g), ['ClippedReLU']);
  assert.equal((g.nodes[0]!.op as ClippedReLU).level(), 6);
  assert.deepEqual(g.forward(x).toArray(), [[0, 0.5, 3, 6]]);
  const r = loadOnnx(onnx([constant('lo', f32('', [], [0])), node('Clip', 'clip', ['x', 'lo'], ['y'])]));
  assert.ok(r.nodes[0]!.op instanceof ReLU);
  const e = errorOf(() => loadOnnx(onnx([constant('lo', f32('', [], [-1])), node('Clip', 'clip', ['x', 'lo'], ['y'])])));
  assert.match(e.message, /node 'clip' has op type 'Clip' \(min -1; expected min 0/);
});

test('MaxPool warns that it is not rate-preserving, and substituteMaxPool replaces it by average pooling', () => {
  const model = onnx([node('MaxPool', 'pool', ['x'], ['y'], [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [2, 2] }])]);
  const x = arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
  const warnings: string[] = [];
  const g = loadOnnx(model, { onWarning: (m) => warnings.push(m) });
  assert.ok(g.nodes[0]!.op instanceof MaxPool2d);
  assert.match(warnings[0]!, /MaxPool node 'pool': max pooling is not rate-preserving.*substituteMaxPool: true/);
  assert.deepEqual(g.forward(x).toArray(), [[[[5, 7], [13, 15]]]]);
  const s = loadOnnx(model, { substituteMaxPool: true, onWarning: (m) => warnings.push(m) });
  assert.ok(s.nodes[0]!.op instanceof AvgPool2d);
  assert.match(warnings[1]!, /replaced by average pooling/);
  assert.deepEqual(s.forward(x).toArray(), [[[[2.5, 4.5], [10.5, 12.5]]]]);
});

test('Reshape (0 and -1), Concat with a constant, Flatten (axis 0) and Slice with a negative step', () => {
  const x = arange(24).reshape(2, 3, 4);
  const c = [100, 101, 102, 103];
  const g = loadOnnx(onnx([
    node('Reshape', 'r', ['x', 'shape'], ['r']), node('Concat', 'cat', ['r', 'c'], ['k'], [{ name: 'axis', i: 1 }]),
    node('Slice', 's', ['k', 'st', 'en', 'ax', 'sp'], ['s']), node('Flatten', 'f', ['s'], ['y'], [{ name: 'axis', i: 0 }]),
  ], [i64('shape', [2], [0, -1]), f32('c', [2, 2], c), i64('st', [1], [-1]), i64('en', [1], [-1e15]), i64('ax', [1], [1]), i64('sp', [1], [-2])]));
  assert.deepEqual(ops(g), ['reshape', 'constant', 'concat', 'slice', 'flatten']);
  const k = cat([x.reshape(2, 12), tensor([[100, 101], [102, 103]])], 1);
  assert.deepEqual(g.forward(x).toArray(), k.flip(1).slice(1, 0, undefined, 2).reshape(1, 14).toArray());
});

test('Conv with asymmetric pads gets a Pad node before it; Pad mode edge replicates', () => {
  const x = rnd([1, 2, 5, 5], 8), w = rnd([3, 2, 3, 3], 9), b = rnd([3], 10);
  const g = loadOnnx(onnx([node('Conv', '/block/conv/Conv', ['x', 'block.conv.weight', 'b'], ['y'], [{ name: 'pads', ints: [0, 0, 1, 1] }, { name: 'strides', ints: [2, 2] }])],
    [f32('block.conv.weight', [3, 2, 3, 3], values(w)), f32('b', [3], values(b))]));
  assert.deepEqual(ops(g), ['pad', 'Conv2d']);
  assert.deepEqual(g.nodes.map((n) => n.name), ['block_conv_Conv_pad', 'block_conv']);
  assert.deepEqual((g.nodes[1]!.op as Conv2d).opts.padding, [0, 0]);
  assertClose(g.forward(x), F.conv2d(x.pad([0, 1, 0, 1]), w, b, { stride: 2 }), 1e-5);
  const p = loadOnnx(onnx([node('Pad', 'pad', ['x', 'pads'], ['y'], [str('mode', 'edge')])], [i64('pads', [6], [0, 0, 1, 0, 0, 2])]));
  assert.deepEqual(p.forward(tensor([[[1, 2]]])).toArray(), [[[1, 1, 2, 2, 2]]]);
});

test('malformed files: missing, truncated, random bytes, unsupported op, old opset, external data', () => {
  assert.equal(errorOf(() => loadOnnx('/nonexistent/model.onnx')).code, 'FILE_NOT_FOUND');
  const truncated = fs.readFileSync(ONNX).subarray(0, 5000);
  const e1 = errorOf(() => loadOnnx(truncated));
  assert.equal(e1.code, 'FILE_FORMAT');
  assert.match(e1.message, /<bytes> is not an ONNX model: protobuf decoding failed/);
  let seed = 12345;
  const random = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  assert.match(errorOf(() => loadOnnx(random)).message, /is not an ONNX model/);
  const lstm = errorOf(() => loadOnnx(onnx([node('LSTM', 'encoder_lstm', ['x', 'W', 'R'], ['y'])])));
  assert.equal(lstm.code, 'UNSUPPORTED_OP');
  assert.match(lstm.message, /node 'encoder_lstm' has op type 'LSTM'.*supported ops: .*BatchNormalization.*Conv/);
  const old = errorOf(() => loadOnnx(onnx([node('Relu', 'r', ['x'], ['y'])], [], 9)));
  assert.equal(old.code, 'FILE_FORMAT');
  assert.match(old.message, /opset 9; snnkit imports opset 11 or newer/);
  const ext = errorOf(() => loadOnnx(onnx([node('Add', 'a', ['x', 'w'], ['y'])], [{ name: 'w', dims: [1], dataType: 1, dataLocation: 1 }])));
  assert.match(ext.message, /initializer 'w' stores its data in an external file/);
  assert.ok(ext instanceof SnnkitError);
});

test('hostile constant folding is refused before allocating: ConstantOfShape, Pad, broadcasting Add, a long perm, a missing input', () => {
  const before = memory().liveTensors;
  const useC = node('Add', 'use', ['x', 'c'], ['y']);
  const cases: [string, Uint8Array, RegExp][] = [
    // 1.9 KB files that allocated 2.4 GB before
    ['ConstantOfShape', onnx([constant('s', i64('s', [2], [24000, 24000])), node('ConstantOfShape', 'big', ['s'], ['c']), useC]),
      /folding node 'big' \(ConstantOfShape\) would make a constant of 576000000 elements, more than the 16777216 a file of this size may fold to/],
    ['Pad', onnx([node('Pad', 'pad', ['v', 'p'], ['c']), useC], [f32('v', [1], [1]), i64('p', [2], [0, 600_000_000])]),
      /folding node 'pad' \(Pad\) would make a constant of 600000001 elements/],
    ['Add', onnx([node('Add', 'outer', ['u', 'v'], ['c']), useC], [f32('u', [5000, 1], Array(5000).fill(1)), f32('v', [1, 5000], Array(5000).fill(2))]),
      /folding node 'outer' \(Add\) would make a constant of 25000000 elements/],
    ['MatMul', onnx([node('MatMul', 'mm', ['u', 'v'], ['c']), useC], [f32('u', [5000, 1], Array(5000).fill(1)), f32('v', [1, 5000], Array(5000).fill(2))]),
      /folding node 'mm' \(MatMul\) would make a constant of 25000000 elements/],
    ['Transpose', onnx([node('Transpose', 'tr', ['v'], ['c'], [{ name: 'perm', ints: Array.from({ length: 200_000 }, (_, i) => i) }]), useC], [f32('v', [2, 2], [1, 2, 3, 4])]),
      /Transpose node 'tr' has perm \[0, 1, 2, 3, 4, 5, 6, 7, \.\.\. \(200000 items\)\]; expected a permutation of 0\.\.1/],
    ['missing input', onnx([node('Unsqueeze', 'unsq', ['', 'ax'], ['c']), useC], [i64('ax', [1], [0])]),
      /node 'unsq' \(Unsqueeze\) has no constant input 0 \(''\), which folding it needs/],
    ['SSA', onnx([constant('c', f32('c', [1], [1])), constant('c', f32('c', [1], [2])), useC]), /value 'c' is produced twice/],
  ];
  for (const [what, bytes, re] of cases) {
    const t0 = performance.now();
    const e = errorOf(() => loadOnnx(bytes));
    assert.equal(e.code, 'FILE_FORMAT', `${what}: ${e.message}`);
    assert.match(e.message, re, what);
    assert.ok(performance.now() - t0 < 1000, `${what} took ${performance.now() - t0} ms`);
    assert.equal(memory().liveTensors, before, `${what} leaked`);
  }
});

test('1 000 failed and 1 000 successful loads of a small model, and ResNet-20 loads failing at the last node, leak no tensor', () => {
  const layers = [
    node('Conv', '/c/Conv', ['x', 'c.weight', 'c.bias'], ['h'], [{ name: 'pads', ints: [1, 1, 1, 1] }]),
    node('BatchNormalization', '/bn/BN', ['h', 'bn.weight', 'bn.bias', 'bn.mean', 'bn.var'], ['b']), node('Relu', 'r', ['b'], ['a']),
    constant('pads', i64('pads', [8], [0, 0, 0, 0, 0, 0, 1, 1])), node('Pad', 'p', ['a', 'pads'], ['q']), node('Flatten', 'f', ['q'], ['z']),
  ];
  const inits = [f32('c.weight', [2, 1, 3, 3], Array(18).fill(0.1)), f32('c.bias', [2], [0, 1]),
    ...['weight', 'bias', 'mean', 'var'].map((k) => f32(`bn.${k}`, [2], [1, 0.5]))];
  const good = onnx([...layers, node('Identity', 'id', ['z'], ['y'])], inits);
  const bad = onnx([...layers, node('LSTM', 'late', ['z'], ['y'])], inits);
  const x = rnd([1, 1, 3, 3], 3);
  const before = memory().liveTensors;
  for (let i = 0; i < 1000; i++) {
    const g = loadOnnx(good);
    if (i === 0) assert.deepEqual(tidy(() => g.forward(x).shape), [1, 2 * 4 * 4]);
    g.dispose();
    assert.equal(errorOf(() => loadOnnx(bad)).code, 'UNSUPPORTED_OP');
  }
  assert.equal(memory().liveTensors, before);
  const msg = ModelProto.toObject(ModelProto.decode(fs.readFileSync(ONNX))) as { graph: { node: object[]; output: { name: string }[] } };
  msg.graph.node.push(node('LSTM', 'late', [msg.graph.output[0]!.name], ['late_out']));
  const lateFail = ModelProto.encode(ModelProto.fromObject(msg)).finish();
  for (let i = 0; i < 3; i++) {
    loadOnnx(ONNX).dispose();
    assert.match(errorOf(() => loadOnnx(lateFail)).message, /node 'late' has op type 'LSTM'/);
  }
  assert.equal(memory().liveTensors, before);
});
