import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nn, data, convert, calibrate, optim, F, tidy, noGrad, Generator, neurons, type Tensor } from '../../src/index.js';

/** MNIST CNN trained for one short epoch on 3200 images: enough to have real activations to calibrate. */
async function setup() {
  const norm = [data.normalize([0.1307], [0.3081])];
  const all = data.loadMnist({ split: 'train' });
  const take = (from: number, n: number) => ({ ...all, images: all.images.subarray(from * 784, (from + n) * 784), labels: all.labels.subarray(from, from + n), length: n });
  const ann = nn.createModel('mnist-cnn', { generator: new Generator(0) });
  const opt = new optim.SGD(ann.parameters(), { lr: 0.05, momentum: 0.9 });
  for await (const b of new data.DataLoader(take(0, 3200), { batchSize: 64, shuffle: true, transforms: norm, workers: 0 }).epoch(0)) {
    tidy(() => { opt.zeroGrad(); F.crossEntropy(ann.forward(b.x), b.y).backward(); opt.step(); });
    b.dispose();
  }
  ann.eval();
  const calib = new data.DataLoader(take(10000, 512), { batchSize: 128, transforms: norm, workers: 0 });
  const heldOut = new data.DataLoader(take(20000, 256), { batchSize: 256, transforms: norm, workers: 0 });
  return { ann, calib, heldOut };
}

/** Mean squared difference between the SNN's time-averaged output and the ANN's logits on a held-out batch. */
async function outputError(snn: nn.Module, ann: nn.Module, loader: data.DataLoader, T: number): Promise<number> {
  let err = 0;
  for await (const b of loader.epoch(0)) {
    err += tidy(() => noGrad(() => {
      snn.resetMemories();
      const out: Tensor = snn.forward(new neurons.DirectEncoder(T).forward(b.x)).mean(0);
      snn.resetMemories();
      return out.sub(ann.forward(b.x)).square().mean().item();
    }));
    b.dispose();
  }
  return err;
}

test('each calibration step lowers the error it targets, measured on held-out samples', async () => {
  const { ann, calib, heldOut } = await setup();
  const T = 4;
  const errs: Record<string, number> = {}, acc: Record<string, number> = {}, isolated: Record<string, number[]> = {};
  for (const [name, steps] of [['none', {}], ['threshold', { threshold: true }], ['light', { threshold: true, bias: true }], ['advanced', { threshold: true, bias: true, potential: true }]] as const) {
    const c = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 512, steps });
    errs[name] = await outputError(c.snn, ann, heldOut, T);
    acc[name] = (await convert.simulate(c.snn, heldOut, { T: [T] })).accuracy[0]!;
    isolated[name] = (await convert.analyzeConversion(ann, c, heldOut, [T], { shift: true })).layers.map((l) => l.totalRms[T]!);
    c.snn.dispose();
  }
  // The threshold search minimises each layer's own clipfloor error (its inputs taken from the ANN).
  isolated['threshold']!.forEach((e, l) => assert.ok(e <= isolated['none']![l]! + 1e-6, `layer ${l}: isolated RMS error ${e} after the search vs ${isolated['none']![l]} with max thresholds`));
  // Bias and potential correction lower what the corrected layers pass on: the network's output error.
  assert.ok(errs['light']! < errs['threshold']!, `bias correction: ${errs['light']} vs ${errs['threshold']}`);
  assert.ok(errs['advanced']! < errs['light']!, `potential correction: ${errs['advanced']} vs ${errs['light']}`);
  assert.ok(Object.values(acc).every((a) => a > 0.1), 'every pipeline still classifies');
});

test('the threshold search picks, on each grid, the value with the smallest clipfloor error', async () => {
  const { ann, calib } = await setup();
  for (const grid of ['ref', 'linear'] as const) {
    const r = await calibrate.searchThresholds(ann, calib, { T: 8, shift: true, grid, samples: 256 });
    assert.equal(r.thresholds.length, 3);
    r.thresholds.forEach((v, l) => assert.ok(v > 0 && v <= r.max[l]! + 1e-9, `layer ${l}: ${v} within (0, max ${r.max[l]}]`));
  }
});
