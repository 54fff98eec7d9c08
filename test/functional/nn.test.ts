import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor, rand, randn, Generator, ones, zeros, arange, memory, tidy, type Tensor } from '../../src/index.js';
import { assertClose, flat } from '../helpers.js';

/** Direct-loop reference convolution (cross-correlation), float64. */
function refConv2d(x: Tensor, w: Tensor, b: Tensor | undefined, s: number, p: number, d: number, g: number): number[] {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const xs = flat(x.toArray()), ws = flat(w.toArray()), bs = b ? flat(b.toArray()) : [];
  const Ho = Math.floor((H + 2 * p - d * (KH - 1) - 1) / s) + 1, Wo = Math.floor((W + 2 * p - d * (KW - 1) - 1) / s) + 1;
  const out: number[] = [];
  const og = O / g;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    let acc = b ? bs[o]! : 0;
    const grp = Math.floor(o / og);
    for (let c = 0; c < Cg; c++) for (let ki = 0; ki < KH; ki++) for (let kj = 0; kj < KW; kj++) {
      const yi = i * s - p + ki * d, xj = j * s - p + kj * d;
      if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
      acc += xs[((n * C + grp * Cg + c) * H + yi) * W + xj]! * ws[((o * Cg + c) * KH + ki) * KW + kj]!;
    }
    out.push(acc);
  }
  void C;
  return out;
}

test('conv2d matches a direct loop for stride, padding, dilation and groups', () => {
  const g = new Generator(3);
  const cases = [
    { s: 1, p: 0, d: 1, g: 1 }, { s: 2, p: 1, d: 1, g: 1 }, { s: 1, p: 2, d: 2, g: 1 }, { s: 1, p: 1, d: 1, g: 2 },
  ];
  for (const c of cases) {
    const x = randn([2, 4, 7, 6], { dtype: 'float64', generator: g });
    const w = randn([6, 4 / c.g, 3, 3], { dtype: 'float64', generator: g });
    const b = randn([6], { dtype: 'float64', generator: g });
    const y = F.conv2d(x, w, b, { stride: c.s, padding: c.p, dilation: c.d, groups: c.g });
    assertClose(flat(y.toArray()), refConv2d(x, w, b, c.s, c.p, c.d, c.g), 1e-10, 1e-10, JSON.stringify(c));
  }
  // A hand-computed case: a 3x3 box filter over 1..9 with padding 1.
  const img = arange(1, 10, 1, { dtype: 'float32' }).reshape(1, 1, 3, 3);
  const box = F.conv2d(img, ones([1, 1, 3, 3]), undefined, { padding: 1 });
  assert.deepEqual(box.toArray(), [[[[12, 21, 16], [27, 45, 33], [24, 39, 28]]]]);
});

test('conv2d and linear validate their arguments', () => {
  assert.throws(() => F.conv2d(zeros([3, 8, 8]), zeros([4, 3, 3, 3])), /conv2d: argument 'input' must be 4-D, got float32\[3,8,8\]/);
  assert.throws(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 3, 3, 3]), undefined, { stride: 0 }), /conv2d: argument 'stride' must be an integer >= 1 or a pair \[h, w\] of them, got 0/);
  assert.throws(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 3, 3, 3]), undefined, { groups: 0 }), /conv2d: argument 'groups' must be an integer >= 1, got 0/);
  assert.throws(() => F.linear(zeros([2, 5]), zeros([3, 4])), /linear: input float32\[2,5\] has 5 features but weight float32\[3,4\] expects 4/);
  assert.throws(() => F.conv2d(zeros([1, 3, 2, 2]), zeros([4, 3, 3, 3])), (e: Error & { code?: string }) =>
    e.code === 'SHAPE_MISMATCH' && /^conv2d: .*\(inputs: float32\[1,3,2,2\], float32\[4,3,3,3\]\)/.test(e.message));
});

test('linear computes x Wᵀ + b', () => {
  const y = F.linear(tensor([[1, 2]]), tensor([[1, 0], [0, 1], [1, 1]]), tensor([0, 10, 100]));
  assert.deepEqual(y.toArray(), [[1, 12, 103]]);
  assert.deepEqual(F.linear(tensor([[1, 2]]), tensor([[3, 4]])).toArray(), [[11]]);
});

test('pooling: average, max and adaptive', () => {
  const x = arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
  assert.deepEqual(F.avgPool2d(x, 2).toArray(), [[[[2.5, 4.5], [10.5, 12.5]]]]);
  assert.deepEqual(F.maxPool2d(x, 2).toArray(), [[[[5, 7], [13, 15]]]]);
  assert.deepEqual(F.maxPool2d(x, 3, { stride: 1 }).toArray(), [[[[10, 11], [14, 15]]]]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, 1).toArray(), [[[[7.5]]]]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, [2, 1]).toArray(), [[[[3.5], [11.5]]]]);
  // count_include_pad: true (PyTorch's default) divides by the full window.
  assertClose(F.avgPool2d(x, 2, { padding: 1 }).select(3, 0), [[[0, 12, 12]]].map((r) => r.map((c) => c.map((v) => v / 4))));
  assert.throws(() => F.avgPool2d(x, 0), /avgPool2d: argument 'kernel' must be an integer >= 1 or a pair \[h, w\] of them, got 0/);
});

