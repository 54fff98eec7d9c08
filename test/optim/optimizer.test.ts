// The Optimizer base: parameter groups, zeroGrad, stateDict round trips, disposal and leaks.
// Reference trajectories come from PyTorch 1.13: /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, SGD, StepLR, clipGradNorm, type Optimizer } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { memory } from '../../src/tensor/system.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertNear, backward, fixtures, flat, makeParams, run, throwsMessage } from './helpers.js';

const roundTrips: Array<[string, (w: Tensor, b: Tensor) => Optimizer, (w: Tensor, b: Tensor) => Optimizer]> = [
  ['sgd_momentum', (w, b) => new SGD([w, b], { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }), (w, b) => new SGD([w, b], { lr: 1, momentum: 0.1 })],
  ['adam_wd_amsgrad', (w, b) => new Adam([w, b], { lr: 0.02, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1, amsgrad: true }), (w, b) => new Adam([w, b])],
  ['adam_groups', (w, b) => new Adam([{ params: [w] }, { params: [b], lr: 0.05, betas: [0.5, 0.9] }], { lr: 0.01 }), (w, b) => new Adam([{ params: [w] }, { params: [b] }])],
  ['adamw_amsgrad', (w, b) => new AdamW([w, b], { lr: 0.03, weightDecay: 0.5, amsgrad: true }), (w, b) => new AdamW([w, b])],
];

for (const [name, make, makeOther] of roundTrips) {
  test(`stateDict round trip (${name}): 3 steps, load into a new optimizer, 2 more steps = PyTorch's 5 steps`, () => {
    const [w, b] = makeParams();
    const first = make(w, b);
    run(first, w, b, 3);
    const sd = first.stateDict();
    const [w2, b2] = flat([w, b]).map((v, i) => tensor(new Float64Array(v), i === 0 ? [3, 2] : [2]).requiresGrad_().keep()) as [Tensor, Tensor];
    const second = makeOther(w2, b2);
    second.loadStateDict(sd);
    first.dispose(); // the loaded state is a copy: freeing the source must not matter
    assertNear(run(second, w2, b2, 2), fixtures.optimizers[name]!.slice(3));
    second.dispose();
  });
}

test('stateDict uses PyTorch\'s layout: state keyed by parameter index, groups list their indices', () => {
  const [w, b] = makeParams();
  const opt = new SGD([{ params: [w], momentum: 0.9 }, { params: [b], lr: 0.01 }], { lr: 0.1 });
  run(opt, w, b, 1);
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ['0', '1']);
  assert.deepEqual(sd.state[1], {}); // b has no momentum, hence no buffer
  assert.ok(sd.state[0]!['momentumBuffer'] instanceof Tensor);
  assert.deepEqual(sd.paramGroups, [
    { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [0] },
    { lr: 0.01, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [1] },
  ]);
  opt.dispose();
});

test('loadStateDict rejects a state dict of another layout', () => {
  const [w, b] = makeParams();
  const two = new Adam([{ params: [w] }, { params: [b] }]);
  run(two, w, b, 1);
  const sd = two.stateDict();
  throwsMessage(() => new Adam([w, b]).loadStateDict(sd), /^Adam\.loadStateDict: the state dict has 2 parameter groups, this optimizer has 1$/, 'STATE_DICT_MISMATCH');
  throwsMessage(() => new Adam([{ params: [w, b] }, { params: [tensor([1], { requiresGrad: true })] }]).loadStateDict(sd), /^Adam\.loadStateDict: parameter group 0 has 1 parameters in the state dict, 2 here$/, 'STATE_DICT_MISMATCH');
  throwsMessage(() => new Adam([{ params: [b] }, { params: [w] }]).loadStateDict(sd), /^Adam\.loadStateDict: state '(expAvg|expAvgSq)' of parameter 0 has shape \[3,2\], the parameter has \[2\]$/, 'STATE_DICT_MISMATCH');
  const bad = { ...sd, paramGroups: sd.paramGroups.map((g) => ({ ...g, eps: -1 })) };
  throwsMessage(() => new Adam([{ params: [w] }, { params: [b] }]).loadStateDict(bad), /^Adam: argument 'paramGroups\[0\]\.eps' must be a number >= 0, got -1$/);
  two.dispose();
});

