import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, arange, cat, stack, where, SnnkitError } from '../../src/index.js';
import { assertClose, errorOf } from '../helpers.js';

const x = () => tensor([[-1.5, 0, 2], [0.5, -2.5, 3]]);

test('broadcasting arithmetic with tensors and scalars', () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([10, 20, 30]);
  assert.deepEqual(a.add(b).toArray(), [[11, 22, 33], [14, 25, 36]]);
  assert.deepEqual(a.sub(b, 2).toArray(), [[-19, -38, -57], [-16, -35, -54]]);
  assert.deepEqual(a.mul(2).toArray(), [[2, 4, 6], [8, 10, 12]]);
  assertClose(a.div(b), [[0.1, 0.1, 0.1], [0.4, 0.25, 0.2]]);
  assert.deepEqual(a.pow(2).toArray(), [[1, 4, 9], [16, 25, 36]]);
  assert.deepEqual(a.maximum(3).toArray(), [[3, 3, 3], [4, 5, 6]]);
  assert.deepEqual(a.minimum(tensor([[2], [5]])).toArray(), [[1, 2, 2], [4, 5, 5]]);
  assert.deepEqual(tensor([-3, 3]).remainder(2).toArray(), [1, 1]);
  assert.deepEqual(tensor([-3, 3]).floorDivide(2).toArray(), [-2, 1]);
  assert.deepEqual(arange(3).add(1).toArray(), [1, 2, 3]);
  assert.equal(arange(3).add(1).dtype, 'int64');
  assert.equal(arange(3).mul(0.5).dtype, 'float32');
});

test('comparisons, logical ops and where', () => {
  const a = tensor([1, 2, 3]);
  assert.deepEqual(a.eq(2).toArray(), [false, true, false]);
  assert.deepEqual(a.ne(2).toArray(), [true, false, true]);
  assert.deepEqual(a.lt(2).toArray(), [true, false, false]);
  assert.deepEqual(a.le(2).toArray(), [true, true, false]);
  assert.deepEqual(a.gt(tensor([0, 5, 3])).toArray(), [true, false, false]);
  assert.deepEqual(a.ge(2).toArray(), [false, true, true]);
  assert.deepEqual(a.gt(1).logicalAnd(a.lt(3)).toArray(), [false, true, false]);
  assert.deepEqual(a.lt(2).logicalOr(a.gt(2)).toArray(), [true, false, true]);
  assert.deepEqual(a.gt(1).logicalNot().toArray(), [true, false, false]);
  assert.deepEqual(where(a.gt(1), a, tensor([0, 0, 0])).toArray(), [0, 2, 3]);
  assert.deepEqual(where(a.gt(1), 1, 0).toArray(), [0, 1, 1]);
});

test('unary functions against known values', () => {
  assert.deepEqual(x().floor().toArray(), [[-2, 0, 2], [0, -3, 3]]);
  assert.deepEqual(x().ceil().toArray(), [[-1, 0, 2], [1, -2, 3]]);
  // Round half to even, as PyTorch and IEEE 754.
  assert.deepEqual(tensor([0.5, 1.5, 2.5, -0.5, -1.5, 0.49]).round().toArray(), [0, 2, 2, -0, -2, 0]);
  assert.deepEqual(x().trunc().toArray(), [[-1, 0, 2], [0, -2, 3]]);
  assert.deepEqual(x().relu().toArray(), [[0, 0, 2], [0.5, 0, 3]]);
  assert.deepEqual(x().abs().toArray(), [[1.5, 0, 2], [0.5, 2.5, 3]]);
  assert.deepEqual(x().sign().toArray(), [[-1, 0, 1], [1, -1, 1]]);
  assert.deepEqual(x().neg().toArray(), [[1.5, -0, -2], [-0.5, 2.5, -3]]);
  const v = [-2, -0.5, 0, 0.5, 2];
  const t = tensor(v, { dtype: 'float64' });
  assertClose(t.sigmoid(), v.map((a) => 1 / (1 + Math.exp(-a))), 1e-12);
  assertClose(t.tanh(), v.map(Math.tanh), 1e-12);
  assertClose(t.exp(), v.map(Math.exp), 1e-12);
  assertClose(t.abs().add(1).log(), v.map((a) => Math.log(Math.abs(a) + 1)), 1e-12);
  assertClose(t.abs().sqrt(), v.map((a) => Math.sqrt(Math.abs(a))), 1e-12);
  assertClose(t.square(), v.map((a) => a * a), 1e-12);
  assertClose(t.sin(), v.map(Math.sin), 1e-12);
  assertClose(t.cos(), v.map(Math.cos), 1e-12);
  assertClose(t.log1p().isnan().logicalNot().toArray(), [false, true, true, true, true].map((b) => (b ? 1 : 0)));
  assertClose(tensor([4, 0.25]).rsqrt(), [0.5, 2]);
  assertClose(tensor([4, 0.25]).reciprocal(), [0.25, 4]);
  assertClose(t.erf(), [-0.9953222650189527, -0.5204998778130465, 0, 0.5204998778130465, 0.9953222650189527], 1e-12);
});

