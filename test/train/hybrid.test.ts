// Hybrid training: an SNN checkpoint (converted or calibrated) made trainable as it is. Its outputs are the
// simulated network's exactly, its surrogates scale to the thresholds, its checkpoints are SNN checkpoints that
// loadSnn rebuilds bit for bit, and training through time with a teacher moves it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/loader.js';
import { normalize } from '../../src/data/transforms.js';
import { loadDataset } from '../../src/data/registry.js';
import { convertToSnn } from '../../src/convert/converter.js';
import { loadCheckpoint, loadSnn, saveModel, saveSnn } from '../../src/models/checkpoint.js';
import { SpikingNeuron } from '../../src/neurons/neuron.js';
import { hybridFromCheckpoint } from '../../src/train/hybrid.js';
import { trainSnn } from '../../src/train/snn.js';
import { silentProgress } from '../../src/train/progress.js';
import { nn, full, noGrad, rand, tidy, Generator } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'snnkit-hybrid-'));

/** mnist-cnn with seeded weights, converted on 64 MNIST images, with a calibrated look: a tensor threshold and potentials. */
async function calibratedCheckpoint(dir: string): Promise<{ path: string; loader: DataLoader }> {
  const ds = await loadDataset('mnist', { split: 'test' });
  const small = { ...ds, images: ds.images.subarray(0, 128 * 784), labels: ds.labels.subarray(0, 128), length: 128 };
  const loader = new DataLoader(small, { batchSize: 32, transforms: [normalize([0.1307], [0.3081])], workers: 0 });
  const ann = nn.createModel('mnist-cnn', { generator: new Generator(5) });
  const converted = await convertToSnn(ann, { calibration: loader, samples: 64 });
  const layers = converted.snn.namedModules().filter((e): e is [string, SpikingNeuron] => e[1] instanceof SpikingNeuron);
  const [, first] = layers[0]!, [, second] = layers[1]!;
  first.setThreshold(full([32, 1, 1], first.vTh as number).mul(rand([32, 1, 1], { generator: new Generator(1) }).add(0.5)).keep());
  second.setInitialPotential(0.3 * (second.vTh as number));
  const path = join(dir, 'cal.safetensors');
  saveSnn(path, ann, converted, { arch: 'mnist-cnn', dataset: 'mnist', mean: [0.1307], std: [0.3081], shift: 'none', threshold: 'max',
    calibration: { T: 3, steps: ['threshold', 'potential'] } });
  return { path, loader };
}

test('HybridSnn gives the simulated network\'s outputs, scales each surrogate to its threshold, and saves SNN checkpoints that loadSnn rebuilds', async () => {
  const dir = tmp();
  const { path, loader } = await calibratedCheckpoint(dir);
  const { model, meta } = await hybridFromCheckpoint(path);
  assert.equal(model.T, 3, 'the T it was calibrated for');
  assert.deepEqual((meta['snn'] as { calibration: unknown }).calibration, { T: 3, steps: ['threshold', 'potential', 'hybrid'] });
  const ref = await loadSnn(path);
  const batch = (await loader.epoch(0)[Symbol.asyncIterator]().next()).value!;
  tidy(() => {
    model.eval();
    const steps = noGrad(() => ref.converted.snn.forward(batch.x.unsqueeze(0).expand(3, ...batch.x.shape)));
    assertClose(noGrad(() => model.forwardSteps(batch.x)), steps, 0, 0);
  });
  // Each layer's arctangent sharpness is 2 / V_th (the mean of a tensor threshold).
  for (const [name, n] of model.neurons()) {
    const th = n.vTh, v = typeof th === 'number' ? th : tidy(() => th.mean().item());
    assert.ok(Math.abs(n.options.surrogate.param - 2 / v) < 1e-6 * (2 / v), `${name}: sharpness ${n.options.surrogate.param} vs 2/${v}`);
  }
  // Change the SNN's weights, save through the trainer's path (saveModel → stateDict), rebuild with loadSnn: same outputs.
  noGrad(() => { for (const p of model.parameters()) p.mul_(1.1); });
  const saved = join(dir, 'hybrid.safetensors');
  saveModel(saved, model, meta);
  const back = await loadSnn(saved);
  tidy(() => {
    const x = batch.x.unsqueeze(0).expand(3, ...batch.x.shape);
    assertClose(noGrad(() => back.converted.snn.forward(x)), noGrad(() => model.forwardSteps(batch.x)), 0, 0);
  });
  const ck = loadCheckpoint(saved), src = loadCheckpoint(path);
  for (const k of Object.keys(src.weights).filter((k) => !k.startsWith('snn.'))) assertClose(ck.weights[k], src.weights[k], 0, 0, `ANN tensor ${k} unchanged`);
  ck.dispose(); src.dispose();
  // loadStateDict (the trainer's resume) puts every SNN tensor back.
  const fresh = (await hybridFromCheckpoint(path)).model;
  tidy(() => fresh.loadStateDict(model.stateDict()));
  tidy(() => assertClose(noGrad(() => fresh.forwardSteps(batch.x)), noGrad(() => model.forwardSteps(batch.x)), 0, 0));
  // Learnt thresholds (a number or a tensor each) are parameters; they round-trip through the checkpoint too.
  const learnt = (await hybridFromCheckpoint(path, { learnThreshold: true })).model;
  const names = learnt.namedParameters().map(([k]) => k).filter((k) => k.endsWith('.vTh'));
  assert.equal(names.length, learnt.neurons().length);
  noGrad(() => { for (const [k, p] of learnt.namedParameters()) if (k.endsWith('.vTh')) p.mul_(0.8); });
  const savedTh = join(dir, 'learnt.safetensors');
  saveModel(savedTh, learnt, meta);
  const backTh = await loadSnn(savedTh);
  const resumed = (await hybridFromCheckpoint(path, { learnThreshold: true })).model;
  tidy(() => resumed.loadStateDict(learnt.stateDict()));
  tidy(() => {
    const want = noGrad(() => learnt.forwardSteps(batch.x));
    const before = noGrad(() => ref.converted.snn.forward(batch.x.unsqueeze(0).expand(3, ...batch.x.shape)));
    assert.ok(want.sub(before).abs().max().item() > 0, 'lower thresholds change the outputs');
    assertClose(noGrad(() => backTh.converted.snn.forward(batch.x.unsqueeze(0).expand(3, ...batch.x.shape))), want, 0, 0);
    assertClose(noGrad(() => resumed.forwardSteps(batch.x)), want, 0, 0);
  });
  batch.dispose();
  await loader.close();
});

