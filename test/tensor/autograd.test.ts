import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, noGrad, enableGrad, isGradEnabled, zeros, SnnkitError } from '../../src/index.js';
import { assertClose } from '../helpers.js';

test('backward fills .grad of leaves and accumulates across calls', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  assert.equal(x.requiresGrad, true);
  assert.equal(x.isLeaf, true);
  assert.equal(x.grad, undefined);
  x.mul(x).sum().backward();
  assertClose(x.grad, [2, 4, 6]);
  x.mul(3).sum().backward();
  assertClose(x.grad, [5, 7, 9]);
  x.grad = undefined;
  assert.equal(x.grad, undefined);
  const y = x.mul(2);
  assert.equal(y.isLeaf, false);
  y.backward(tensor([1, 0, 1]));
  assertClose(x.grad, [2, 0, 2]);
});

test('retainGraph allows a second backward; retainGrad keeps non-leaf gradients', () => {
  const x = tensor([2], { requiresGrad: true });
  const y = x.pow(3).retainGrad();
  const l = y.mul(2).sum();
  l.backward(undefined, { retainGraph: true });
  l.backward();
  assertClose(x.grad, [48]);
  assertClose(y.grad, [4]);
});

test('noGrad stops recording and restores the mode, also after a throw', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true);
  noGrad(() => {
    assert.equal(isGradEnabled(), false);
    assert.equal(enableGrad(() => x.mul(2)).requiresGrad, true);
  });
});

test('detach cuts the graph; requiresGrad can be switched', () => {
  const x = tensor([1, 2], { requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  const z = zeros([2]);
  z.requiresGrad = true;
  assert.equal(z.requiresGrad, true);
  z.requiresGrad_(false);
  assert.equal(z.requiresGrad, false);
});

test('backward errors name the problem', () => {
  const x = tensor([1, 2]);
  assert.throws(() => x.sum().backward(), (e: SnnkitError) =>
    e instanceof SnnkitError && e.code === 'NO_GRAD' && /^backward: backward\(\) on a tensor that does not require grad/.test(e.message));
  const y = tensor([1, 2], { requiresGrad: true }).mul(2);
  assert.throws(() => y.backward(), (e: SnnkitError) => e.code === 'SHAPE_MISMATCH' && /needs a scalar output, got float32\[2\]/.test(e.message));
});
