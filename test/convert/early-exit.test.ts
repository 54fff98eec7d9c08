import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nn, convert, data, tensor, tidy, Generator, F, optim } from '../../src/index.js';
import { syntheticDataset } from '../data/synthetic.js';
import { assertClose } from '../helpers.js';

const loaderOf = (ds: data.ImageDataset, batchSize = 64) => new data.DataLoader(ds, { batchSize, workers: 0 });
const traj = (scores: number[][], preds: number[][], labels: number[]): convert.Trajectories => ({
  criterion: 'confidence', T: scores[0]!.length, count: scores.length,
  scores: Float32Array.from(scores.flat()), preds: Int32Array.from(preds.flat()), labels: Int32Array.from(labels),
});

test('exit scores: max softmax, top-1 minus top-2, minus the entropy', () => tidy(() => {
  const mean = tensor([[2, 0, 1], [0, 0, 0]]);
  const p = [Math.exp(2), 1, Math.exp(1)].map((v, _, a) => v / (Math.exp(2) + 1 + Math.exp(1)));
  assertClose(convert.exitScore(mean, 'confidence'), [p[0]!, 1 / 3], 1e-6);
  assertClose(convert.exitScore(mean, 'margin'), [1, 0], 1e-6);
  assertClose(convert.exitScore(mean, 'entropy'), [p.reduce((s, v) => s + v * Math.log(v), 0), Math.log(1 / 3)], 1e-6);
}));

test('the exit sweep replays early exit at every threshold exactly, and the choice keeps the accuracy within the drop', () => {
  // sample 0: sure from step 2 (right); sample 1: never sure, right only at the end; sample 2: sure at step 1 but wrong
  const tr = traj([[0.5, 0.9, 0.95, 0.97], [0.4, 0.5, 0.45, 0.6], [0.8, 0.6, 0.7, 0.9]],
    [[1, 0, 0, 0], [2, 2, 2, 1], [0, 1, 1, 1]], [0, 1, 1]);
  for (const minStep of [1, 2, 3]) {
    const sweep = convert.exitSweep(tr, minStep);
    assert.deepEqual(sweep[0], { threshold: Infinity, minStep, averageT: 4, accuracy: 1 });
    for (const p of sweep) {
      const brute = convert.exitPoint(tr, p.threshold, minStep);
      assertClose([p.averageT, p.accuracy], [brute.averageT, brute.accuracy], 1e-12, 0, `threshold ${p.threshold}, from step ${minStep}`);
    }
    // every score as a threshold gives a point on the sweep
    for (const th of tr.scores) assert.ok(sweep.some((p) => Math.abs(p.averageT - convert.exitPoint(tr, th, minStep).averageT) < 1e-12));
  }
  // From step 1 the best lossless threshold is 0.9: sample 0 exits at 2, 1 at 4, 2 at 4 (10/3 steps). From step 2, 0.6
  // lets sample 2 go at step 2, where it is already right, and sample 1 still at 4: 8/3 steps, no loss.
  assertClose([convert.chooseExitThreshold(tr, 0, [1]).averageT], [10 / 3], 1e-12);
  const c = convert.chooseExitThreshold(tr, 0);
  assert.deepEqual([c.accuracy, c.minStep, c.threshold], [1, 2, Math.fround(0.6)]);
  assertClose([c.averageT], [8 / 3], 1e-12);
  // allowing a third of the accuracy: sample 1 may exit wrong at step 1
  const loose = convert.chooseExitThreshold(tr, 0.34);
  assert.ok(loose.averageT < c.averageT && loose.accuracy >= 1 - 0.34, JSON.stringify(loose));
  assert.throws(() => convert.chooseExitThreshold(tr, 1), /chooseExitThreshold: argument 'drop' must be a fraction in \[0, 1\)/);
  assert.throws(() => convert.chooseExitThreshold(tr, 0, [0]), /argument 'minSteps' must be integers in 1\.\.4/);
  assert.deepEqual(convert.defaultMinSteps(32), [1, 2, 3, 4, 6, 9, 13, 19, 28]);
  const curve = convert.exitCurve(tr, 1, 3);
  assert.ok(curve.length <= 3 && curve.at(-1)!.averageT === 4, JSON.stringify(curve));
});

