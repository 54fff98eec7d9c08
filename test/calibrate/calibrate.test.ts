import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nn, data, convert, calibrate, optim, F, models, tidy, noGrad, Generator, neurons, randn, rand, tensor, type Tensor } from '../../src/index.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { subsampleRows } from '../../src/calibrate/threshold.js';
import { assertClose, errorOf } from '../helpers.js';

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
  const weight = { iterations: 300, lr: 1e-3, batchSize: 32 };
  const spikeWeight = { objective: 'spikes', iterations: 60, lr: 1e-3, batchSize: 32 } as const;
  for (const [name, steps, w] of [['none', {}], ['threshold', { threshold: true }], ['light', { threshold: true, bias: true }], ['advanced', { threshold: true, bias: true, potential: true }],
    ['threshold+weight', { threshold: true, weight: true }], ['threshold+weight(spikes)', { threshold: true, weight: true }, spikeWeight],
    ['advanced+distill', { threshold: true, bias: true, potential: true, distill: true }],
    ['quantize+advanced', { quantize: true, threshold: true, bias: true, potential: true }]] as const) {
    const calls: Record<string, [number, number, number][]> = { distill: [], quantize: [] };
    const c = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 512, steps, weight: w ?? weight,
      distill: { epochs: 2, lr: 1e-3, augment: 'crop', onStep: (...a) => calls['distill']!.push(a) },
      quantize: { epochs: 4, lr: 1e-3, augment: 'crop', onStep: (...a) => calls['quantize']!.push(a) } });
    // Fine-tuning reports each step (the CLI's progress bar): steps 1..total, epochs × 512/32 minibatches, finite losses.
    for (const [step, epochs] of [['distill', 2], ['quantize', 4]] as const) {
      const expected = (steps as calibrate.CalibrationSteps)[step] ? epochs * (512 / (step === 'distill' ? 32 : 64)) : 0;
      assert.deepEqual(calls[step]!.map(([d, t]) => [d, t]), Array.from({ length: expected }, (_, i) => [i + 1, expected]), `${name}: ${step} progress`);
      assert.ok(calls[step]!.every(([, , l]) => Number.isFinite(l) && l >= 0));
    }
    errs[name] = await outputError(c.snn, ann, heldOut, T);
    acc[name] = (await convert.simulate(c.snn, heldOut, { T: [T] })).accuracy[0]!;
    isolated[name] = (await convert.analyzeConversion(ann, c, heldOut, [T], { shift: true })).layers.map((l) => l.totalRms[T]!);
    // The report: one entry per neuron, an error before any step and one after each step asked for.
    assert.equal(c.layers.length, 3);
    // After quantize the first entry is that step's (the threshold is learnt there, so no threshold entry follows).
    const s = steps as calibrate.CalibrationSteps;
    for (const l of c.layers) assert.deepEqual(l.errors.map((e) => e.step), [s.quantize ? 'quantize' : 'converted', ...calibrate.STEP_NAMES.filter((k) => !['distill', 'quantize'].includes(k) && !(k === 'threshold' && s.quantize) && s[k])]);
    c.snn.dispose();
  }
  // The threshold search minimises each layer's own clipfloor error (its inputs taken from the ANN).
  isolated['threshold']!.forEach((e, l) => assert.ok(e <= isolated['none']![l]! + 1e-6, `layer ${l}: isolated RMS error ${e} after the search vs ${isolated['none']![l]} with max thresholds`));
  // Bias, potential and weight calibration lower what the calibrated layers pass on: the network's output error.
  assert.ok(errs['light']! < errs['threshold']!, `bias correction: ${errs['light']} vs ${errs['threshold']}`);
  assert.ok(errs['advanced']! < errs['light']!, `potential correction: ${errs['advanced']} vs ${errs['light']}`);
  assert.ok(errs['threshold+weight']! < errs['threshold']!, `weight calibration: ${errs['threshold+weight']} vs ${errs['threshold']}`);
  assert.ok(errs['advanced+distill']! < errs['advanced']!, `distillation: ${errs['advanced+distill']} vs ${errs['advanced']}`);
  assert.ok(errs['quantize+advanced']! < errs['advanced']!, `quantization fine-tuning: ${errs['quantize+advanced']} vs ${errs['advanced']}`);
  assert.ok(errs['threshold+weight(spikes)']! < errs['threshold']!, `weight calibration through spikes: ${errs['threshold+weight(spikes)']} vs ${errs['threshold']}`);
  assert.ok(Object.values(acc).every((a) => a > 0.1), 'every pipeline still classifies');
});

