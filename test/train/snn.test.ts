import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neurons, nn, rand, tensor, tidy, Generator } from '../../src/index.js';
import { loadCheckpoint, saveModel } from '../../src/models/checkpoint.js';
import { loadInitWeights } from '../../src/train/snn.js';
import { assertClose, errorOf } from '../helpers.js';
import { killAfterFirstCheckpoint, maxWeightDifference, tinySnn, trainSnnChildRun } from './fixture.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'snnkit-snn-'));
const resnet20 = join(process.cwd(), '..', 'shared', 'models/cifar10-resnet20/cifar10-resnet20.safetensors');

test('trainSnn lowers the loss of a tiny SNN, chooses best on the validation split, and logs the Dspike search', async () => {
  const dir = tmp();
  const r = await trainSnnChildRun(dir, 3);
  assert.equal(r.history.length, 3);
  assert.ok(r.history[2]!.trainLoss < r.history[0]!.trainLoss, `the loss falls: ${r.history.map((h) => h.trainLoss.toFixed(4))}`);
  assert.ok(r.history[2]!.testAccuracy > 0.8, `the halves task is easy: ${r.history[2]!.testAccuracy}`);
  const bestVal = Math.max(...r.history.map((h) => h.valAccuracy!));
  assert.equal(r.best!.valAccuracy, bestVal, 'best is the first epoch with the highest validation accuracy');
  assert.equal(r.best!.epoch, r.history.find((h) => h.valAccuracy === bestVal)!.epoch);
  const csv = readFileSync(join(dir, 'log.csv'), 'utf8').trim().split('\n');
  assert.match(csv[0]!, /^epoch,lr,trainLoss,trainAccuracy,valLoss,valAccuracy,testLoss,testAccuracy,seconds,imagesPerSecond,dspike_b,cos_minus,cos_mid,cos_plus,fdg_norm,fdg_seconds$/);
  for (const h of r.history) {
    assert.ok([1.5, 2, 2.5, 3, 3.5, 4, 4.5].some((b) => Math.abs(b - h['dspike_b']!) < 1e-12), `b moves by Δb = 0.5 from 2: ${h['dspike_b']}`);
    assert.ok(Math.abs(h['cos_mid']!) <= 1 && h['fdg_norm']! > 0, 'the FDG flips spikes at ε = 0.05');
  }
  const best = loadCheckpoint(join(dir, 'best.safetensors'));
  assert.equal(best.meta['val_accuracy'], r.best!.valAccuracy);
  best.dispose();
});

test('an SNN run killed mid-training resumes (with its Dspike temperature) and ends where an uninterrupted run ends', async () => {
  const straight = tmp();
  const full = await trainSnnChildRun(straight, 3);
  const dir = tmp();
  const before = await killAfterFirstCheckpoint(dir, { KIND: 'snn', EPOCHS: '3', SLOW_MS: '60' });
  assert.ok(before >= 1 && before < 3, `killed after ${before} epochs`);
  const resumed = await trainSnnChildRun(dir, 3);
  assert.equal(resumed.resumedFrom, before);
  for (let e = 0; e < 3; e++) {
    assert.ok(Math.abs(resumed.history[e]!.trainLoss - full.history[e]!.trainLoss) < 1e-5, `epoch ${e + 1}: ${resumed.history[e]!.trainLoss} vs ${full.history[e]!.trainLoss}`);
    assert.equal(resumed.history[e]!['dspike_b'], full.history[e]!['dspike_b'], `epoch ${e + 1}: the same temperature`);
  }
  const w = maxWeightDifference(join(dir, 'last.safetensors'), join(straight, 'last.safetensors'));
  assert.ok(w.diff < 1e-5, `${w.key} differs by ${w.diff} from the uninterrupted run`);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp')));
});