test('hybrid training with the ANN as teacher lowers the loss; signed networks and unscalable surrogates are refused', async () => {
  const dir = tmp();
  const { path, loader } = await calibratedCheckpoint(dir);
  const { model, ann, meta } = await hybridFromCheckpoint(path, { T: 2 });
  assert.equal(model.T, 2);
  const r = await trainSnn({ model, train: loader, test: loader, epochs: 3, optimizer: 'adam', lr: 1e-3, weightDecay: 0, seed: 1, outDir: join(dir, 'run'),
    teacher: ann, distill: { weight: 1, temperature: 2 }, progress: silentProgress, meta });
  assert.ok(r.history[2]!.trainLoss < r.history[0]!.trainLoss, `loss ${r.history.map((h) => h.trainLoss.toFixed(3)).join(' → ')}`);
  assert.equal((await loadSnn(r.lastPath)).snnMeta.calibration?.T, 2, 'the checkpoint is an SNN checkpoint for T = 2');
  // The same run again resumes from last.safetensors (weights and optimizer state into a freshly built HybridSnn), done.
  const again = await hybridFromCheckpoint(path, { T: 2 });
  const r4 = await trainSnn({ model: again.model, train: loader, test: loader, epochs: 3, optimizer: 'adam', lr: 1e-3, weightDecay: 0, seed: 1,
    outDir: join(dir, 'run'), teacher: again.ann, distill: { weight: 1, temperature: 2 }, progress: silentProgress, meta });
  assert.equal(r4.resumedFrom, 3);
  assert.deepEqual(r4.history.map((h) => h.testAccuracy), r.history.map((h) => h.testAccuracy));
  tidy(() => assertClose(again.model.stateDict()['snn.features.0.module.weight'], loadCheckpoint(r.lastPath).weights['snn.features.0.module.weight'], 0, 0));
  const { surrogate } = await import('../../src/index.js');
  await assert.rejects(hybridFromCheckpoint(path, { surrogate: surrogate.dspike({ b: 3 }) }), /the dspike\(b=3\) surrogate cannot be scaled to the thresholds/);
  await assert.rejects(trainSnn({ model, train: loader, test: loader, epochs: 1, outDir: join(dir, 'x'), teacher: ann, meta }), /give both teacher and distill/);
  // Signed neurons (ternary spikes) have no surrogate path through their take-back: refused by name.
  const ann2 = nn.createModel('mnist-cnn', { generator: new Generator(5) });
  const signedPath = join(dir, 'signed.safetensors');
  saveSnn(signedPath, ann2, await convertToSnn(ann2, { calibration: loader, samples: 32, signed: true }), { arch: 'mnist-cnn', shift: 'none', threshold: 'max' });
  await assert.rejects(hybridFromCheckpoint(signedPath, { T: 2 }), /signed\.safetensors has signed IF neurons; hybrid training takes binary IF networks/);
  await loader.close();
});
