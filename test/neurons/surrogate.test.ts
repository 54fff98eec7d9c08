// Each surrogate's native backward against its formula, and against the numerical derivative of its smooth primitive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linspace, tensor, tidy, surrogate as S, F } from '../../src/index.js';
import { native } from '../../src/native/load.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flat } from '../helpers.js';

const all = [S.rectangle({ a: 0.8 }), S.triangle({ gamma: 1 }), S.exponential({ k: 3 }), S.sigmoid({ k: 4 }), S.atan({ sharpness: 2 }), S.dspike({ b: 3 })];
const kinks: Record<string, number[]> = { rectangle: [-0.4, 0.4], triangle: [-1, 0, 1], exponential: [0], sigmoid: [], atan: [], dspike: [-0.5, 0.5] };

for (const s of all) {
  test(`surrogate ${s}: native g equals the formula and the derivative of the primitive`, () => tidy(() => {
    const x = linspace(-2, 2, 401, { dtype: 'float64' });
    const nativeG = flat(new Tensor(native.surrogateGrad(x.handle, S.SURROGATE_KIND[s.name], s.param)).toArray());
    const formula = flat(s.grad(x).toArray());
    const xs = flat(x.toArray());
    xs.forEach((xi, i) => assert.ok(Math.abs(nativeG[i]! - formula[i]!) < 1e-12, `${s} at ${xi}: native ${nativeG[i]} vs formula ${formula[i]}`));
    const h = 1e-6;
    const up = flat(s.primitive(x.add(h)).toArray()), down = flat(s.primitive(x.sub(h)).toArray());
    let checked = 0;
    xs.forEach((xi, i) => {
      if (kinks[s.name]!.some((k) => Math.abs(xi - k) < 1e-3)) return;
      const numeric = (up[i]! - down[i]!) / (2 * h);
      assert.ok(Math.abs(numeric - formula[i]!) < 1e-5, `${s} at ${xi}: d primitive/dx ${numeric} vs g ${formula[i]}`);
      checked++;
    });
    assert.ok(checked > 390);
    // The primitive is a smoothed step: 0 far left, 1 far right.
    assert.ok(flat(s.primitive(tensor([-1e7, 1e7], { dtype: 'float64' })).toArray()).every((v, i) => Math.abs(v - i) < 1e-6));
  }));

  test(`surrogate ${s}: the spike function is the true step forward and uses g backward`, () => tidy(() => {
    const x = tensor([-1, -0.3, -1e-9, 0, 0.2, 0.7], { dtype: 'float64' }).requiresGrad_(true);
    const y = F.spike(x, s);
    assert.deepEqual(y.toArray(), [0, 0, 0, 1, 1, 1]);
    const w = tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64' });
    y.mul(w).sum().backward();
    const expect = flat(s.grad(x.detach()).mul(w).toArray());
    flat(x.grad!.toArray()).forEach((g, i) => assert.ok(Math.abs(g - expect[i]!) < 1e-12, `element ${i}: ${g} vs ${expect[i]}`));
  }));
}

test('surrogate parameters are validated', () => {
  assert.throws(() => S.rectangle({ a: 0 }), /rectangle: argument 'a' must be a positive finite number, got 0/);
  assert.throws(() => S.triangle({ gamma: -1 }), /triangle: argument 'gamma' must be a positive finite number, got -1/);
  assert.throws(() => S.exponential({ k: Number.NaN }), /exponential: argument 'k' must be a positive finite number, got NaN/);
  assert.throws(() => S.sigmoid({ k: Infinity }), /sigmoid: argument 'k' must be a positive finite number, got Infinity/);
  assert.throws(() => S.atan({ sharpness: 0 }), /atan: argument 'sharpness' must be a positive finite number, got 0/);
  assert.throws(() => S.dspike({ b: -3 }), /dspike: argument 'b' must be a positive finite number, got -3/);
  assert.throws(() => native.spike(tensor([1]).handle, 42, 1), /unknown surrogate kind 42/);
});

test('Dspike tends to a straight line as b → 0 and to the step as b → ∞', () => tidy(() => {
  const x = tensor([-0.4, -0.1, 0.1, 0.4], { dtype: 'float64' });
  flat(S.dspike({ b: 1e-4 }).primitive(x).toArray()).forEach((v, i) => assert.ok(Math.abs(v - ([-0.4, -0.1, 0.1, 0.4][i]! + 0.5)) < 1e-6));
  assert.deepEqual(flat(S.dspike({ b: 200 }).primitive(x).toArray()).map((v) => Math.round(v * 1e6) / 1e6), [0, 0, 1, 1]);
}));