test('zeroGrad drops gradients, or zeroes them with setToNone: false', () => {
  const [w, b] = makeParams();
  const opt = new SGD([w, b], { lr: 0.1 });
  backward(w, b);
  opt.zeroGrad({ setToNone: false });
  assert.deepEqual(w.grad!.toArray(), [[0, 0], [0, 0], [0, 0]]);
  opt.zeroGrad();
  assert.equal(w.grad, undefined);
  assert.equal(b.grad, undefined);
  opt.step(); // nothing has a gradient: no update, no state
  assert.deepEqual(flat([w, b]), [fixtures.problem.w0.flat(), fixtures.problem.b0]);
  assert.equal(opt.state.size, 0);
});

test('param validation names the argument', () => {
  const [w, b] = makeParams();
  throwsMessage(() => new SGD([], { lr: 0.1 }), /^SGD: argument 'params' must be a non-empty list of tensors or parameter groups, got \[\]$/);
  throwsMessage(() => new Adam([w, w.mul(2)]), /^Adam: argument 'paramGroups\[0\]\.params\[1\]' must be a leaf tensor \(a parameter, not the result of an op\), got float64\[3,2\]$/);
  throwsMessage(() => new Adam([{ params: [w, b] }, { params: [b] }]), /^Adam: argument 'paramGroups\[1\]\.params\[0\]' must be a tensor in no other parameter group, got float64\[2\]$/);
  throwsMessage(() => new Adam([{ params: [] }]), /^Adam: argument 'paramGroups\[0\]\.params' must be a non-empty list of tensors, got \[\]$/);
  throwsMessage(() => new Adam([{ params: [w, 3] } as never]), /^Adam: argument 'paramGroups\[0\]\.params\[1\]' must be a Tensor, got 3$/);
});

test('addParamGroup: a new group takes the defaults, overridden by its own options', () => {
  const [w, b] = makeParams();
  const opt = new Adam([w], { lr: 0.01 });
  opt.addParamGroup({ params: [b], betas: [0.5, 0.9] });
  assert.equal(opt.paramGroups[1]!.lr, 0.01);
  assert.deepEqual(opt.paramGroups[1]!.betas, [0.5, 0.9]);
  throwsMessage(() => opt.addParamGroup({ params: [b] }), /^Adam: argument 'paramGroups\[2\]\.params\[0\]' must be a tensor in no other parameter group/);
});

test('dispose frees the state tensors; a disposed optimizer refuses to step', () => {
  const [w, b] = makeParams();
  const opt = new Adam([w, b], { amsgrad: true });
  run(opt, w, b, 1);
  const withState = memory().liveTensors;
  opt.dispose();
  assert.equal(memory().liveTensors, withState - 6); // 2 parameters x (expAvg, expAvgSq, maxExpAvgSq)
  assert.equal(opt.state.size, 0);
  throwsMessage(() => opt.step(), /^Adam\.step: the optimizer was disposed$/, 'DISPOSED');
});

test('no leaks: the live tensor count is constant over 100 steps', () => {
  const [w, b] = makeParams();
  const opts: Optimizer[] = [
    new SGD([w], { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
    new AdamW([b], { lr: 0.01, amsgrad: true }),
  ];
  const sched = new StepLR(opts[0]!, 10, 0.5);
  const once = () => {
    for (const o of opts) o.zeroGrad({ setToNone: false });
    backward(w, b);
    clipGradNorm([w, b], 1.0);
    for (const o of opts) o.step();
    sched.step();
  };
  once(); // creates the state
  const before = memory().liveTensors;
  for (let i = 0; i < 100; i++) once();
  assert.equal(memory().liveTensors, before);
  assert.ok(Number.isFinite((w.toArray() as number[][])[0]![0]!));
  for (const o of opts) o.dispose();
});