test('batchNorm normalises with batch statistics and updates running ones like PyTorch', () => {
  const x = tensor([[[[1, 3]], [[10, 20]]], [[[5, 7]], [[30, 40]]]]); // N=2, C=2, 1x2
  const rm = zeros([2]), rv = ones([2]);
  const y = F.batchNorm(x, { runningMean: rm, runningVar: rv, training: true, momentum: 0.1, eps: 0 });
  // Channel 0: values 1,3,5,7: mean 4, biased var 5.
  assertClose(y.select(1, 0).flatten(), [1, 3, 5, 7].map((v) => (v - 4) / Math.sqrt(5)), 1e-5);
  // Running stats: mean 0.9*0 + 0.1*4; var uses the unbiased estimate (20/3).
  assertClose(rm, [0.4, 2.5], 1e-6);
  assertClose(rv, [0.9 + 0.1 * (20 / 3), 0.9 + 0.1 * (500 / 3)], 1e-5);
  const e = F.batchNorm(x, { runningMean: rm, runningVar: rv, weight: tensor([2, 1]), bias: tensor([1, 0]), eps: 0 });
  assertClose(e.select(1, 0).flatten(), [1, 3, 5, 7].map((v) => (2 * (v - 0.4)) / Math.sqrt(0.9 + 0.1 * (20 / 3)) + 1), 1e-5);
  assert.throws(() => F.batchNorm(x), /batchNorm: eval mode \(training: false\) needs runningMean and runningVar/);
});

test('dropout: identity when not training or p=0, scaled Bernoulli mask otherwise', () => {
  const x = ones([10000]);
  assert.deepEqual(F.dropout(x, 0.5, false).toArray(), x.toArray());
  assert.deepEqual(F.dropout(x, 0).toArray(), x.toArray());
  const y = flat(F.dropout(x, 0.3, true, new Generator(1)).toArray());
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6));
  const kept = y.filter((v) => v !== 0).length / y.length;
  assert.ok(Math.abs(kept - 0.7) < 0.02, `kept fraction ${kept}`);
  assert.deepEqual(F.dropout(x, 0.3, true, new Generator(5)).toArray(), F.dropout(x, 0.3, true, new Generator(5)).toArray());
  assert.throws(() => F.dropout(x, 1.5), /dropout: argument 'p' must be a probability in \[0, 1\], got 1.5/);
});

test('softmax and logSoftmax', () => {
  const z = tensor([[1, 2, 3], [0, 0, 1000]], { dtype: 'float64' });
  const e = [1, 2, 3].map(Math.exp);
  const s = e.reduce((a, b) => a + b);
  assertClose(F.softmax(z).select(0, 0), e.map((v) => v / s), 1e-12);
  assertClose(F.logSoftmax(z).select(0, 0), e.map((v) => Math.log(v / s)), 1e-12);
  assertClose(F.logSoftmax(z).select(0, 1), [-1000, -1000, 0], 1e-9); // stable for large logits
  assertClose(F.softmax(z, 0).sum(0), [1, 1, 1], 1e-12);
});

test('crossEntropy: indices, probabilities, label smoothing, weights; nll and mse', () => {
  const z = tensor([[2, 0, -1], [0.5, 1.5, 0]], { dtype: 'float64' });
  const y = tensor([0, 2], { dtype: 'int64' });
  const logp = (r: number[]) => { const m = Math.log(r.map(Math.exp).reduce((a, b) => a + b)); return r.map((v) => v - m); };
  const lp = [logp([2, 0, -1]), logp([0.5, 1.5, 0])];
  const ce = -(lp[0]![0]! + lp[1]![2]!) / 2;
  assertClose(F.crossEntropy(z, y), [ce], 1e-12);
  assertClose(F.crossEntropy(z, y, { reduction: 'sum' }), [2 * ce], 1e-12);
  assertClose(F.crossEntropy(z, y, { reduction: 'none' }), [-lp[0]![0]!, -lp[1]![2]!], 1e-12);
  // Label smoothing eps: target = (1-eps) one-hot + eps/C.
  const eps = 0.1;
  const smooth = lp.map((r, i) => -r.reduce((a, v, c) => a + v * ((c === [0, 2][i] ? 1 - eps : 0) + eps / 3), 0));
  assertClose(F.crossEntropy(z, y, { labelSmoothing: eps }), [(smooth[0]! + smooth[1]!) / 2], 1e-12);
  const probs = tensor([[1, 0, 0], [0, 0, 1]], { dtype: 'float64' });
  assertClose(F.crossEntropy(z, probs), [ce], 1e-12);
  const wce = -(2 * lp[0]![0]! + 0.5 * lp[1]![2]!) / 2.5;
  assertClose(F.crossEntropy(z, y, { weight: tensor([2, 1, 0.5], { dtype: 'float64' }) }), [wce], 1e-12);
  assertClose(F.nllLoss(F.logSoftmax(z), y), [ce], 1e-12);
  assertClose(F.mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0])), [13 / 3], 1e-6);
  assertClose(F.mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0]), { reduction: 'sum' }), [13], 1e-6);
  assert.throws(() => F.crossEntropy(z, tensor([0, 1, 2], { dtype: 'int64' })), /crossEntropy: class-index target int64\[3\] does not fit logits float64\[2,3\]/);
  assert.throws(() => F.crossEntropy(z, y, { reduction: 'avg' as never }), /crossEntropy: argument 'reduction' must be one of 'mean', 'sum', 'none', got 'avg'/);
  assert.throws(() => F.crossEntropy(z, y, { labelSmoothing: 2 }), /crossEntropy: argument 'labelSmoothing' must be a number in \[0, 1\], got 2/);
  assert.throws(() => F.mseLoss(zeros([2]), zeros([3])), /mseLoss: input float32\[2\] and target float32\[3\] must have the same shape/);
});