test('per-channel thresholds and the SNN-side searches: one threshold per channel, each layer error not above the per-layer one', async () => {
  const { ann, calib, heldOut } = await setup();
  const T = 4;
  const layer = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { threshold: true } });
  const chan = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { threshold: true }, perChannel: true });
  const snnSide = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { threshold: true }, thresholdSource: 'snn', perChannel: true });
  const convs = [...ann.namedModules()].filter(([, m]) => m instanceof nn.Conv2d).map(([, m]) => (m as nn.Conv2d).outChannels);
  chan.layers.forEach((l, i) => {
    assert.ok(Array.isArray(l.vTh), `layer ${i} has per-channel thresholds`);
    if (i < convs.length) assert.equal((l.vTh as number[]).length, convs[i]);
    (l.vTh as number[]).forEach((v) => assert.ok(v > 0 && v <= l.max + 1e-6));
  });
  const neuronsOf = (m: nn.Module) => [...m.namedModules()].map(([, x]) => x).filter((x) => x instanceof neurons.IF) as neurons.IF[];
  assert.deepEqual((neuronsOf(chan.snn)[0]!.vTh as Tensor).shape, [convs[0], 1, 1]);
  // The searches minimise on the calibration data: per channel or per layer, the first layer's error there is at most
  // what the max threshold gives (the first layer's input is the same in the ANN and the SNN).
  for (const c of [layer, chan, snnSide]) assert.ok(c.layers[0]!.errors[1]!.mse <= c.layers[0]!.errors[0]!.mse + 1e-9);
  // quantize learns per-channel thresholds too: they keep the per-channel shape
  // It draws on quantize.samples of the calibration data (384 of 512: 6 minibatches of 64) while distill keeps to the
  // walk's 256 (8 of 32).
  const seen = { quantize: 0, distill: 0 };
  const quant = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { quantize: true, threshold: true, distill: true }, perChannel: true,
    quantize: { samples: 384, epochs: 1, augment: 'none', onStep: (_, t) => { seen.quantize = t; } }, distill: { epochs: 1, onStep: (_, t) => { seen.distill = t; } } });
  assert.deepEqual(seen, { quantize: 6, distill: 8 });
  assert.deepEqual((neuronsOf(quant.snn)[0]!.vTh as Tensor).shape, [convs[0], 1, 1]);
  // The simulated search: the first layer's current is constant over time, so it lands where the clipfloor search on
  // the SNN's mean current does (up to the two searches' different subsamples: a grid point or two).
  const snnLayer = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { threshold: true }, thresholdSource: 'snn' });
  const sim = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { threshold: true }, thresholdSource: 'spikes' });
  const [v0, s0] = [sim.layers[0]!, snnLayer.layers[0]!];
  assert.ok(Math.abs((v0.vTh as number) - (s0.vTh as number)) <= 0.021 * v0.max, `first layer: simulated ${v0.vTh} vs clipfloor ${s0.vTh}`);
  assert.ok(v0.errors[1]!.mse <= v0.errors[0]!.mse + 1e-9);
  for (const c of [chan, snnSide, quant, sim]) assert.ok((await convert.simulate(c.snn, heldOut, { T: [T] })).accuracy[0]! > 0.5);
  for (const c of [layer, chan, snnSide, quant, snnLayer, sim]) c.snn.dispose();
});