test('clamp with scalar and tensor bounds', () => {
  assert.deepEqual(x().clamp(-1, 1).toArray(), [[-1, 0, 1], [0.5, -1, 1]]);
  assert.deepEqual(x().clamp(0).toArray(), [[0, 0, 2], [0.5, 0, 3]]);
  assert.deepEqual(x().clamp(undefined, 0).toArray(), [[-1.5, 0, 0], [0, -2.5, 0]]);
  assert.deepEqual(x().clamp(tensor([0, 1, 0]), tensor([1, 1, 1])).toArray(), [[0, 1, 1], [0.5, 1, 1]]);
  assert.throws(() => x().clamp(), /clamp: give at least one of min and max/);
});

test('in-place ops modify the tensor and return it', () => {
  const t = tensor([1, 2, 3]);
  assert.equal(t.add_(1), t);
  assert.deepEqual(t.toArray(), [2, 3, 4]);
  t.mul_(2).sub_(tensor([1, 1, 1]), 2).div_(2);
  assert.deepEqual(t.toArray(), [1, 2, 3]);
  t.addcmul_(tensor([1, 1, 1]), tensor([2, 2, 2]), 0.5);
  assert.deepEqual(t.toArray(), [2, 3, 4]);
  t.addcdiv_(tensor([2, 2, 2]), tensor([4, 4, 4]), 2);
  assert.deepEqual(t.toArray(), [3, 4, 5]);
  t.lerp_(tensor([5, 5, 5]), 0.5);
  assert.deepEqual(t.toArray(), [4, 4.5, 5]);
  t.clamp_(4.2, 4.8).relu_();
  assertClose(t, [4.2, 4.5, 4.8]);
  t.maximum_(4.5).minimum_(tensor([4.6, 4.6, 4.6]));
  assertClose(t, [4.5, 4.5, 4.6]);
  t.fill_(9);
  assert.deepEqual(t.toArray(), [9, 9, 9]);
  t.copy_(tensor([1]));
  assert.deepEqual(t.toArray(), [1, 1, 1]);
  t.zero_();
  assert.deepEqual(t.toArray(), [0, 0, 0]);
  const f = tensor([1.7, 4]);
  f.floor_().sqrt_();
  assert.deepEqual(f.toArray(), [1, 2]);
});