async function smallSnn() {
  const g = new Generator(5);
  const ann = new nn.Sequential(new nn.Conv2d(1, 6, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Conv2d(6, 8, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, 3, { generator: g }));
  const train = syntheticDataset(120, [1, 8, 8], 3);
  const opt = new optim.SGD(ann.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let epoch = 0; epoch < 2; epoch++)
    for await (const b of loaderOf(train, 32).epoch(epoch)) {
      tidy(() => { opt.zeroGrad(); F.crossEntropy(ann.forward(b.x), b.y).backward(); opt.step(); });
      b.dispose();
    }
  return (await convert.convertToSnn(ann, { calibration: loaderOf(train), shift: 'potential' })).snn;
}

test('early exit drops finished samples from the batch without changing the others: exits as the recorded trajectories predict', async () => {
  const snn = await smallSnn();
  const testSet = syntheticDataset(50, [1, 8, 8], 3);
  const T = 24;
  const full = await convert.simulate(snn, loaderOf(testSet, 16), { T: [T], record: 'confidence' });
  const tr = full.trajectories!;
  assert.equal(tr.count, 50);
  assert.equal(convert.exitPoint(tr, Infinity).accuracy, full.accuracy[0], 'the recorded last-step predictions are the simulation\'s');
  // a threshold in the middle of the scores: some samples exit early, some run to T
  const th = [...tr.scores].sort((a, b) => a - b)[Math.floor(tr.scores.length * 0.6)]!;
  for (const [chunk, minStep] of [[1, 1], [5, 1], [5, 7]] as const) {
    const ee = await convert.simulate(snn, loaderOf(testSet, 16), { T: [T], earlyExit: { criterion: 'confidence', threshold: th, minStep }, chunk });
    const steps: number[] = Array.from({ length: tr.count }, (_, i) => convert.exitStep(tr, i, th, minStep));
    assert.deepEqual([...ee.earlyExit!.steps], steps, `chunk ${chunk}, from step ${minStep}: each sample exits where its trajectory first reaches the threshold`);
    assert.ok(steps.some((s) => s < T) && steps.some((s) => s === T), 'both kinds of sample are in the test');
    assert.ok(steps.every((s) => s >= minStep));
    const replay = convert.exitPoint(tr, th, minStep);
    assert.equal(ee.earlyExit!.accuracy, replay.accuracy);
    assertClose([ee.earlyExit!.averageT], [replay.averageT], 1e-12);
  }
  // never exiting is the plain simulation
  const never = await convert.simulate(snn, loaderOf(testSet, 16), { T: [T], earlyExit: { criterion: 'confidence', threshold: Infinity } });
  assert.equal(never.earlyExit!.averageT, T);
  assert.equal(never.accuracy[0], full.accuracy[0]);
});

test('the exit decision uses no labels: shuffled labels give the same exit steps', async () => {
  const snn = await smallSnn();
  const ds = syntheticDataset(40, [1, 8, 8], 3);
  const shuffled = { ...ds, labels: Uint8Array.from(ds.labels, (l) => (l + 1) % 3) };
  const o = { T: [16], earlyExit: { criterion: 'margin' as const, threshold: 0.5 } };
  const a = await convert.simulate(snn, loaderOf(ds, 16), o), b = await convert.simulate(snn, loaderOf(shuffled, 16), o);
  assert.deepEqual([...a.earlyExit!.steps], [...b.earlyExit!.steps]);
  assert.notEqual(a.earlyExit!.accuracy, b.earlyExit!.accuracy, 'the labels did change');
});

test('simulate rejects an unknown criterion, a bad threshold or minimum step, and keepOutputs with early exit', async () => {
  const snn = await smallSnn();
  const l = loaderOf(syntheticDataset(4, [1, 8, 8], 3));
  await assert.rejects(convert.simulate(snn, l, { T: [4], record: 'loss' as never }), /simulate: argument 'criterion' must be confidence \| margin \| entropy/);
  await assert.rejects(convert.simulate(snn, l, { T: [4], keepOutputs: true, earlyExit: { criterion: 'confidence', threshold: 0.9 } }), /keepOutputs and earlyExit exclude each other/);
  await assert.rejects(convert.simulate(snn, l, { T: [4], earlyExit: { criterion: 'margin', threshold: NaN } }), /argument 'earlyExit.threshold' must be a number/);
  await assert.rejects(convert.simulate(snn, l, { T: [4], earlyExit: { criterion: 'margin', threshold: 1, minStep: 0 } }), /argument 'earlyExit.minStep' must be a positive integer/);
});