test('gridSearch returns, per row, the grid value with the smallest clipfloor error (checked by brute force)', () => {
  tidy(() => {
    const x = randn([3, 500], { generator: new Generator(4) }).mul(tensor([[1], [2], [0.5]]));
    const target = x.relu();
    const max = [...(target.amax(1).toTypedArray() as Float32Array)];
    for (const grid of calibrate.THRESHOLD_GRIDS) for (const shift of [false, true]) {
      const got = calibrate.gridSearch(x, target, max, { T: 8, shift, grid, points: 50 });
      const xs = [0, 1, 2].map((r) => [...(x.select(0, r).toTypedArray() as Float32Array)]);
      got.forEach((v, r) => {
        const err = (V: number) => xs[r]!.reduce((s, xi) => { const q = (V / 8) * Math.min(8, Math.max(0, Math.floor((xi * 8) / V + (shift ? 0.5 : 0)))); return s + (q - Math.max(0, xi)) ** 2; }, 0);
        const best = Math.min(...calibrate.gridFractions(grid, 50).map((f) => err(max[r]! * f)));
        assert.ok(Math.abs(err(v) - best) <= 1e-6 * Math.max(1, best), `row ${r}, ${grid}, shift ${shift}: ${err(v)} vs best ${best}`);
      });
    }
  });
});

test('calibration options and steps are checked, naming what is wrong', async () => {
  const { ann, calib } = await setup();
  assert.throws(() => calibrate.parseSteps('threshold,bias,magic'), /calibrate: argument 'steps' must be a comma-separated list of quantize, threshold, weight, bias, potential, distill, got 'magic'/);
  assert.deepEqual(calibrate.parseSteps('bias, threshold'), { bias: true, threshold: true });
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 0, calibration: calib, steps: {} }), /T/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { weight: true }, weight: { lr: -1 } }), /weight\.lr/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: {}, thresholdSource: 'both' as never }), /thresholdSource/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { threshold: true }, thresholdSource: 'spikes', perChannel: true }), /argument 'thresholdSource' must be 'ann' or 'snn' with per-channel thresholds or signed neurons/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { weight: true }, weight: { objective: 'fast' as never } }), /argument 'weight.objective' must be 'rate', 'spikes' or 'rate\+spikes', got 'fast'/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { weight: true }, weight: { iterations: 0 } }), /weight\.iterations/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { quantize: true }, quantize: { augment: 'rotate' as never } }), /argument 'quantize.augment' must be 'none', 'crop', 'crop\+flip', got 'rotate'/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { quantize: true }, quantize: { thresholdLr: 0 } }), /quantize\.thresholdLr/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { quantize: true }, quantize: { samples: 0 } }), /argument 'quantize.samples' must be a positive integer, got 0/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { quantize: true }, quantize: { levels: 2.5 } }), /argument 'quantize.levels' must be a positive integer, got 2.5/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: { distill: true }, distill: { epochs: 1.5 } }), /distill\.epochs/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: {}, thresholdAggregate: 'median' as never }), /argument 'thresholdAggregate' must be 'all' or 'ema', got 'median'/);
  await assert.rejects(calibrate.calibrateSnn(ann, { T: 4, calibration: calib, steps: {}, shift: 'late' as never }), /argument 'shift' must be 'none', 'potential', 'bias', got 'late'/);
  const signed = await convert.convertToSnn(ann, { calibration: calib, samples: 128, signed: true });
  await assert.rejects(convert.analyzeConversion(ann, signed, calib, [4]), /analyzeConversion: the network has signed IF neurons; the analysis models IF neurons only/);
  signed.snn.dispose();
});

test('bias correction needs a conv/linear layer right before the neuron: a neuron after pooling is named', async () => {
  const net = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.AvgPool2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 13 * 13, 10));
  const ds = { ...data.loadMnist({ split: 'test' }) };
  const loader = new data.DataLoader({ ...ds, images: ds.images.subarray(0, 64 * 784), labels: ds.labels.subarray(0, 64), length: 64 }, { batchSize: 64, workers: 0 });
  await assert.rejects(calibrate.calibrateSnn(net, { T: 4, calibration: loader, steps: { bias: true } }), /the neuron '2' is not fed directly by a convolution or linear layer with a bias/);
  const ok = await calibrate.calibrateSnn(net, { T: 4, calibration: loader, steps: { threshold: true, potential: true } });
  assert.equal(ok.layers.length, 1);
  ok.snn.dispose();
});

