// The fused straight-through clipfloor (native/src/ops/clipfloor.cc) against the composition of ATen ops it replaced:
// values bit for bit in float32, gradients of z and of the threshold (one value, or one per channel) in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, randn, rand, tensor, setNumThreads, getNumThreads, tidy, type Tensor } from '../../src/index.js';
import { errorOf } from '../helpers.js';

/** The ten-op composition the quantize step used before the fused op: the specification. */
function reference(z: Tensor, T: number, V: number | Tensor, shift: number): Tensor {
  const u = z.mul(T).div(V).add(shift);
  const f = u.add(u.floor().sub(u).detach());
  return f.clamp(0, T).mul(V).div(T);
}

/** z ([N, C, H, W]) spread over the clip range and beyond, some on level boundaries exactly. */
function inputs(dtype: 'float32' | 'float64', shape: number[], seed: number): Tensor {
  return tidy(() => randn(shape, { dtype, generator: new Generator(seed) }).mul(2).add(0.5));
}

const maxDiff = (a: Tensor, b: Tensor): number => tidy(() => a.sub(b).abs().max().item());

test('clipFloorSte: the values of the composite in float32, bit for bit, with one threshold or one per channel; a number threshold too', () => {
  tidy(() => {
    const z = inputs('float32', [5, 3, 4, 6], 1);
    const perChannel = rand([3, 1, 1], { generator: new Generator(2) }).add(0.5);
    for (const [V, name] of [[rand([1], { generator: new Generator(3) }).add(0.5), 'one'], [perChannel, 'per channel'], [1.3, 'number']] as const)
      for (const [T, shift] of [[4, 0.5], [8, 0], [1, 0.5]] as const)
        assert.equal(maxDiff(F.clipFloorSte(z, T, V, shift), reference(z, T, V, shift)), 0, `${name}, T ${T}, shift ${shift}`);
    // the edges: levels hit exactly, far outside the range (beyond 32-bit integers), NaN kept
    const edge = tensor([[0, 0.25, 0.5, 0.75, 1, 1.25, -0.125, -1e20, 1e20, Number.NaN, -0, 3e9]]).reshape(1, 1, 12);
    const [got, want] = [F.clipFloorSte(edge, 4, 1, 0.5), reference(edge, 4, 1, 0.5)].map((t) => [...(t.toTypedArray() as Float32Array)]) as [number[], number[]];
    assert.deepEqual(got, want);
    assert.ok(Number.isNaN(got[9]));
    // a [N, F] input: one threshold per feature
    const z2 = inputs('float32', [7, 5], 4), v2 = rand([5], { generator: new Generator(5) }).add(0.5);
    assert.equal(maxDiff(F.clipFloorSte(z2, 4, v2, 0.5), reference(z2, 4, v2, 0.5)), 0, '[N, F]');
  });
});

test('clipFloorSte: gradients of z and of the threshold match the composite (float64), and do not depend on the thread count', () => {
  const threads = getNumThreads();
  try {
    for (const per of [false, true]) {
      const grads = [1, 2].map((n) => {
        setNumThreads(n);
        return tidy(() => {
          const z = inputs('float64', [6, 4, 3, 5], 6).requiresGrad_(true);
          const V = (per ? rand([4, 1, 1], { dtype: 'float64', generator: new Generator(7) }).add(0.5) : rand([1], { dtype: 'float64', generator: new Generator(8) }).add(0.5)).requiresGrad_(true);
          const w = randn([6, 4, 3, 5], { dtype: 'float64', generator: new Generator(9) });
          F.clipFloorSte(z, 4, V, 0.5).mul(w).sum().backward();
          const fused = [z.grad!.clone().keep(), V.grad!.clone().keep()];
          z.grad = undefined; V.grad = undefined;
          reference(z, 4, V, 0.5).mul(w).sum().backward();
          assert.ok(maxDiff(fused[0]!, z.grad!) < 1e-12, `z gradient (${per ? 'per channel' : 'one threshold'}, ${n} threads)`);
          const passed = tidy(() => fused[0]!.eq(w).logicalOr(fused[0]!.eq(0)).all().item());
          assert.ok(passed, 'the z gradient is the output gradient where the level is in range, else 0');
          assert.ok(maxDiff(fused[1]!, V.grad!) < 1e-12, `threshold gradient (${per ? 'per channel' : 'one threshold'}, ${n} threads): ${maxDiff(fused[1]!, V.grad!)}`);
          assert.deepEqual(fused[1]!.shape, V.shape);
          return fused[1]!;
        });
      });
      assert.equal(maxDiff(grads[0]!, grads[1]!), 0, 'the threshold gradient is the same on 1 and 2 threads');
      grads.forEach((g) => g.dispose());
    }
  } finally {
    setNumThreads(threads);
  }
});

test('clipFloorSte: bad arguments name what was expected', () => {
  tidy(() => {
    const z = inputs('float32', [2, 3, 4, 4], 10);
    assert.match(errorOf(() => F.clipFloorSte(z, 0, 1)).message, /clipFloorSte: argument 'T' must be a positive integer, got 0/);
    assert.match(errorOf(() => F.clipFloorSte(z, 4, -1)).message, /clipFloorSte: argument 'V' must be a positive finite number, got -1/);
    assert.match(errorOf(() => F.clipFloorSte(z, 4, 1, Number.NaN)).message, /clipFloorSte: argument 'shift' must be a finite number, got NaN/);
    assert.match(errorOf(() => F.clipFloorSte(z, 4, rand([2]))).message, /clipFloorSte: argument 'V' must be a tensor of 1 value or one per channel \(3\), got .*a tensor of 2 values/);
    assert.match(errorOf(() => F.clipFloorSte(z, 4, rand([3], { dtype: 'float64' }))).message, /clipFloorSte: z and V must be CPU tensors of one floating dtype/);
  });
});
