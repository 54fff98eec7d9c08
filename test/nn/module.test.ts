import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nn, tensor, randn, zeros, tidy, memory, Generator, SnnkitError, type Tensor } from '../../src/index.js';
import { assertClose, flat } from '../helpers.js';

class Net extends nn.Module {
  features = this.registerModule('features', new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.AvgPool2d(2)));
  head = this.registerModule('head', new nn.Linear(4 * 2 * 2, 3));
  forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x).flatten(1));
  }
}

test('parameter, buffer and module names follow PyTorch', () => {
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([n]) => n), [
    'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'head.weight', 'head.bias',
  ]);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked']);
  assert.deepEqual(Object.keys(tidy(() => net.stateDict())), [
    'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'features.1.running_mean',
    'features.1.running_var', 'features.1.num_batches_tracked', 'head.weight', 'head.bias',
  ]);
  assert.deepEqual(net.namedModules().map(([n]) => n), ['', 'features', 'features.0', 'features.1', 'features.2', 'features.3', 'head']);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  assert.match(net.toString(), /\(head\): Linear\(in=16, out=3, bias=true\)/);
});

test('state dict round trip restores outputs exactly', () => {
  const a = new Net(), b = new Net();
  const x = randn([2, 1, 4, 4], { generator: new Generator(1) });
  a.train();
  a.forward(x); // updates running stats, so buffers differ from b's
  a.eval();
  b.eval();
  const ya = a.forward(x);
  assert.notDeepEqual(flat(b.forward(x).toArray()), flat(ya.toArray()));
  const res = tidy(() => b.loadStateDict(a.stateDict()));
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(b.forward(x).toArray(), ya.toArray());
  assert.equal(b.namedBuffers()[2]![1].item(), 1);
});

test('strict loading reports missing, unexpected and mis-shaped keys', () => {
  const net = new Net();
  const sd = tidy(() => net.stateDict());
  delete sd['head.bias'];
  sd['extra.weight'] = zeros([1]);
  assert.throws(() => net.loadStateDict(sd), (e: SnnkitError) => e.code === 'STATE_DICT_MISMATCH' &&
    /loadStateDict: Net does not match the state dict: missing keys: head.bias\. unexpected keys: extra.weight/.test(e.message));
  assert.deepEqual(net.loadStateDict(sd, { strict: false }), { missingKeys: ['head.bias'], unexpectedKeys: ['extra.weight'] });
  sd['head.weight'] = zeros([3, 5]);
  assert.throws(() => net.loadStateDict(sd, { strict: false }), /shape mismatches: head.weight: checkpoint float32\[3,5\] vs model float32\[3,16\]/);
  const m = new Map<string, Tensor>(Object.entries(tidy(() => net.stateDict())));
  assert.deepEqual(net.loadStateDict(m), { missingKeys: [], unexpectedKeys: [] });
});

test('default initialisation follows PyTorch (kaiming uniform a=sqrt(5): bound 1/sqrt(fan_in))', () => {
  const conv = new nn.Conv2d(8, 16, 3, { generator: new Generator(0) });
  const bound = 1 / Math.sqrt(8 * 9);
  const w = flat(conv.weight.toArray());
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...w.map(Math.abs)) > 0.9 * bound, 'weights should fill the range');
  assert.ok(flat(conv.bias!.toArray()).every((v) => Math.abs(v) <= bound));
  const lin = new nn.Linear(100, 10, { bias: false });
  assert.equal(lin.bias, undefined);
  assert.ok(flat(lin.weight.toArray()).every((v) => Math.abs(v) <= 0.1));
  const same = (s: number) => flat(new nn.Linear(4, 4, { generator: new Generator(s) }).weight.toArray());
  assert.deepEqual(same(3), same(3));
  const bn = new nn.BatchNorm2d(5);
  assert.deepEqual([bn.weight!.toArray(), bn.bias!.toArray(), bn.runningVar!.toArray()], [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]);
});