test('a calibrated SNN checkpoint reloads to the same network (weights, thresholds, initial potentials, signed neurons, bias shift)', async () => {
  const { ann, calib } = await setup();
  for (const variant of [{ perChannel: true }, { signed: true, shift: 'bias' as const }]) {
    const c = await calibrate.calibrateSnn(ann, { T: 4, calibration: calib, samples: 256, steps: { threshold: true, bias: true, potential: true }, ...variant });
    const dir = mkdtempSync(join(tmpdir(), 'snnkit-cal-'));
    try {
      const path = join(dir, 'snn.safetensors');
      // the bias shift lives in the calibrated biases: the checkpoint's conversion has no potential shift
      models.saveSnn(path, ann, c, { arch: 'mnist-cnn', shift: 'shift' in variant ? 'none' : 'potential', threshold: 'max', calibration: { T: 4, steps: ['threshold', 'bias', 'potential'] } });
      const back = await models.loadSnn(path);
      assert.deepEqual(back.snnMeta.calibration, { T: 4, steps: ['threshold', 'bias', 'potential'] });
      const kinds = (m: nn.Module) => m.modules().filter((x) => x instanceof neurons.SpikingNeuron).map((x) => x.constructor.name);
      assert.deepEqual(kinds(back.converted.snn), kinds(c.snn));
      assert.ok(kinds(c.snn).every((k) => k === ('signed' in variant ? 'SignedIF' : 'IF')));
      tidy(() => noGrad(() => {
        const x = new neurons.DirectEncoder(4).forward(rand([8, 1, 28, 28], { generator: new Generator(3) }));
        c.snn.resetMemories();
        back.converted.snn.resetMemories();
        assertClose(back.converted.snn.forward(x), c.snn.forward(x), 0, 0);
      }));
      back.converted.snn.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      c.snn.dispose();
    }
  }
});

const shared = join(process.cwd(), '..', 'shared');
const onnxFile = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.onnx');
test('an imported ONNX ResNet-20 calibrates exactly like the zoo model (residual blocks included)', { skip: !existsSync(onnxFile) && 'no ../shared' }, async () => {
  const graph = models.loadOnnx(onnxFile);
  const ck = loadCheckpoint(join(shared, 'models/cifar10-resnet20/cifar10-resnet20.safetensors'));
  const zoo = nn.createModel('cifar-resnet20');
  zoo.loadStateDict(ck.weights);
  ck.dispose();
  const ds = await data.loadDataset('cifar10', { data: join(shared, 'data/cifar10-exact-subset/train_first4000.bin'), split: 'train' });
  const small = { ...ds, images: ds.images.subarray(0, 64 * 3072), labels: ds.labels.subarray(0, 64), length: 64 };
  const loader = new data.DataLoader(small, { batchSize: 32, transforms: [data.normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])], workers: 0 });
  const o = { T: 4, calibration: loader, samples: 64, correctionSamples: 64, steps: calibrate.PIPELINES.advanced };
  const a = await calibrate.calibrateSnn(graph, o), b = await calibrate.calibrateSnn(zoo, o);
  assert.equal(a.layers.length, 19);
  a.layers.forEach((l, i) => {
    assert.ok(Math.abs((l.vTh as number) - (b.layers[i]!.vTh as number)) <= 1e-4 * (l.vTh as number), `layer ${i}: ${l.vTh} vs ${b.layers[i]!.vTh}`);
    // Spikes near threshold may flip between the two (float rounding differs, and with it the CPU's kernels), and the
    // flips add up over the layers, so the errors agree to 10%: the largest gaps measured are in the last layer, 2.4%
    // with the thresholds searched on the maps' borders (before af478d5) and 5.5% since, on 2 AVX2 cores.
    l.errors.forEach((e, j) => assert.ok(Math.abs(e.mse - b.layers[i]!.errors[j]!.mse) <= 1e-1 * b.layers[i]!.errors[j]!.mse + 1e-7, `layer ${i} ${e.step}: ${e.mse} vs ${b.layers[i]!.errors[j]!.mse}`));
    assert.ok(l.errors[l.errors.length - 1]!.mse < l.errors[0]!.mse, `layer ${i}: calibration lowers its error`);
  });
  // Thresholds equal to float rounding still flip the odd spike, which 19 layers at T = 4 amplify: the two SNNs'
  // agreement with the ANN on these 64 images differed by 0.02 on 2 AVX-512 cores and by 0.11 (7 images) on 2 AVX2
  // cores, with the same code. So both must work (agree with the ANN on at least half), and differ by at most 10 images.
  const sa = await convert.simulate(a.snn, loader, { T: [4], ann: zoo }), sb = await convert.simulate(b.snn, loader, { T: [4], ann: zoo });
  assert.ok(Math.abs(sa.agreement![0]! - sb.agreement![0]!) <= 10 / 64, `agreement with the ANN: graph ${sa.agreement![0]} vs zoo ${sb.agreement![0]}`);
  for (const [what, s0] of [['graph', sa], ['zoo', sb]] as const) assert.ok(s0.agreement![0]! >= 0.5, `the calibrated ${what} at T = 4 agrees with the ANN on ${s0.agreement![0]}`);
  a.snn.dispose();
  b.snn.dispose();
});