test('reductions over all elements and over dims', () => {
  const a = tensor([[1, 5, 3], [4, 2, 6]]);
  assert.equal(a.sum().item(), 21);
  assert.deepEqual(a.sum(0).toArray(), [5, 7, 9]);
  assert.deepEqual(a.sum(1, true).toArray(), [[9], [12]]);
  assert.deepEqual(a.mean([0, 1]).item(), 3.5);
  assert.deepEqual(a.mean(0).toArray(), [2.5, 3.5, 4.5]);
  assert.equal(a.max().item(), 6);
  assert.equal(a.min().item(), 1);
  const m = a.max(1);
  assert.deepEqual([m.values.toArray(), m.indices.toArray()], [[5, 6], [1, 2]]);
  const n = a.min(0, true);
  assert.deepEqual([n.values.toArray(), n.indices.toArray()], [[[1, 2, 3]], [[0, 1, 0]]]);
  assert.deepEqual(a.amax(0).toArray(), [4, 5, 6]);
  assert.deepEqual(a.amin(1).toArray(), [1, 2]);
  assert.equal(a.argmax().item(), 5);
  assert.deepEqual(a.argmax(1).toArray(), [1, 2]);
  assert.deepEqual(a.argmin(0).toArray(), [0, 1, 0]);
  assertClose(tensor([1, 2, 3, 4]).var(), [1.6666666], 1e-6);
  assertClose(tensor([1, 2, 3, 4]).var(undefined, { unbiased: false }), [1.25]);
  assertClose(tensor([1, 2, 3, 4]).std(), [Math.sqrt(5 / 3)]);
  assertClose(tensor([3, 4]).norm(), [5]);
  assertClose(tensor([3, -4]).norm(1), [7]);
  assert.deepEqual(tensor([1, 2, 3]).cumsum(0).toArray(), [1, 3, 6]);
  assert.equal(tensor([1, 0]).gt(-1).all().item(), 1);
  assert.equal(tensor([1, 0]).gt(0).any().item(), 1);
  const tk = tensor([3, 1, 4, 1, 5]).topk(2);
  assert.deepEqual([tk.values.toArray(), tk.indices.toArray()], [[5, 4], [4, 2]]);
  const s = tensor([3, 1, 2]).sort(0, true);
  assert.deepEqual([s.values.toArray(), s.indices.toArray()], [[3, 2, 1], [0, 2, 1]]);
  assert.equal(tensor([3, 1, 4, 1, 5]).kthvalue(2).values.item(), 1);
});

test('quantile interpolates as torch.quantile', () => {
  const a = arange(0, 11, 1, { dtype: 'float32' }); // 0..10
  assert.equal(a.quantile(0.5).item(), 5);
  assertClose(a.quantile(0.999), [9.99], 1e-5);
  assertClose(a.quantile(0.25, 0, false, 'lower'), [2.5 - 0.5], 1e-6);
  assertClose(tensor([[1, 2], [3, 5]]).quantile(0.5, 1), [1.5, 4]);
  assertClose(a.quantile(tensor([0.1, 0.9])), [1, 9], 1e-5);
  assert.throws(() => a.quantile(1.5), /quantile: argument 'q' must be a number in \[0, 1\], got 1.5/);
});

test('matmul: vector, matrix and batched', () => {
  const A = tensor([[1, 2], [3, 4]]);
  assert.deepEqual(A.matmul(tensor([[5, 6], [7, 8]])).toArray(), [[19, 22], [43, 50]]);
  assert.deepEqual(A.matmul(tensor([1, 1])).toArray(), [3, 7]);
  const B = stack([A, A.mul(2)]);
  assert.deepEqual(B.matmul(tensor([[1], [0]])).toArray(), [[[1], [3]], [[2], [6]]]);
  assert.throws(() => A.matmul(tensor([[1, 2, 3]])), (e: SnnkitError) =>
    e.code === 'SHAPE_MISMATCH' && /^matmul: .*\(2x2 and 1x3\).*\(inputs: float32\[2,2\], float32\[1,3\]\)/.test(e.message));
});

