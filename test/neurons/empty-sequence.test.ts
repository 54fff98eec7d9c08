// Regression tests of issue [2/8]: a sequence with T = 0 killed the process with SIGFPE (the kernels divide by T).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, neurons, zeros, full } from '../../src/index.js';
import { native } from '../../src/native/load.js';
import { errorOf } from '../helpers.js';

test('a sequence of zero time steps is a typed error, in the functions, the layers and the native kernels', () => {
  const empty = zeros([0, 4]);
  for (const fn of [() => F.neuronMultiStep(empty, undefined, {}), () => F.signedMultiStep(empty, undefined, undefined, {}),
    () => new neurons.IF({ stepMode: 'multi' }).forward(empty), () => new neurons.LIF({ stepMode: 'multi' }).forward(zeros([0, 2, 3])),
    () => new neurons.SignedIF({ stepMode: 'multi' }).forward(empty)]) {
    const e = errorOf(fn);
    assert.equal(e.code, 'SHAPE_MISMATCH');
    assert.match(e.message, /at least one time step, got float32\[0,/);
  }
  // The kernels themselves, called without the TypeScript checks.
  const one = full([], 1), half = full([], 0.5);
  assert.throws(() => native.neuronMultiStep(empty.handle, undefined, one.handle, half.handle, false, 0, false, false, 4, 2),
    /at least one time step \(T >= 1\)/);
  assert.throws(() => native.signedMultiStep(empty.handle, undefined, undefined, one.handle, false), /at least one time step \(T >= 1\)/);
  // An empty batch (N = 0) is fine: nothing to compute.
  assert.deepEqual(F.neuronMultiStep(zeros([3, 0, 2]), undefined, {}).spikes.shape, [3, 0, 2]);
});

test('clipFloor rejects a number of steps, a threshold or a shift it cannot use', () => {
  const x = zeros([2]);
  assert.match(errorOf(() => F.clipFloor(x, 0, 1)).message, /clipFloor: argument 'T' must be a positive integer, got 0/);
  assert.match(errorOf(() => F.clipFloor(x, 2.5, 1)).message, /'T' must be a positive integer/);
  assert.match(errorOf(() => F.clipFloor(x, 4, Number.NaN)).message, /'vTh' must be a positive finite number, got NaN/);
  assert.match(errorOf(() => F.clipFloor(x, 4, 1, Infinity)).message, /'shift' must be a finite number/);
  assert.deepEqual(F.clipFloor(full([1], 0.3), 4, 1, 0.5).toArray(), [0.25]);
});