test('the threshold search picks, on each grid, the value with the smallest clipfloor error', async () => {
  const { ann, calib } = await setup();
  for (const grid of ['ref', 'linear'] as const) {
    const r = await calibrate.searchThresholds(ann, calib, { T: 8, shift: true, grid, samples: 256 });
    assert.equal(r.thresholds.length, 3);
    r.thresholds.forEach((t, l) => { const v = t as number; assert.ok(v > 0 && v <= r.max[l]! + 1e-9, `layer ${l}: ${v} within (0, max ${r.max[l]}]`); });
  }
});

test('augmentImages: each image is the zero-padded original shifted by at most 4 pixels, mirrored only with crop+flip', () => {
  tidy(() => {
    const x = rand([24, 2, 10, 12], { generator: new Generator(1) });
    assert.equal(calibrate.augmentImages(x, 'none', new Generator(0)), x);
    const flat = x.flatten(1);
    assert.equal(calibrate.augmentImages(flat, 'crop+flip', new Generator(0)), flat, 'not images: unchanged');
    const padded = x.pad([4, 4, 4, 4]);
    for (const kind of ['crop', 'crop+flip'] as const) {
      const y = calibrate.augmentImages(x, kind, new Generator(2));
      assert.deepEqual(y.shape, x.shape);
      let flipped = 0, moved = 0;
      for (let i = 0; i < 24; i++) {
        const yi = y.select(0, i);
        let found: { dy: number; dx: number; flip: boolean } | undefined;
        for (let dy = 0; dy <= 8 && !found; dy++) for (let dx = 0; dx <= 8 && !found; dx++) for (const flip of [false, true]) {
          const c = padded.select(0, i).narrow(1, dy, 10).narrow(2, dx, 12);
          if ((flip ? c.flip(2) : c).sub(yi).abs().amax().item() === 0) { found = { dy, dx, flip }; break; }
        }
        assert.ok(found, `${kind}: image ${i} is not a shifted (or mirrored) copy of its original`);
        if (found.flip) flipped++;
        if (found.dy !== 4 || found.dx !== 4) moved++;
      }
      if (kind === 'crop') assert.equal(flipped, 0);
      else assert.ok(flipped > 3 && flipped < 21, `about half mirrored: ${flipped} of 24`);
      assert.ok(moved > 12, `most images shifted: ${moved} of 24`);
    }
  });
});