test('views and shape ops', () => {
  const a = arange(6);
  assert.deepEqual(a.reshape(2, 3).toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(a.reshape(3, -1).shape, [3, 2]);
  assert.deepEqual(a.view(2, 3).transpose(0, 1).toArray(), [[0, 3], [1, 4], [2, 5]]);
  const p = a.reshape(1, 2, 3).permute(2, 0, 1);
  assert.deepEqual(p.shape, [3, 1, 2]);
  assert.equal(p.contiguous().view(6).toArray().toString(), '0,3,1,4,2,5');
  assert.deepEqual(a.reshape(2, 3).flatten().shape, [6]);
  assert.deepEqual(arange(24).reshape(2, 3, 4).flatten(1).shape, [2, 12]);
  assert.deepEqual(a.unsqueeze(0).shape, [1, 6]);
  assert.deepEqual(a.reshape(1, 6, 1).squeeze().shape, [6]);
  assert.deepEqual(a.reshape(1, 6, 1).squeeze(0).shape, [6, 1]);
  assert.deepEqual(tensor([[1], [2]]).expand(2, 3).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(tensor([1, 2]).repeat(2).toArray(), [1, 2, 1, 2]);
  assert.deepEqual(a.flip(0).toArray(), [5, 4, 3, 2, 1, 0]);
  assert.deepEqual(tensor([1, 2, 3]).to('int32').dtype, 'int32');
  assert.equal(a.reshape(2, 3).ndim, 2);
  assert.equal(a.size, 6);
});

test('slicing and indexing', () => {
  const a = arange(12).reshape(3, 4);
  assert.deepEqual(a.slice(1, 1, 3).toArray(), [[1, 2], [5, 6], [9, 10]]);
  assert.deepEqual(a.slice(0, -1).toArray(), [[8, 9, 10, 11]]);
  assert.deepEqual(a.slice(1, 0, undefined, 2).toArray(), [[0, 2], [4, 6], [8, 10]]);
  assert.deepEqual(a.select(0, 1).toArray(), [4, 5, 6, 7]);
  assert.deepEqual(a.narrow(1, 2, 2).toArray(), [[2, 3], [6, 7], [10, 11]]);
  assert.deepEqual(a.asStrided([2, 3], [1, 0], 4).toArray(), [[4, 4, 4], [5, 5, 5]]);
  assert.match(errorOf(() => a.asStrided([2], [1, 1])).message, /asStrided: argument 'stride' must be 1 non-negative integers \(one per size\)/);
  assert.match(errorOf(() => a.asStrided([13], [1])).message, /out of bounds for storage/); // libtorch checks the storage
  assert.deepEqual(a.indexSelect(0, tensor([2, 0], { dtype: 'int64' })).toArray(), [[8, 9, 10, 11], [0, 1, 2, 3]]);
  assert.deepEqual(a.gather(1, tensor([[0], [3], [1]], { dtype: 'int64' })).toArray(), [[0], [7], [9]]);
  assert.deepEqual(a.maskedSelect(a.gt(8)).toArray(), [9, 10, 11]);
  assert.deepEqual(a.split(2, 1).map((t) => t.shape), [[3, 2], [3, 2]]);
  assert.throws(() => a.slice(0, 0, 2, 0), /slice: argument 'step' must be an integer >= 1, got 0/);
  assert.throws(() => a.indexSelect(0, tensor([5], { dtype: 'int64' })), (e: SnnkitError) => e.code === 'INDEX_OUT_OF_RANGE' && /^indexSelect: /.test(e.message));
});

test('cat, stack and pad', () => {
  const a = tensor([[1, 2]]);
  const b = tensor([[3, 4]]);
  assert.deepEqual(cat([a, b]).toArray(), [[1, 2], [3, 4]]);
  assert.deepEqual(cat([a, b], 1).toArray(), [[1, 2, 3, 4]]);
  assert.deepEqual(stack([a, b]).shape, [2, 1, 2]);
  assert.deepEqual(stack([a, b], 2).toArray(), [[[1, 3], [2, 4]]]);
  assert.deepEqual(a.pad([1, 2]).toArray(), [[0, 1, 2, 0, 0]]);
  assert.deepEqual(a.pad([0, 0, 1, 0], 'constant', 9).toArray(), [[9, 9], [1, 2]]);
  const img = arange(4, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 2, 2);
  assert.deepEqual(img.pad([1, 1, 0, 0], 'replicate').toArray(), [[[[0, 0, 1, 1], [2, 2, 3, 3]]]]);
  assert.deepEqual(img.pad([1, 1, 0, 0], 'reflect').toArray(), [[[[1, 0, 1, 0], [3, 2, 3, 2]]]]);
  assert.throws(() => cat([]), /cat: argument 'tensors' must be a non-empty array of tensors, got \[\]/);
  assert.throws(() => cat([a, tensor([[1, 2, 3]])]), (e: SnnkitError) => e.code === 'SHAPE_MISMATCH' && /^cat: /.test(e.message));
  assert.throws(() => a.pad([1, 2, 3]), /pad: argument 'pads' must be pairs for at most 2 dims, got \[1, 2, 3\]/);
});

test('one-hot encoding', () => {
  assert.deepEqual(tensor([0, 2], { dtype: 'int64' }).oneHot(3).toArray(), [[1, 0, 0], [0, 0, 1]]);
});
