import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, randperm, Generator, manualSeed, zerosLike,
  onesLike, fullLike, empty, DTYPES, SnnkitError,
} from '../../src/index.js';
import { assertClose, flat } from '../helpers.js';

test('tensor() from nested arrays infers the shape and defaults to float32', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(tensor(3.5).item(), 3.5);
  assert.deepEqual(tensor(3.5).shape, []);
  assert.deepEqual(tensor([true, false]).toArray(), [true, false]);
});

test('tensor() round-trips every dtype through typed arrays', () => {
  const cases: [string, ArrayBufferView][] = [
    ['float32', new Float32Array([1.5, -2, 3])],
    ['float64', new Float64Array([1e-300, -2, Math.PI])],
    ['int64', new BigInt64Array([1n, -(2n ** 40n), 3n])],
    ['int32', new Int32Array([1, -2, 2 ** 30])],
    ['uint8', new Uint8Array([0, 255, 7])],
  ];
  for (const [dtype, arr] of cases) {
    const t = tensor(arr);
    assert.equal(t.dtype, dtype);
    assert.deepEqual([...t.toTypedArray()], [...(arr as unknown as Iterable<number>)], dtype);
  }
  const b = tensor([1, 0, 2], { dtype: 'bool' });
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [true, false, true]);
  assert.deepEqual(tensor(new Float32Array(6), [2, 3]).shape, [2, 3]);
  assert.deepEqual(tensor([1.7, -2.2], { dtype: 'int32' }).toArray(), [1, -2]);
});

test('tensor() rejects ragged data, a wrong element count and unknown dtypes', () => {
  assert.throws(() => tensor([[1, 2], [3]]), /tensor: argument 'data' is ragged: expected 2 entries at depth 1/);
  assert.throws(() => tensor(new Float32Array(5), [2, 3]), (e: SnnkitError) => e.code === 'SHAPE_MISMATCH' && /5 elements cannot fill shape \[2,3\]/.test(e.message));
  assert.throws(() => zeros([2], { dtype: 'float16' as never }), /zeros: argument 'dtype' must be one of float32, float64, int64, int32, int8, uint8, bool, got 'float16'/);
  assert.throws(() => zeros([2, -1]), /zeros: argument 'shape' must be an array of non-negative integers, got \[2, -1\]/);
});

test('constant creation functions', () => {
  assert.deepEqual(zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.deepEqual(ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
  assert.deepEqual(full([2], 0.25).toArray(), [0.25, 0.25]);
  assert.equal(full([1], true).dtype, 'bool');
  assert.deepEqual(empty([4, 5]).shape, [4, 5]);
  const t = tensor([[1, 2]], { dtype: 'float64' });
  assert.deepEqual([zerosLike(t).toArray(), onesLike(t).toArray(), fullLike(t, 7).toArray()], [[[0, 0]], [[1, 1]], [[7, 7]]]);
  assert.equal(fullLike(t, 7).dtype, 'float64');
  for (const d of DTYPES) assert.equal(zeros([1], { dtype: d }).dtype, d);
});

test('ranges: arange, linspace, eye', () => {
  assert.deepEqual(arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.equal(arange(5).dtype, 'int64');
  assertClose(arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
  assert.equal(arange(0, 1, 0.25).dtype, 'float32');
  assertClose(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.throws(() => arange(0, 1, 0), /arange: argument 'step' must be a finite non-zero number, got 0/);
});

test('random numbers are reproducible per generator and per global seed', () => {
  const a = randn([100], { generator: new Generator(123) });
  const b = randn([100], { generator: new Generator(123) });
  const c = randn([100], { generator: new Generator(124) });
  assert.deepEqual(a.toArray(), b.toArray());
  assert.notDeepEqual(a.toArray(), c.toArray());
  manualSeed(5);
  const d = rand([50]);
  manualSeed(5);
  assert.deepEqual(rand([50]).toArray(), d.toArray());
  const g = new Generator(9);
  assert.equal(g.seed, 9);
  g.manualSeed(11);
  assert.equal(g.seed, 11);
});

test('random distributions have the right range and moments', () => {
  const g = new Generator(1);
  const u = flat(rand([20000], { generator: g }).toArray());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const mu = u.reduce((s, x) => s + x, 0) / u.length;
  assert.ok(Math.abs(mu - 0.5) < 0.01, `uniform mean ${mu}`);
  const n = randn([20000], { generator: g, dtype: 'float64' });
  assert.ok(Math.abs(n.mean().item()) < 0.03);
  assert.ok(Math.abs(n.std().item() - 1) < 0.03);
  const r = flat(randint(3, 7, [2000], { generator: g }).toArray());
  assert.ok(r.every((x) => Number.isInteger(x) && x >= 3 && x < 7));
  assert.deepEqual(new Set(r), new Set([3, 4, 5, 6]));
  const p = flat(randperm(10, { generator: g }).toArray());
  assert.deepEqual([...p].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => randint(3, 3, [2]), /randint: argument 'high' must be an integer > low \(3\), got 3/);
  assert.throws(() => new Generator(-1), /Generator: argument 'seed' must be a non-negative integer, got -1/);
});