test('train/eval switch dropout and batch norm behaviour', () => {
  const net = new nn.Sequential(new nn.Dropout(0.5), new nn.BatchNorm2d(2));
  const x = randn([4, 2, 3, 3], { generator: new Generator(2) });
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  const y1 = net.forward(x), y2 = net.forward(x);
  assert.deepEqual(y1.toArray(), y2.toArray());
  assertClose(y1, x.div(Math.sqrt(1 + 1e-5)), 1e-6); // running stats are 0/1 at start
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  assert.notDeepEqual(net.forward(x).toArray(), net.forward(x).toArray());
});

test('layers compute what their functional forms do', () => {
  const x = randn([2, 3, 8, 8], { generator: new Generator(4) });
  const conv = new nn.Conv2d(3, 5, [3, 2], { stride: 2, padding: [1, 0] });
  assert.deepEqual(conv.forward(x).shape, [2, 5, 4, 4]);
  assert.deepEqual(new nn.MaxPool2d(2).forward(x).shape, [2, 3, 4, 4]);
  assert.deepEqual(new nn.AvgPool2d(4).forward(x).shape, [2, 3, 2, 2]);
  assert.deepEqual(new nn.AdaptiveAvgPool2d(1).forward(x).shape, [2, 3, 1, 1]);
  assert.deepEqual(new nn.Flatten().forward(x).shape, [2, 192]);
  assert.deepEqual(new nn.Identity().forward(x).toArray(), x.toArray());
  assert.deepEqual(new nn.ReLU().forward(tensor([-1, 2])).toArray(), [0, 2]);
  const seq = new nn.Sequential({ a: new nn.Flatten(), b: new nn.Linear(192, 2) });
  assert.deepEqual(seq.namedParameters().map(([n]) => n), ['b.weight', 'b.bias']);
  assert.equal(seq.length, 2);
  assert.ok(seq.at(-1) instanceof nn.Linear);
});

test('to(float64) converts parameters in place, so fields and gradients keep working', () => {
  const lin = new nn.Linear(3, 2);
  const w = lin.weight;
  lin.to('float64');
  assert.equal(lin.weight, w);
  assert.equal(lin.weight.dtype, 'float64');
  assert.equal(lin.bias!.dtype, 'float64');
  lin.forward(randn([4, 3], { dtype: 'float64' })).sum().backward();
  assert.equal(lin.weight.grad!.dtype, 'float64');
  lin.zeroGrad();
  assert.equal(lin.weight.grad, undefined);
});

test('modules validate their constructor arguments', () => {
  assert.throws(() => new nn.Linear(0, 2), /Linear: argument 'inFeatures' must be a positive integer, got 0/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: argument 'groups' must be a divisor of inChannels \(3\) and outChannels \(4\), got 2/);
  assert.throws(() => new nn.Conv2d(3, 4, [3, 3, 3]), /Conv2d: argument 'kernelSize' must be an integer >= 1 or a pair/);
  assert.throws(() => new nn.BatchNorm2d(4, { momentum: 2 }), /BatchNorm2d: argument 'momentum' must be a number in \[0, 1\], got 2/);
  assert.throws(() => new nn.Dropout(-0.1), /Dropout: argument 'p' must be a probability in \[0, 1\], got -0.1/);
  assert.throws(() => new nn.BatchNorm2d(2).forward(zeros([2, 2])), /BatchNorm2d.forward: argument 'input' must be 4-D \[N, C, H, W\]/);
  assert.throws(() => new nn.Sequential(new nn.ReLU()).at(3), /Sequential.at: argument 'index' must be in \[-1, 1\), got 3/);
  class Bad extends nn.Module { forward(x: Tensor) { return x; } }
  assert.throws(() => new Bad().registerModule('a.b', new nn.ReLU()), /registerModule: argument 'name' must be a non-empty string without '.', got 'a.b'/);
});

test('dispose frees a module\'s parameters and buffers', () => {
  const before = memory().liveTensors;
  const net = new Net();
  assert.ok(memory().liveTensors > before);
  net.dispose();
  assert.equal(memory().liveTensors, before);
});