test('signed IF neurons: the calibrated SNN errs less at T = 4 than with IF, and the shift can be a per-step bias', async () => {
  const { ann, calib, heldOut } = await setup();
  const T = 4, errs: Record<string, number> = {};
  for (const [name, extra] of [['IF', {}], ['signed', { signed: true }], ['IF, bias shift', { shift: 'bias' as const }]] as const) {
    const c = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: calibrate.PIPELINES.advanced, ...extra });
    errs[name] = await outputError(c.snn, ann, heldOut, T);
    const ns = c.snn.modules().filter((m) => m instanceof neurons.SpikingNeuron) as neurons.SpikingNeuron[];
    if (name === 'signed') assert.ok(ns.every((n) => n instanceof neurons.SignedIF));
    // The bias form leaves v(0) to potential correction alone (no V_th/2 in it) and puts V_th/2T into the biases.
    if (name === 'IF, bias shift') assert.ok((await convert.simulate(c.snn, heldOut, { T: [T] })).accuracy[0]! > 0.5);
    c.snn.dispose();
  }
  assert.ok(errs['signed']! < errs['IF']!, `signed ${errs['signed']} vs IF ${errs['IF']}`);
  // The bias form, no other step: each neuron starts at 0 and the conv/linear feeding it has V_th/2T more bias.
  const plain = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: {} });
  const biased = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: {}, shift: 'bias' });
  const ps = calibrate.lower(plain.snn), bs = calibrate.lower(biased.snn);
  let checked = 0;
  bs.nodes.forEach((n, k) => {
    if (n.kind !== 'neuron') return;
    const neuron = n.module as neurons.SpikingNeuron, before = ps.nodes[k]!.module as neurons.SpikingNeuron;
    assert.equal(neuron.v0, undefined);
    assert.equal(before.v0, (before.vTh as number) / 2);
    const diff = tidy(() => calibrate.biasLayerOf(bs, k).bias!.sub(calibrate.biasLayerOf(ps, k).bias!));
    assertClose(diff, tidy(() => diff.mul(0).add((neuron.vTh as number) / (2 * T))), 1e-6, 0);
    checked++;
  });
  assert.equal(checked, 3);
  plain.snn.dispose();
  biased.snn.dispose();
});

test("the threshold search's EMA aggregate is the authors': a search per batch, averaged with momentum 0.9 (first layer, recomputed by hand)", async () => {
  const { ann, calib } = await setup();
  const r = await calibrate.searchThresholds(ann, calib, { T: 8, shift: false, samples: 256, aggregate: 'ema', perBatch: 1e9 });
  const all = await calibrate.searchThresholds(ann, calib, { T: 8, shift: false, samples: 256, perBatch: 1e9 });
  const folded = convert.foldNetwork(ann), p = calibrate.lower(folded);
  const first = p.nodes.findIndex((n) => n.kind === 'neuron');
  let ema: number | undefined, seen = 0;
  for await (const b of calib.epoch(0)) {
    tidy(() => noGrad(() => {
      const vals = new Map<string, Tensor>([[p.input, b.x]]);
      for (const n of p.nodes.slice(0, first)) vals.set(n.name, n.run(n.inputs.map((i) => vals.get(i)!)));
      const z = vals.get(p.nodes[first]!.inputs[0]!)!.flatten().unsqueeze(0);
      const v = calibrate.gridSearch(z, z.relu(), [z.amax().item()], { T: 8, shift: false })[0]!;
      ema = ema === undefined ? v : 0.9 * ema + 0.1 * v;
    }));
    seen += b.x.shape[0]!;
    b.dispose();
    if (seen >= 256) break;
  }
  folded.dispose();
  const got = r.thresholds[0] as number;
  assert.ok(Math.abs(got - ema!) <= 1e-5 * ema!, `EMA aggregate ${got} vs by hand ${ema}`);
  assert.notEqual(got, all.thresholds[0], 'differs from the search over all samples');
});

