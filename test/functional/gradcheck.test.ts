// Every differentiable op, checked against central finite differences in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor, cat, stack, where, Generator, type Tensor } from '../../src/index.js';
import { gradcheck, leaf } from '../helpers.js';

const idx = (v: number[]) => tensor(v, { dtype: 'int64' });

test('gradients of elementwise ops', () => {
  const a = leaf([3, 4], 1), b = leaf([4], 2), pos = leaf([3, 4], 3, 0.3, 2);
  gradcheck((x, y) => x.add(y, 2), [a, b], { name: 'add' });
  gradcheck((x, y) => x.sub(y), [a, b], { name: 'sub' });
  gradcheck((x, y) => x.mul(y), [a, b], { name: 'mul' });
  gradcheck((x, y) => x.div(y), [a, pos], { name: 'div' });
  gradcheck((x, y) => y.pow(x), [a, pos], { name: 'pow(tensor)' });
  gradcheck((x) => x.pow(3), [a], { name: 'pow(scalar)' });
  gradcheck((x, y) => x.maximum(y), [a, b], { name: 'maximum' });
  gradcheck((x, y) => x.minimum(y), [a, b], { name: 'minimum' });
  gradcheck((x, y) => where(x.gt(0), x, y), [a, b], { name: 'where' });
  gradcheck((x) => x.clamp(-0.5, 0.7), [a], { name: 'clamp' });
  for (const f of ['sigmoid', 'tanh', 'exp', 'neg', 'square', 'sin', 'cos', 'erf', 'expm1'] as const)
    gradcheck((x) => x[f](), [a], { name: f });
  for (const f of ['log', 'sqrt', 'rsqrt', 'reciprocal', 'log1p'] as const) gradcheck((x) => x[f](), [pos], { name: f });
  gradcheck((x) => x.relu(), [a], { name: 'relu' });
  gradcheck((x) => x.abs(), [a], { name: 'abs' });
  // Piecewise-constant ops have zero gradient almost everywhere.
  for (const f of ['floor', 'ceil', 'round', 'sign', 'trunc'] as const) gradcheck((x) => x[f]().mul(x), [a], { name: f });
});

test('gradients of reductions', () => {
  const a = leaf([3, 4, 2], 4);
  gradcheck((x) => x.sum(), [a], { name: 'sum' });
  gradcheck((x) => x.sum([0, 2], true), [a], { name: 'sum dims' });
  gradcheck((x) => x.mean(1), [a], { name: 'mean' });
  gradcheck((x) => x.amax(1), [a], { name: 'amax' });
  gradcheck((x) => x.amin([0, 2]), [a], { name: 'amin' });
  gradcheck((x) => x.max(2).values, [a], { name: 'max(dim)' });
  gradcheck((x) => x.var(1), [a], { name: 'var' });
  gradcheck((x) => x.std([0, 1]), [a], { name: 'std' });
  gradcheck((x) => x.norm(2, 2), [a], { name: 'norm' });
  gradcheck((x) => x.cumsum(1), [a], { name: 'cumsum' });
  gradcheck((x) => x.quantile(0.3, 1), [a], { name: 'quantile' });
  gradcheck((x) => x.topk(2, 1).values, [a], { name: 'topk' });
});

test('gradients of shape and indexing ops', () => {
  const a = leaf([2, 3, 4], 5), b = leaf([2, 3, 4], 6);
  gradcheck((x) => x.reshape(6, 4), [a], { name: 'reshape' });
  gradcheck((x) => x.permute(2, 0, 1), [a], { name: 'permute' });
  gradcheck((x) => x.transpose(0, 2), [a], { name: 'transpose' });
  gradcheck((x) => x.slice(2, 1, 4, 2), [a], { name: 'slice' });
  gradcheck((x) => x.select(1, 2), [a], { name: 'select' });
  gradcheck((x) => x.indexSelect(2, idx([3, 0, 3])), [a], { name: 'indexSelect' });
  gradcheck((x) => x.gather(2, idx([0, 1, 3, 3, 2, 0]).reshape(1, 3, 2).expand(2, 3, 2).contiguous()), [a], { name: 'gather' });
  gradcheck((x, y) => cat([x, y], 1), [a, b], { name: 'cat' });
  gradcheck((x, y) => stack([x, y], 3), [a, b], { name: 'stack' });
  gradcheck((x) => x.pad([1, 2, 0, 1], 'constant', 3), [a], { name: 'pad' });
  gradcheck((x) => x.flatten(1), [a], { name: 'flatten' });
  gradcheck((x) => x.unsqueeze(1).expand(2, 5, 3, 4), [a], { name: 'expand' });
  gradcheck((x) => x.repeat(1, 2, 1), [a], { name: 'repeat' });
  gradcheck((x) => x.contiguous().asStrided([3, 4, 2], [2, 0, 1], 1), [a], { name: 'asStrided (overlapping, stride 0)' });
  gradcheck((x) => x.flip(0, 2), [a], { name: 'flip' });
  gradcheck((x) => x.matmul(b.transpose(1, 2)), [a], { name: 'matmul' });
});