test('--init weights: the pretrained cifar-resnet20 loads into snn-cifar-resnet20 by name; another layout is refused by name', { skip: !existsSync(resnet20) && 'no ../shared/models' }, () => {
  const snn = neurons.createSpikingModel('snn-cifar-resnet20', { T: 2, neuron: { kind: 'plif', learnThreshold: true } });
  const fresh = loadInitWeights(snn, resnet20);
  assert.ok(fresh.length > 0 && fresh.every((k) => /\.(w|vTh)$/.test(k)), `only neuron parameters keep their initial values: ${fresh.slice(0, 3)}`);
  const ck = loadCheckpoint(resnet20);
  tidy(() => {
    const sd = snn.stateDict();
    for (const k of ['conv1.weight', 'layer3.2.bn2.running_var', 'linear.weight']) assert.deepEqual(sd[k]!.toArray(), ck.weights[k]!.toArray(), k);
  });
  ck.dispose();
  const dir = tmp(), other = join(dir, 'mnist.safetensors');
  saveModel(other, nn.createModel('mnist-cnn'), { arch: 'mnist-cnn' });
  const e = errorOf(() => loadInitWeights(snn, other));
  assert.equal(e.code, 'STATE_DICT_MISMATCH');
  assert.match(e.message, /^--init: .*mnist\.safetensors does not have the model's layout: not in the model: .*features\.0\.weight.*missing: conv1\.weight/);
});

test('a spiking classifier refuses neurons folded for another T, and bad encodings', () => {
  const n = neurons.neuronFactory(4);
  const body = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 2), n());
  assert.match(errorOf(() => new neurons.SpikingClassifier(body, { T: 3 })).message, /neuron '2' folds T = 4 steps but the classifier runs T = 3/);
  assert.match(errorOf(() => new neurons.SpikingClassifier(new nn.Linear(4, 2), { T: 4, encoding: 'rate' as never })).message, /encoding.*'direct', 'poisson', 'sequence'/);
  assert.match(errorOf(() => neurons.neuronFactory(4, { tau: 1 })).message, /tau.*a time constant > 1/);
  assert.match(errorOf(() => neurons.neuronFactory(4, { kind: 'alif' as never })).message, /kind.*'if', 'lif', 'plif'/);
});

test('SpikingClassifier: per-step outputs [T, N, C], the mean as logits, fresh membranes per call, Poisson spikes in {0, 1}', () => {
  tidy(() => {
    const images = rand([3, 1, 28, 28], { generator: new Generator(3) });
    const enc = neurons.createSpikingModel('snn-mnist-cnn', { T: 2 }).encode(images);
    assert.deepEqual(enc.shape, [2 * 3, 1, 28, 28], 'direct encoding repeats the image and folds time into the batch');
    assert.deepEqual(enc.slice(0, 3, 6).toArray(), images.toArray());
    const p = new neurons.SpikingClassifier(new nn.Flatten(), { T: 3, encoding: 'poisson', generator: new Generator(1) }).encode(images);
    assert.ok(p.eq(0).logicalOr(p.eq(1)).all().item(), 'Poisson inputs are spikes');
    assert.ok(Math.abs(p.mean().item() - images.mean().item()) < 0.02, 'with the pixel values as rates');
    const snn = tinySnn().eval();
    const x = rand([5, 1, 8, 8], { generator: new Generator(4) }).mul(3);
    const out = snn.forwardSteps(x);
    assert.deepEqual(out.shape, [3, 5, 2]);
    assert.deepEqual(snn.forwardSteps(x).toArray(), out.toArray(), 'membranes start afresh at each call');
    assert.deepEqual(snn.forward(x).toArray(), out.mean(0).toArray());
    const seq = new neurons.SpikingClassifier(new nn.Sequential(new nn.Flatten(), new nn.Linear(2, 2)), { T: 3, encoding: 'sequence' });
    assert.match(errorOf(() => seq.forwardSteps(rand([4, 2, 2]))).message, /'sequence' input must be \[N, T = 3, \.\.\.\], got/);
  });
});

