// Trajectories against PyTorch 1.13; regenerate with: /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SGD } from '../../src/optim/index.js';
import { fixtures, makeParams, run, assertNear, throwsMessage } from './helpers.js';

const cases: Record<string, (w: ReturnType<typeof makeParams>[0], b: ReturnType<typeof makeParams>[1]) => SGD> = {
  sgd_plain: (w, b) => new SGD([w, b], { lr: 0.1 }),
  sgd_momentum: (w, b) => new SGD([w, b], { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  sgd_nesterov: (w, b) => new SGD([w, b], { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.001 }),
  sgd_maximize: (w, b) => new SGD([w, b], { lr: 0.01, momentum: 0.5, maximize: true }),
  sgd_groups: (w, b) => new SGD([{ params: [w], momentum: 0.9 }, { params: [b], lr: 0.01 }], { lr: 0.1 }),
};

for (const [name, make] of Object.entries(cases)) {
  test(`SGD ${name}: 5 steps match PyTorch 1.13`, () => {
    const [w, b] = makeParams();
    const opt = make(w, b);
    assertNear(run(opt, w, b, 5), fixtures.optimizers[name]);
    opt.dispose();
  });
}

test('SGD keeps a momentum buffer only when momentum > 0', () => {
  const [w, b] = makeParams();
  const plain = new SGD([w], { lr: 0.1 });
  run(plain, w, b, 1);
  assert.deepEqual(Object.keys(plain.state.get(w) ?? {}), []);
  const heavy = new SGD([w], { lr: 0.1, momentum: 0.5 });
  run(heavy, w, b, 1);
  assert.deepEqual(Object.keys(heavy.state.get(w) ?? {}), ['momentumBuffer']);
  heavy.dispose();
});

test('SGD option errors name the option and the expected value', () => {
  const [w] = makeParams();
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ lr: -0.1 }, /^SGD: argument 'lr' must be a number >= 0, got -0\.1$/],
    [{ lr: Number.NaN }, /^SGD: argument 'lr' must be a number >= 0, got NaN$/],
    [{ lr: 0.1, momentum: -1 }, /^SGD: argument 'momentum' must be a number >= 0, got -1$/],
    [{ lr: 0.1, dampening: 2 }, /^SGD: argument 'dampening' must be a number in \[0, 1\], got 2$/],
    [{ lr: 0.1, weightDecay: -1e-4 }, /^SGD: argument 'weightDecay' must be a number >= 0, got -0\.0001$/],
    [{ lr: 0.1, nesterov: true }, /^SGD: argument 'nesterov' must be false unless momentum > 0 and dampening = 0 \(momentum 0, dampening 0\), got true$/],
    [{ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }, /argument 'nesterov' .*\(momentum 0\.9, dampening 0\.1\)/],
    [{ lr: 0.1, nesterov: 'yes' }, /^SGD: argument 'nesterov' must be a boolean, got 'yes'$/],
    [{ lr: 0.1, momentun: 0.9 }, /^SGD: unknown option 'momentun' in options; the options are lr, momentum, dampening, weightDecay, nesterov, maximize$/],
    [{ momentum: 0.9 }, /^SGD: argument 'lr' must be a number >= 0, got undefined$/],
  ];
  for (const [opts, msg] of bad)
    throwsMessage(() => new SGD([w], opts as never), msg);
  throwsMessage(() => new SGD([{ params: [w], lr: -1 }], { lr: 0.1 }), /^SGD: argument 'paramGroups\[0\]\.lr' must be a number >= 0, got -1$/);
  throwsMessage(() => new SGD([{ params: [w], nesterof: true } as never], { lr: 0.1 }), /^SGD: unknown option 'nesterof' in paramGroups\[0\]; the options are lr, momentum/);
});