test('gradients of convolution, pooling and linear layers', () => {
  const x = leaf([2, 4, 6, 5], 7), w = leaf([6, 2, 3, 3], 8, 0.5), w1 = leaf([6, 4, 3, 3], 14, 0.5), bias = leaf([6], 9);
  gradcheck((a, b, c) => F.conv2d(a, b, c, { stride: 2, padding: 1, groups: 2 }), [x, w, bias], { name: 'conv2d groups' });
  gradcheck((a, b) => F.conv2d(a, b, undefined, { padding: 2, dilation: 2 }), [x, w1], { name: 'conv2d dilation' });
  gradcheck((a) => F.avgPool2d(a, 2, { padding: 1 }), [x], { name: 'avgPool2d' });
  gradcheck((a) => F.maxPool2d(a, 2), [x], { name: 'maxPool2d' });
  // Pooling saves only the input's shape (and max pooling its indices) for backward: every option goes through it.
  gradcheck((a) => F.avgPool2d(a, [3, 2], { stride: [2, 1], ceilMode: true, countIncludePad: false }), [x], { name: 'avgPool2d ceil' });
  gradcheck((a) => F.avgPool2d(a, 2, { padding: 1, divisorOverride: 3 }), [x], { name: 'avgPool2d divisor' });
  gradcheck((a) => F.maxPool2d(a, 2, { stride: 1, padding: 1, dilation: 2, ceilMode: true }), [x], { name: 'maxPool2d dilation' });
  gradcheck((a) => F.adaptiveAvgPool2d(a, [2, 3]), [x], { name: 'adaptiveAvgPool2d' });
  const lx = leaf([3, 5], 10), lw = leaf([4, 5], 11), lb = leaf([4], 12);
  gradcheck((a, b, c) => F.linear(a, b, c), [lx, lw, lb], { name: 'linear' });
});

test('gradients of batch norm, dropout, softmax and losses', () => {
  const x = leaf([4, 3, 2, 2], 13), gamma = leaf([3], 14, 0.2, 1), beta = leaf([3], 15);
  gradcheck((a, g, b) => F.batchNorm(a, { weight: g, bias: b, training: true }), [x, gamma, beta], { name: 'batchNorm train' });
  const rm = tensor([0.1, -0.2, 0.3], { dtype: 'float64' }), rv = tensor([1.5, 0.5, 2], { dtype: 'float64' });
  gradcheck((a, g) => F.batchNorm(a, { weight: g, runningMean: rm, runningVar: rv }), [x, gamma], { name: 'batchNorm eval' });
  gradcheck((a) => F.dropout(a, 0.4, true, new Generator(3)), [x], { name: 'dropout' });
  const z = leaf([5, 4], 16);
  gradcheck((a) => F.softmax(a, 1), [z], { name: 'softmax' });
  gradcheck((a) => F.logSoftmax(a, 0), [z], { name: 'logSoftmax' });
  const y = idx([0, 3, 1, 1, 2]);
  gradcheck((a) => F.crossEntropy(a, y), [z], { name: 'crossEntropy' });
  gradcheck((a) => F.crossEntropy(a, y, { labelSmoothing: 0.2, reduction: 'none' }), [z], { name: 'crossEntropy smoothing' });
  const p = F.softmax(leaf([5, 4], 17).detach(), 1);
  gradcheck((a) => F.crossEntropy(a, p), [z], { name: 'crossEntropy probs' });
  gradcheck((a) => F.nllLoss(F.logSoftmax(a, 1), y), [z], { name: 'nllLoss' });
  const t = leaf([5, 4], 18);
  gradcheck((a, b) => F.mseLoss(a, b), [z, t], { name: 'mseLoss' });
});

test('gradcheck itself catches a wrong gradient', () => {
  // A function whose backward is deliberately wrong: detach() hides half of the dependence on x.
  const a = leaf([3], 19);
  assert.throws(() => gradcheck((x: Tensor) => x.mul(x.detach()), [a], { name: 'wrong' }), /wrong: input 0 element 0: autograd/);
});