test('the threshold search samples every column of a feature map alike, where a plain stride would keep only the border', () => {
  // [N, C, H, W] = [128, 16, 32, 32] flattened: 2^21 values, each its column w; a budget of 65536 is one in 32, and a
  // stride of 32 would pick w = 0 every time.
  const W = 32, n = 1 << 21;
  const cols = Float32Array.from({ length: n }, (_, i) => i % W);
  tidy(() => {
    const x = tensor(cols, [1, n]);
    const a = subsampleRows(x, 65536), b = subsampleRows(x.mul(2), 65536);
    assert.deepEqual(a.shape, [1, 65536]);
    const picked = a.toTypedArray() as Float32Array, counts = new Array<number>(W).fill(0);
    for (const w of picked) counts[w]! += 1;
    // one place drawn uniformly in each window of 32: each column about 2048 times (binomial sd about 44)
    for (const [w, c] of counts.entries()) assert.ok(Math.abs(c - 2048) < 300, `column ${w} drawn ${c} times of 65536`);
    assertClose(b, a.mul(2), 0, 0, 'two tensors of one shape are sampled at the same places');
    assert.deepEqual([...subsampleRows(x, 1e9).shape], [1, n], 'within the budget: everything');
  });
});

test('the simulated threshold search: the clipfloor search when the current is constant, the brute-force argmin when it is not', () => {
  tidy(() => {
    const g = new Generator(3), T = 8;
    // constant current: the IF neuron starting at V/2 fires round(T·x/V) times, clipped: exactly clipfloor with the shift
    const x = randn([1, 3000], { generator: g }).add(0.3);
    const max = x.relu().amax().item();
    const viaModel = calibrate.gridSearch(x, x.relu(), [max], { T, shift: true })[0]!;
    const viaSim = calibrate.simulatedSearch([x.expand(T, 3000)], [x.relu().squeeze(0)], max, { T, start: 0.5, stepBias: 0 });
    assert.ok(Math.abs(viaSim - viaModel) < 1e-6 * max, `constant current: ${viaSim} vs clipfloor ${viaModel}`);
    // varying current: every candidate simulated by hand in plain numbers
    const I = randn([T, 400], { generator: g }).mul(0.8).add(0.2), a = I.mean(0).relu();
    const top = a.amax().item(), cur = I.toArray() as number[][], target = a.toArray() as number[];
    let best = Infinity, bestV = 0;
    for (const f of calibrate.gridFractions('linear', 40)) {
      const V = top * f;
      let err = 0;
      for (let j = 0; j < 400; j++) {
        let v = 0, n = 0;
        for (let t = 0; t < T; t++) { v += cur[t]![j]! + 0.5 * V / T; if (v >= V) { v -= V; n++; } }
        err += (n * V / T - target[j]!) ** 2;
      }
      if (err < best) [best, bestV] = [err, V];
    }
    const got = calibrate.simulatedSearch([I], [a], top, { T, start: 0, stepBias: 0.5, grid: 'linear', points: 40 });
    assert.ok(Math.abs(got - bestV) < 1e-5 * top, `simulated search ${got} vs brute force ${bestV}`);
  });
});

test('a fine-tuning step whose loss or gradient is not finite stops before the optimizer step, naming the group', () => {
  const teacher = new nn.Linear(4, 2, { generator: new Generator(1) }).eval();
  const w = randn([2, 4], { generator: new Generator(2) }).requiresGrad_().keep();
  const before = w.clone().keep();
  const x = randn([8, 4], { generator: new Generator(3) }).keep();
  try {
    const nanLoss = (v: Tensor): Tensor => v.matmul(w.transpose(0, 1)).mul(NaN);
    const e = errorOf(() => calibrate.finetune(teacher, nanLoss, x, { augment: 'none' }, { epochs: 1, batchSize: 4 }, [{ params: [w], lr: 0.1, name: 'weights' }]));
    assert.equal(e.code, 'NON_FINITE');
    assert.match(e.message, /^finetune: the loss became NaN at epoch 1, step 1; training stopped before the optimizer step/);
    const nanGrad = (v: Tensor): Tensor => v.matmul(w.transpose(0, 1)).add(w.sub(noGrad(() => w.clone())).sqrt().sum().mul(0));
    const g = errorOf(() => calibrate.finetune(teacher, nanGrad, x, { augment: 'none' }, { epochs: 1, batchSize: 4 }, [{ params: [w], lr: 0.1, name: 'weights' }]));
    assert.match(g.message, /^finetune: the gradient of 'weights\[0\]' became non-finite \(NaN or infinite\) at epoch 1, step 1/);
    assert.deepEqual(w.toArray(), before.toArray(), 'the bad step changed nothing');
  } finally {
    for (const t of [w, before, x]) t.dispose();
  }
});

