// clipGradNorm / clipGradValue against PyTorch 1.13's clip_grad_norm_ / clip_grad_value_.
// Regenerate the fixture with: /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradNorm, clipGradValue } from '../../src/optim/index.js';
import { tensor, zeros } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertNear, fixtures, throwsMessage } from './helpers.js';

/** Two float64 parameters whose gradients are the fixture's G1 [2,3] and G2 [4]. */
function params(): Tensor[] {
  const [g1, g2] = fixtures.clip.grads;
  const p1 = zeros([2, 3], { dtype: 'float64', requiresGrad: true });
  const p2 = zeros([4], { dtype: 'float64', requiresGrad: true });
  p1.grad = tensor(g1, { dtype: 'float64' });
  p2.grad = tensor(g2, { dtype: 'float64' });
  return [p1, p2];
}
const grads = (ps: Tensor[]) => ps.map((p) => Array.from(p.grad!.toTypedArray() as Float64Array));

for (const c of fixtures.clip.norm) {
  test(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}): total norm and clipped grads match PyTorch`, () => {
    const ps = params();
    const total = clipGradNorm(ps, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
    assertNear(total, c.total);
    assertNear(grads(ps), c.grads);
  });
}

for (const c of fixtures.clip.value) {
  test(`clipGradValue(${c.clip}) matches PyTorch`, () => {
    const ps = params();
    clipGradValue(ps, c.clip);
    assertNear(grads(ps), c.grads, 0);
  });
}

test('clipping skips parameters without a gradient; no gradient at all gives a total norm of 0', () => {
  const bare = zeros([3], { requiresGrad: true });
  assert.equal(clipGradNorm([bare], 1), 0);
  clipGradValue([bare], 1);
  assert.equal(bare.grad, undefined);
  const ps = params();
  assertNear(clipGradNorm([...ps, bare], 1.0), fixtures.clip.norm[0]!.total);
});

test('clipGradNorm with errorIfNonfinite rejects a NaN or infinite norm', () => {
  const p = zeros([2], { dtype: 'float64', requiresGrad: true });
  p.grad = tensor([Infinity, 1], { dtype: 'float64' });
  throwsMessage(() => clipGradNorm([p], 1, 2, { errorIfNonfinite: true }), /^clipGradNorm: the total 2-norm of the gradients is Infinity; the gradients cannot be clipped \(errorIfNonfinite is set\)$/);
  assert.equal(clipGradNorm([p], 1), Infinity);
});

test('clipping arguments are validated with messages naming them', () => {
  const ps = params();
  throwsMessage(() => clipGradNorm(ps, -1), /^clipGradNorm: argument 'maxNorm' must be a number >= 0, got -1$/);
  throwsMessage(() => clipGradNorm(ps, 1, 0), /^clipGradNorm: argument 'normType' must be a number > 0 or Infinity, got 0$/);
  throwsMessage(() => clipGradNorm([ps[0]!, 'w' as never], 1), /^clipGradNorm: argument 'params\[1\]' must be a Tensor, got 'w'$/);
  throwsMessage(() => clipGradValue(ps, Number.NaN), /^clipGradValue: argument 'clipValue' must be a finite number >= 0, got NaN$/);
});
