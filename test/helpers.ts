/** Test helpers: closeness assertions and a finite-difference gradient checker. */
import assert from 'node:assert/strict';
import { Generator, noGrad, randn, tensor, tidy, SnnkitError, type Tensor } from '../src/index.js';

/** Flattens nested arrays of numbers/booleans to numbers. */
export function flat(v: unknown): number[] {
  if (Array.isArray(v)) return v.flatMap(flat);
  return [Number(v)];
}

/** Asserts two tensors (or a tensor and nested numbers) agree elementwise within atol + rtol*|expected|. */
export function assertClose(actual: Tensor | unknown, expected: Tensor | unknown, atol = 1e-6, rtol = 1e-5, msg = ''): void {
  const a = flat(isTensor(actual) ? actual.toArray() : actual);
  const e = flat(isTensor(expected) ? expected.toArray() : expected);
  if (isTensor(actual) && isTensor(expected)) assert.deepEqual(actual.shape, expected.shape, `${msg} shape`);
  assert.equal(a.length, e.length, `${msg}: ${a.length} elements vs ${e.length} expected`);
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i]! - e[i]!) <= atol + rtol * Math.abs(e[i]!) || (Number.isNaN(a[i]) && Number.isNaN(e[i]));
    if (!ok) assert.fail(`${msg} element ${i}: got ${a[i]}, expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'handle' in v && 'toArray' in v;
}

/**
 * Checks the autograd gradients of `fn` against central finite differences, in float64.
 * The scalar checked is sum(fn(inputs) * W) for a fixed random W, so every output element contributes.
 * @param fn the function under test
 * @param inputs float64 inputs; those with requiresGrad are checked
 * @returns the largest absolute error found
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; atol?: number; rtol?: number; name?: string } = {}): number {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-4;
  const name = opts.name ?? fn.toString().slice(0, 60);
  return tidy(() => {
    for (const x of inputs) assert.equal(x.dtype, 'float64', `${name}: gradcheck needs float64 inputs`);
    const out0 = noGrad(() => fn(...inputs));
    const w = randn([...out0.shape], { dtype: 'float64', generator: new Generator(7) });
    const scalar = (xs: Tensor[]) => fn(...xs).mul(w).sum();
    for (const x of inputs) x.grad = undefined;
    scalar(inputs).backward();
    let worst = 0;
    inputs.forEach((x, k) => {
      if (!x.requiresGrad) return;
      const analytic = x.grad ? flat(x.grad.toArray()) : new Array<number>(x.size).fill(0);
      const base = Float64Array.from(flat(x.toArray()));
      for (let i = 0; i < base.length; i++) {
        const evalAt = (delta: number): number => tidy(() => {
          const d = Float64Array.from(base);
          d[i] = d[i]! + delta;
          const xi = tensor(d, [...x.shape]);
          const xs = inputs.map((y, j) => (j === k ? xi : y.detach()));
          return noGrad(() => scalar(xs).item());
        });
        const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
        const err = Math.abs(numeric - analytic[i]!);
        worst = Math.max(worst, err);
        if (err > atol + rtol * Math.abs(numeric))
          assert.fail(`${name}: input ${k} element ${i}: autograd ${analytic[i]} vs finite difference ${numeric}`);
      }
    });
    return worst;
  });
}

/** A float64 leaf tensor with requiresGrad, from a seeded generator. */
export function leaf(shape: number[], seed: number, scale = 1, offset = 0): Tensor {
  return tidy(() => randn(shape, { dtype: 'float64', generator: new Generator(seed) }).mul(scale).add(offset).detach().requiresGrad_(true));
}

/**
 * Runs fn and returns the SnnkitError it throws.
 * @throws AssertionError when fn throws nothing, or something that is not an SnnkitError
 */
export function errorOf(fn: () => unknown): SnnkitError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SnnkitError, `expected SnnkitError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}