test('pooling keeps only the shape of its input for backward, so a consumed input is freed', () => {
  for (const pool of [(h: Tensor) => F.avgPool2d(h, 2), (h: Tensor) => F.maxPool2d(h, 2)]) {
    tidy(() => {
      const a = randn([8, 16, 32, 32], { generator: new Generator(1) }).requiresGrad_(true);
      const h = a.mul(2);  // an intermediate that only the pooling would keep (mul by a number saves nothing)
      const y = pool(h);
      const before = memory().allocatedBytes;
      h.dispose();
      assert.ok(before - memory().allocatedBytes >= h.size * 4, 'the input is freed once its handle is disposed');
      y.sum().backward();
      assertClose(a.grad!.sum(), y.size * 2, 1e-3);  // avg: each output spreads 1/4 four times; max: once
    });
  }
});

test('2x2 max pooling (own kernel) equals ATen\'s: values, winners among ties and NaN, gradients, odd sizes', () => {
  // ceilMode on even sizes pools the same windows but takes ATen's kernel: the reference.
  const aten = (h: Tensor) => F.maxPool2d(h, 2, { ceilMode: true });
  const g = new Generator(3);
  // float32 rows of 7 windows: four in vector registers, three in the scalar tail.
  const spikes = rand([3, 5, 8, 14], { generator: g }).lt(0.3).to('float32');  // binary: ties in most windows
  const mixed = randn([2, 4, 6, 10], { generator: g, dtype: 'float64' });
  const row = [NaN, 1, -Infinity, -Infinity, 0, 0, 5, NaN, 2, 2, 1, -1, NaN, NaN];
  const special = tensor([[row, [...row].reverse(), row.map((v) => -v), row.map((v, i) => (i % 3 ? v : 7))]]);
  for (const x of [spikes, mixed, special, mixed.to('float32').repeat(1, 1, 1, 2)]) {
    tidy(() => {
      const a = x.detach().requiresGrad_(true), b = x.detach().requiresGrad_(true);
      const ya = F.maxPool2d(a, 2), yb = aten(b);
      assert.deepEqual(ya.toArray(), yb.toArray());  // NaN equals NaN under deepStrictEqual
      const w = randn(ya.shape, { generator: g, dtype: x.dtype });
      ya.mul(w).sum().backward();
      yb.mul(w).sum().backward();
      assert.deepEqual(a.grad!.toArray(), b.grad!.toArray(), 'the gradient goes to the same winner');
    });
  }
  // Odd sizes (floor mode drops the last row and column): against the explicit windows.
  tidy(() => {
    const x = randn([2, 3, 7, 5], { generator: g, dtype: 'float64' }).requiresGrad_(true);
    const y = F.maxPool2d(x, 2);
    assert.deepEqual(y.shape, [2, 3, 3, 2]);
    assert.deepEqual(y.toArray(), aten(x.slice(2, 0, 6).slice(3, 0, 4)).toArray());
    y.sum().backward();
    assert.equal(x.grad!.slice(2, 6).abs().sum().item(), 0);
    assert.equal(x.grad!.slice(3, 4).abs().sum().item(), 0);
    assert.equal(x.grad!.sum().item(), y.size);
  });
});

test('2x2 average pooling (own kernel) equals ATen\'s: values and gradients, float32 and float64, odd sizes', () => {
  // A divisor override of 4 gives the same windows and divisor but takes ATen's kernel: the reference.
  const aten = (h: Tensor) => F.avgPool2d(h, 2, { divisorOverride: 4 });
  const g = new Generator(5);
  for (const x of [randn([3, 5, 8, 14], { generator: g }), randn([2, 3, 7, 9], { generator: g, dtype: 'float64' }), randn([4, 6, 11], { generator: g })]) {
    tidy(() => {
      const a = x.detach().requiresGrad_(true), b = x.detach().requiresGrad_(true);
      const ya = F.avgPool2d(a, 2), yb = aten(b);
      assert.deepEqual(ya.toArray(), yb.toArray(), 'the same sums in the same order');
      const w = randn(ya.shape, { generator: g, dtype: x.dtype });
      ya.mul(w).sum().backward();
      yb.mul(w).sum().backward();
      assert.deepEqual(a.grad!.toArray(), b.grad!.toArray());
    });
  }
});
