// Trajectories against PyTorch 1.13; regenerate with: /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, type Optimizer } from '../../src/optim/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { fixtures, makeParams, run, assertNear, throwsMessage } from './helpers.js';

const cases: Record<string, (w: Tensor, b: Tensor) => Optimizer> = {
  adam: (w, b) => new Adam([w, b], { lr: 0.01 }),
  adam_wd_amsgrad: (w, b) => new Adam([w, b], { lr: 0.02, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1, amsgrad: true }),
  adam_maximize: (w, b) => new Adam([w, b], { lr: 0.01, maximize: true }),
  adam_groups: (w, b) => new Adam([{ params: [w] }, { params: [b], lr: 0.05, betas: [0.5, 0.9] }], { lr: 0.01 }),
  adamw: (w, b) => new AdamW([w, b], { lr: 0.01, weightDecay: 0.1 }),
  adamw_amsgrad: (w, b) => new AdamW([w, b], { lr: 0.03, weightDecay: 0.5, amsgrad: true }),
};

for (const [name, make] of Object.entries(cases)) {
  test(`${name}: 5 steps match PyTorch 1.13, fused (contiguous) and op by op (a transposed parameter)`, () => {
    const [w, b] = makeParams();
    const opt = make(w, b);
    assertNear(run(opt, w, b, 5), fixtures.optimizers[name]);
    opt.dispose();
    // A non-contiguous parameter (and so its gradient) is updated op by op instead of by the native kernel.
    const [w0, b0] = makeParams();
    const wt = w0.transpose(0, 1).contiguous().transpose(0, 1).detach().requiresGrad_(true).keep();
    assert.equal(wt.isContiguous(), false);
    const opt2 = make(wt, b0);
    assertNear(run(opt2, wt, b0, 5), fixtures.optimizers[name]);
    opt2.dispose();
  });
}

test('Adam state: step count, moments, and the AMSGrad maximum only with amsgrad', () => {
  const [w, b] = makeParams();
  const opt = new Adam([w, b], { amsgrad: true });
  run(opt, w, b, 3);
  const s = opt.state.get(w)!;
  assert.equal(s['step'], 3);
  assert.deepEqual(Object.keys(s).sort(), ['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
  assert.deepEqual((s['expAvg'] as Tensor).shape, [3, 2]);
  const plain = new AdamW([w, b]);
  run(plain, w, b, 1);
  assert.deepEqual(Object.keys(plain.state.get(b)!).sort(), ['expAvg', 'expAvgSq', 'step']);
  assert.equal(plain.paramGroups[0]!.weightDecay, 1e-2);
  assert.equal(opt.paramGroups[0]!.weightDecay, 0);
  opt.dispose();
  plain.dispose();
});

test('Adam and AdamW option errors name the optimizer, the option and the expected value', () => {
  const [w] = makeParams();
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ lr: -1 }, /^Adam: argument 'lr' must be a number >= 0, got -1$/],
    [{ eps: -1e-8 }, /^Adam: argument 'eps' must be a number >= 0, got -1e-8$/],
    [{ weightDecay: -0.5 }, /^Adam: argument 'weightDecay' must be a number >= 0, got -0\.5$/],
    [{ betas: [0.9, 1] }, /^Adam: argument 'betas' must be a pair \[beta1, beta2\] of numbers in \[0, 1\), got \[0\.9, 1\]$/],
    [{ betas: [0.9] }, /^Adam: argument 'betas' must be a pair/],
    [{ amsgrad: 1 }, /^Adam: argument 'amsgrad' must be a boolean, got 1$/],
  ];
  for (const [opts, msg] of bad)
    throwsMessage(() => new Adam([w], opts as never), msg);
  throwsMessage(() => new AdamW([w], { betas: [-0.1, 0.9] }), /^AdamW: argument 'betas' must be a pair \[beta1, beta2\] of numbers in \[0, 1\), got \[-0\.1, 0\.9\]$/);
  throwsMessage(() => new AdamW([{ params: [w], eps: Number.POSITIVE_INFINITY }]), /^AdamW: argument 'paramGroups\[0\]\.eps' must be a number >= 0, got Infinity$/);
});