test('--init from a converted network: its thresholds go to the neurons in network order, whose spikes carry them', () => {
  const dir = tmp(), path = join(dir, 'converted.safetensors');
  saveModel(path, tinySnn(), { arch: 'tiny', snn: { thresholds: [1.5], layers: ['2'], shift: 'none', threshold: 'max', samples: 8 } });
  const make = (amplitude: 'one' | 'threshold', learnThreshold = false) => {
    const n = neurons.neuronFactory(3, { kind: 'if', amplitude, learnThreshold });
    return new neurons.SpikingClassifier(new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), n(),
      new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(64, 2)), { T: 3 });
  };
  const snn = make('threshold');
  assert.deepEqual(loadInitWeights(snn, path), []);
  assert.equal(snn.neurons()[0]![1].vTh, 1.5);
  const learnt = make('threshold', true);
  assert.deepEqual(loadInitWeights(learnt, path), [], 'a learnt threshold starts from the converted one');
  assert.ok(Math.abs(learnt.neurons()[0]![1].thresholdParam!.item() - 1.5) < 1e-7);
  assert.match(errorOf(() => loadInitWeights(make('one'), path)).message, /is a converted network, whose spikes carry the threshold; neuron '2' has amplitude 'one'/);
  saveModel(path, tinySnn(), { arch: 'tiny', snn: { thresholds: [1.5, 2], layers: ['2', '9'], shift: 'none', threshold: 'max', samples: 8 } });
  assert.match(errorOf(() => loadInitWeights(make('threshold'), path)).message, /has 2 thresholds but the model has 1 neuron layers/);
});

test('--init refuses calibrated SNN checkpoints instead of dropping what calibration changed', () => {
  const dir = tmp(), path = join(dir, 'calibrated.safetensors');
  saveModel(path, tinySnn(), { arch: 'tiny', snn: { thresholds: [1.5], calibration: { T: 3, steps: ['threshold'] } } });
  const e = errorOf(() => loadInitWeights(tinySnn(), path));
  assert.match(e.message, /calibrated\.safetensors is a calibrated SNN checkpoint; starting from one is not supported yet/);
  saveModel(path, tinySnn(), { arch: 'tiny' });
  assert.deepEqual(loadInitWeights(tinySnn(), path), [], 'the same weights without conversion metadata load');
});

test('every spiking zoo model gives per-step outputs; snn-cifar-resnet20 has exactly the parameter names of cifar-resnet20', () => {
  tidy(() => {
    for (const name of neurons.SPIKING_MODEL_NAMES) {
      const e = neurons.SPIKING_ZOO[name]!;
      const snn = neurons.createSpikingModel(name, { T: 2, neuron: { kind: 'plif' } });
      const x = name === 'snn-nmnist' ? rand([3, 2, ...e.inputShape]) : rand([3, ...e.inputShape]);
      assert.deepEqual(snn.forwardSteps(x).shape, [2, 3, 10], name);
    }
    const ann = nn.createModel('cifar-resnet20').namedParameters().map(([k]) => k);
    const snn = neurons.createSpikingModel('snn-cifar-resnet20', { T: 2 }).namedParameters().map(([k]) => k);
    assert.deepEqual(snn, ann);
  });
});

test('snn-nmnist reads frames stacked along the channels [N, 2T, 34, 34] (as event data sets load) as [N, T, 2, 34, 34]', () => {
  tidy(() => {
    // Training mode: batch norm on the batch's statistics makes the untrained layers fire (in eval mode few spikes
    // reach the output); the statistics are the same however the steps are laid out.
    const snn = neurons.createSpikingModel('snn-nmnist', { T: 3, generator: new Generator(1) });
    const x = rand([2, 3, 2, 34, 34]);
    const y = snn.forwardSteps(x);
    assert.ok(y.abs().max().item() > 0.1, 'the output depends on the input');
    assertClose(snn.forwardSteps(x.reshape(2, 6, 34, 34)), y, 0, 0);
    // Steps must not be confused with channels: swapping two frames changes the output.
    const swapped = x.indexSelect(1, tensor([1, 0, 2], { dtype: 'int64' }));
    assert.ok(snn.forwardSteps(swapped.reshape(2, 6, 34, 34)).sub(y).abs().max().item() > 0.01);
    assert.match(errorOf(() => snn.forwardSteps(rand([2, 4, 34, 34]))).message, /'sequence' input float32\[2,4,34,34\] does not hold T = 3 steps of \[2, 34, 34\]/);
  });
});