test('a calibration step of your own runs at each neuron after the built-in ones, and its error enters the report', async () => {
  const { ann, calib } = await setup();
  const T = 4, seen: string[] = [];
  // Moves each threshold to the 99th percentile of the reference activations (on the first batch), if that is lower.
  const percentile: calibrate.CalibrationStep = {
    name: 'percentile',
    run(c) {
      seen.push(`${c.index}:${c.inName}:${c.targets.length}`);
      const p = tidy(() => c.targets[0]!.flatten().quantile(0.99).item());
      if (typeof c.neuron.vTh !== 'number' || p <= 0 || p >= c.neuron.vTh) return false;
      c.walk.setThreshold(c.neuron, p);
      return true;
    },
  };
  const base = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { bias: true } });
  const own = await calibrate.calibrateSnn(ann, { T, calibration: calib, samples: 256, steps: { bias: true }, extraSteps: [percentile] });
  assert.equal(seen.length, 3, 'once per neuron');
  assert.ok(seen.every((s, i) => s.startsWith(`${i}:`) && s.endsWith(':2')), seen.join(' '));
  own.layers.forEach((l, i) => {
    const steps = l.errors.map((e) => e.step);
    assert.deepEqual(steps.slice(0, 2), ['converted', 'bias'], 'the built-in steps first');
    if (steps.length === 3) {
      assert.equal(steps[2], 'percentile');
      assert.ok((l.vTh as number) < (base.layers[i]!.vTh as number), 'a lower threshold where the step acted');
    } else assert.equal(l.vTh, base.layers[i]!.vTh);
  });
  assert.ok(own.layers.some((l) => l.errors.length === 3), 'the step acted somewhere');
  for (const c of [base, own]) c.snn.dispose();
});

test('quantize.evaluate gets the quantized ANN: with one neuron layer and a constant input its logits are the SNN\'s mean output', async () => {
  const g = new Generator(5);
  const net = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 32, { generator: g }), new nn.ReLU(), new nn.Linear(32, 10, { generator: g }));
  const ds = { ...data.loadMnist({ split: 'test' }) };
  const loader = new data.DataLoader({ ...ds, images: ds.images.subarray(0, 128 * 784), labels: ds.labels.subarray(0, 128), length: 128 }, { batchSize: 64, workers: 0 });
  const T = 8, x = rand([16, 1, 28, 28], { generator: new Generator(6) }).keep();
  let qannOut: Tensor | undefined, calls = 0;
  const c = await calibrate.calibrateSnn(net, { T, calibration: loader, samples: 128, steps: { quantize: true, threshold: true },
    quantize: { epochs: 1, augment: 'none', evaluate: async (qann) => { calls++; qannOut = qann(x).keep(); } } });
  try {
    assert.equal(calls, 1);
    assert.deepEqual(qannOut!.shape, [16, 10]);
    assert.equal(qannOut!.requiresGrad, false);
    // One IF layer fed the same current at every step, starting at V_th/2, fires exactly clipfloor(x, T, V_th, 1/2) · T
    // times; the linear readout of the rate is then the quantized ANN's output.
    const snnOut = tidy(() => noGrad(() => { c.snn.resetMemories(); return c.snn.forward(new neurons.DirectEncoder(T).forward(x)).mean(0).keep(); }));
    assertClose(snnOut, qannOut!, 1e-4);
    // and it is not the original ANN's output (the clip-floor changes it)
    assert.ok(tidy(() => noGrad(() => net.forward(x).sub(qannOut!).abs().amax().item())) > 1e-3);
    snnOut.dispose();
  } finally {
    x.dispose();
    qannOut?.dispose();
    c.snn.dispose();
  }
});
