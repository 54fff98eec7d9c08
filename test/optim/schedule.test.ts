// LR sequences against PyTorch 1.13's schedulers (StepLR, CosineAnnealingLR, LinearLR, SequentialLR).
// Regenerate the fixture with: /usr/bin/python3 test/optim/reference.py > test/optim/fixtures.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CosineAnnealingLR, LinearWarmup, SGD, StepLR, type LRSchedule } from '../../src/optim/index.js';
import { assertNear, fixtures, makeParams, throwsMessage } from './helpers.js';

/** Two groups with lr 0.1 and 0.02, as in reference.py. */
function optimizer(): SGD {
  const [w, b] = makeParams();
  return new SGD([{ params: [w] }, { params: [b], lr: 0.02 }], { lr: 0.1 });
}

function lrs(opt: SGD, sched: LRSchedule, steps: number): number[][] {
  const out = [sched.getLastLr()];
  for (let i = 0; i < steps; i++) {
    sched.step();
    out.push(sched.getLastLr());
    assert.deepEqual(opt.paramGroups.map((g) => g.lr), sched.getLastLr());
  }
  return out;
}

const cases: Array<[string, number, (o: SGD) => LRSchedule]> = [
  ['step', 12, (o) => new StepLR(o, 3, 0.5)],
  ['cosine', 15, (o) => new CosineAnnealingLR(o, 5, 0.001)],
  ['warmup', 8, (o) => new LinearWarmup(o, 4, 0.25)],
  ['warmup_cosine', 16, (o) => new LinearWarmup(o, 4, 0.25, new CosineAnnealingLR(o, 6, 0.001))],
  ['warmup_step', 10, (o) => new LinearWarmup(o, 3, 0.5, new StepLR(o, 2, 0.5))],
];

for (const [name, steps, make] of cases) {
  test(`${name}: lr sequence matches PyTorch 1.13`, () => {
    const opt = optimizer();
    assertNear(lrs(opt, make(opt), steps), fixtures.schedules[name], 1e-12);
  });
}

test('schedules start from the lr when the first was attached (initialLr) and count steps', () => {
  const opt = optimizer();
  const cos = new CosineAnnealingLR(opt, 10);
  const warm = new LinearWarmup(opt, 2, 0.5, cos);
  assert.deepEqual(warm.baseLrs, [0.1, 0.02]);
  assert.deepEqual(opt.paramGroups.map((g) => g.initialLr), [0.1, 0.02]);
  warm.step();
  warm.step();
  warm.step();
  assert.equal(warm.lastEpoch, 3);
  assert.equal(cos.lastEpoch, 1);
  assert.deepEqual(cos.getLastLr(), warm.getLastLr());
});

test('schedule arguments are validated with messages naming them', () => {
  const opt = optimizer();
  throwsMessage(() => new StepLR(opt, 0), /^StepLR: argument 'stepSize' must be an integer >= 1, got 0$/);
  throwsMessage(() => new StepLR(opt, 2, -0.5), /^StepLR: argument 'gamma' must be a finite number >= 0, got -0\.5$/);
  throwsMessage(() => new CosineAnnealingLR(opt, 2.5), /^CosineAnnealingLR: argument 'tMax' must be an integer >= 1, got 2\.5$/);
  throwsMessage(() => new CosineAnnealingLR(opt, 5, -1), /^CosineAnnealingLR: argument 'etaMin' must be a finite number >= 0, got -1$/);
  throwsMessage(() => new LinearWarmup(opt, 0), /^LinearWarmup: argument 'warmupSteps' must be an integer >= 1, got 0$/);
  throwsMessage(() => new LinearWarmup(opt, 3, 0), /^LinearWarmup: argument 'startFactor' must be a number in \(0, 1\], got 0$/);
  throwsMessage(() => new LinearWarmup(opt, 3, 0.5, new StepLR(optimizer(), 2)), /^LinearWarmup: argument 'after' must be an LRSchedule of the same optimizer/);
  throwsMessage(() => new StepLR({} as never, 2), /^StepLR: argument 'optimizer' must be an Optimizer, got \[object Object\]$/);
  const sched = new StepLR(opt, 2);
  const [extra] = makeParams();
  opt.addParamGroup({ params: [extra] });
  throwsMessage(() => sched.step(), /^StepLR\.step: the optimizer has 3 parameter groups, the schedule was created for 2; create the schedule after adding groups$/);
});
