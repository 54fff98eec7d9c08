import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedSettings } from '../../src/train/loop.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { readSafetensorsHeader } from '../../src/formats/safetensors.js';
import { killAfterFirstCheckpoint, maxWeightDifference, trainChildRun, TinyNet } from './fixture.js';
import { noGrad, type Tensor } from '../../src/index.js';
import { SnnkitError } from '../../src/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'snnkit-train-'));

test('trainAnn learns, keeps the best checkpoint, and writes last.safetensors and the logs', async () => {
  const dir = tmp();
  const r = await trainChildRun(dir, 3);
  assert.equal(r.history.length, 3);
  assert.equal(r.resumedFrom, 0);
  assert.ok(r.history[2]!.trainLoss < r.history[0]!.trainLoss, 'the loss falls');
  assert.ok(r.best!.testAccuracy >= 0.9, `the task is easy: best accuracy ${r.best!.testAccuracy}`);
  assert.deepEqual(readdirSync(dir).sort(), ['best.safetensors', 'last.safetensors', 'log.csv', 'log.json']);
  const csv = readFileSync(join(dir, 'log.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'epoch,lr,trainLoss,trainAccuracy,testLoss,testAccuracy,seconds,imagesPerSecond');
  assert.equal(csv.length, 4);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')).map((e: { epoch: number }) => e.epoch), [1, 2, 3]);
  const best = loadCheckpoint(join(dir, 'best.safetensors'));
  assert.equal(best.meta.arch, 'tiny');
  assert.equal(best.meta.epoch, r.best!.epoch);
  assert.equal(best.meta.accuracy, r.best!.testAccuracy);
  assert.deepEqual(best.meta.mean, [0.5]);
  assert.equal(best.optimizer, undefined, 'best.safetensors holds weights only');
  assert.ok('body.0.weight' in best.weights);
  best.dispose();
  const last = readSafetensorsHeader(join(dir, 'last.safetensors'));
  assert.ok(last.tensors.some((t) => t.name.startsWith('optimizer.state.')), 'last.safetensors holds the optimizer state');
  assert.equal(last.metadata['epoch'], '3');
});

test('a run killed mid-training resumes from its last checkpoint and ends where an uninterrupted run ends', async () => {
  const straight = tmp();
  const full = await trainChildRun(straight, 4);
  const dir = tmp();
  const before = await killAfterFirstCheckpoint(dir, { EPOCHS: '4', SLOW_MS: '40' });
  assert.ok(before >= 1 && before < 4, `killed after ${before} epochs`);
  const resumed = await trainChildRun(dir, 4);
  assert.equal(resumed.resumedFrom, Number(before));
  assert.equal(resumed.history.length, 4, 'the history of the killed run is kept');
  for (let e = 0; e < 4; e++) {
    assert.ok(Math.abs(resumed.history[e]!.trainLoss - full.history[e]!.trainLoss) < 1e-5,
      `epoch ${e + 1}: train loss ${resumed.history[e]!.trainLoss} vs uninterrupted ${full.history[e]!.trainLoss}`);
  }
  const w = maxWeightDifference(join(dir, 'last.safetensors'), join(straight, 'last.safetensors'));
  assert.ok(w.diff < 1e-5, `${w.key} differs by ${w.diff} from the uninterrupted run`);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp')), 'no temporary files left by the killed write');
});

test('changedSettings names every hyper-parameter and recorded setting a resumed run would change, and only those', () => {
  const was = { arch: 'mnist-cnn', dataset: 'mnist', hyper: { epochs: 8, lr: 0.001, seed: 0 }, data: { batch_size: 64, augment: 'auto' }, epoch: 3, accuracy: 0.9 };
  assert.deepEqual(changedSettings(was, { epochs: 8, lr: 0.001, seed: 0 }, { arch: 'mnist-cnn', dataset: 'mnist', data: { batch_size: 64, augment: 'auto' } }), []);
  assert.deepEqual(changedSettings(was, { epochs: 10, lr: 0.01, seed: 0, weightDecay: 0 }, { arch: 'mnist-cnn', dataset: 'fashion-mnist', data: { batch_size: 64, augment: 'crop' } }),
    ['epochs: 8 → 10', 'lr: 0.001 → 0.01', 'weightDecay: unset → 0', 'dataset: "mnist" → "fashion-mnist"', 'data.augment: "auto" → "crop"']);
  // A setting the checkpoint does not record (written before it was recorded) is not compared, at any depth; a
  // recorded null (unset) is.
  assert.deepEqual(changedSettings({ hyper: { epochs: 8 } }, { epochs: 8 }, { data: { batch_size: 32 } }), []);
  assert.deepEqual(changedSettings({ snn_train: { T: 4 } }, { epochs: 8 }, { snn_train: { T: 4, fdg: { eps: 0.01 } } }), ['epochs: unset → 8']);
  assert.deepEqual(changedSettings({ data: { train_limit: null } }, { epochs: 8 }, { data: { train_limit: 1000 } }).slice(1), ['data.train_limit: null → 1000']);
});

/** TinyNet that turns bad in its 7th training step (epoch 2, batch 1; 6 batches an epoch): a NaN loss, or a NaN gradient. */
class TurnsBad extends TinyNet {
  steps = 0;
  constructor(readonly how: 'loss' | 'gradient') {
    super();
  }
  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    if (!this.training || ++this.steps < 7) return y;
    if (this.how === 'loss') return y.mul(NaN);
    const w = (this.body.at(6) as unknown as { weight: Tensor }).weight; // d sqrt(u)/du at u = 0 is infinite, times du/dw = 0: a NaN gradient, a finite loss
    return y.add(w.sub(noGrad(() => w.clone())).sqrt().sum().mul(0));
  }
}

test('a NaN loss or gradient stops training before the optimizer step, naming where, and keeps the last good checkpoint', async () => {
  for (const [how, what] of [['loss', /the loss became NaN/], ['gradient', /the gradient of 'body\.6\.weight' became non-finite \(NaN or infinite\)/]] as const) {
    const dir = tmp();
    const e = await trainChildRun(dir, 3, 0, new TurnsBad(how)).then(() => undefined, (err: unknown) => err);
    assert.ok(e instanceof SnnkitError, String(e));
    assert.equal(e.code, 'NON_FINITE');
    assert.match(e.message, new RegExp(`^trainAnn: ${what.source} at epoch 2, batch 1; training stopped before the optimizer step`));
    const last = loadCheckpoint(join(dir, 'last.safetensors'));
    assert.equal(last.meta.epoch, 1);
    for (const [k, w] of Object.entries(last.weights)) assert.ok(Number.isFinite(w.abs().sum().item()), `${k} is finite`);
    last.dispose();
  }
});
