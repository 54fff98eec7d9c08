/**
 * Shared pieces of the optimizer tests: the PyTorch fixture, the float64 toy problem of reference.py, and a
 * tolerance check. Regenerate the fixture from the repository root with
 *   /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor } from '../../src/tensor/creation.js';
import { tidy } from '../../src/tensor/scope.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Optimizer } from '../../src/optim/index.js';
import { SnnkitError } from '../../src/errors.js';

/** [W flattened, b] after each step. */
export type Trajectory = number[][][];
interface ClipCase { maxNorm: number; normType: number | 'inf'; total: number; grads: number[][] }
export interface Fixtures {
  torch: string;
  problem: { x: number[][]; y: number[][]; w0: number[][]; b0: number[] };
  optimizers: Record<string, Trajectory>;
  schedules: Record<string, number[][]>;
  clip: { grads: [number[][], number[]]; norm: ClipCase[]; value: Array<{ clip: number; grads: number[][] }> };
}

const here = dirname(fileURLToPath(import.meta.url));
// tsc does not copy JSON: look beside the compiled file, then in the source tree (dist/test/optim -> test/optim).
const fixturePath = [join(here, 'fixtures.json'), resolve(here, '../../../test/optim/fixtures.json'), resolve('test/optim/fixtures.json')].find(existsSync);
if (fixturePath === undefined) throw new Error('test/optim/fixtures.json not found: run the tests from the repository root');
export const fixtures = JSON.parse(readFileSync(fixturePath, 'utf8')) as Fixtures;

/** Float64 tolerance against PyTorch. */
export const TOL = 1e-10;

/** @returns fresh leaf parameters W [3,2] and b [2] at the fixture's starting point */
export function makeParams(): [Tensor, Tensor] {
  const { w0, b0 } = fixtures.problem;
  return [tensor(w0, { dtype: 'float64', requiresGrad: true }).keep(), tensor(b0, { dtype: 'float64', requiresGrad: true }).keep()];
}

/** Fills W.grad and b.grad with the gradient of mean((tanh(x W + b) - y)^2) + 0.05 sum(W^4). */
export function backward(w: Tensor, b: Tensor): void {
  tidy(() => {
    const x = tensor(fixtures.problem.x, { dtype: 'float64' });
    const y = tensor(fixtures.problem.y, { dtype: 'float64' });
    x.matmul(w).add(b).tanh().sub(y).pow(2).mean().add(w.pow(4).sum().mul(0.05)).backward();
  });
}

/** @returns the flattened values of each tensor */
export function flat(ts: Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.toTypedArray() as Float64Array));
}

/**
 * Runs `steps` optimizer steps on the toy problem.
 * @returns the trajectory, in the fixture's layout
 */
export function run(opt: Optimizer, w: Tensor, b: Tensor, steps: number): Trajectory {
  const out: Trajectory = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    backward(w, b);
    opt.step();
    out.push(flat([w, b]));
  }
  return out;
}

/** Asserts that nested number arrays agree within `tol` (absolute), with the path of the first difference. */
export function assertNear(actual: unknown, expected: unknown, tol = TOL, path = ''): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertNear((actual as unknown[])[i], e, tol, `${path}[${i}]`));
    return;
  }
  const a = actual as number;
  const e = expected as number;
  assert.ok(Math.abs(a - e) <= tol, `${path}: got ${a}, PyTorch gives ${e} (|diff| ${Math.abs(a - e)} > ${tol})`);
}

/** Asserts that `fn` throws an SnnkitError with `code` whose message matches `message`. */
export function throwsMessage(fn: () => unknown, message: RegExp, code = 'INVALID_ARGUMENT'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SnnkitError, `expected an SnnkitError, got ${String(e)}`);
    assert.match(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
}
