import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nn, convert, models, data, neurons, tensor, randn, tidy, noGrad, Generator, F, optim, type Tensor } from '../../src/index.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { syntheticDataset } from '../data/synthetic.js';
import { assertClose } from '../helpers.js';

const loaderOf = (ds: data.ImageDataset, batchSize = 64, t: data.Transform[] = []) => new data.DataLoader(ds, { batchSize, transforms: t, workers: 0 });

test('batch-norm folding is exact: conv/linear + BN equals the folded layer', () => tidy(() => {
  const g = new Generator(1);
  for (const bias of [false, true]) {
    const conv = new nn.Conv2d(3, 5, 3, { padding: 1, bias, generator: g }), bn = new nn.BatchNorm2d(5);
    noGrad(() => {
      bn.runningMean!.copy_(randn([5], { generator: g }));
      bn.runningVar!.copy_(randn([5], { generator: g }).abs().add(0.5));
      bn.weight!.copy_(randn([5], { generator: g }));
      bn.bias!.copy_(randn([5], { generator: g }));
    });
    bn.eval();
    const x = randn([4, 3, 6, 6], { generator: g });
    assertClose(convert.foldBatchNorm(conv, bn).forward(x), bn.forward(conv.forward(x)), 1e-5, 1e-5, `conv bias=${bias}`);
  }
  const lin = new nn.Linear(6, 5, { generator: g }), bn = new nn.BatchNorm2d(5);
  noGrad(() => bn.runningVar!.copy_(tensor([0.5, 1, 2, 3, 4])));
  bn.eval();
  const x = randn([7, 6], { generator: g });
  const ref = bn.forward(lin.forward(x).reshape(7, 5, 1, 1)).reshape(7, 5);
  assertClose(convert.foldBatchNorm(lin, bn).forward(x), ref, 1e-5, 1e-5, 'linear');
}));

const shared = join(process.cwd(), '..', 'shared');
const resnetFile = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.safetensors');
test('folding the whole pretrained ResNet-20 leaves its outputs unchanged (1e-5)', { skip: !existsSync(resnetFile) && 'no ../shared' }, async () => {
  const ck = loadCheckpoint(resnetFile);
  const ann = nn.createModel('cifar-resnet20');
  ann.loadStateDict(ck.weights);
  ck.dispose();
  ann.eval();
  const ds = await data.loadDataset('cifar10', { data: join(shared, 'data/cifar10-exact-subset/test_first1000.bin'), split: 'test' });
  const folded = convert.foldNetwork(ann);
  assert.equal(folded.namedModules().filter(([, m]) => m instanceof nn.BatchNorm2d).length, 0, 'no batch norm left');
  for await (const b of loaderOf(ds, 50, [data.normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]).epoch(0)) {
    tidy(() => noGrad(() => assertClose(folded.forward(b.x), ann.forward(b.x), 1e-4, 1e-5)));
    b.dispose();
    if (b.index === 1) break;
  }
});

test('a tiny network: the SNN rates are the hand-computed ones, and approach the ANN as T grows', async () => {
  // Linear(2→2, identity) → ReLU → Linear(2→1, w = [1, 2], b = 0.1). Calibrated on x = [0.5, 1.0]: V_th = max = 1.
  const ann = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 1));
  noGrad(() => {
    (ann.at(0) as nn.Linear).weight.copy_(tensor([[1, 0], [0, 1]]));
    (ann.at(0) as nn.Linear).bias!.zero_();
    (ann.at(2) as nn.Linear).weight.copy_(tensor([[1, 2]]));
    (ann.at(2) as nn.Linear).bias!.fill_(0.1);
  });
  const calib = { epoch: async function* () { yield { x: tensor([[0.5, 1.0]]), y: tensor([0], { dtype: 'int64' }), index: 0, dispose() {} }; } } as unknown as data.DataLoader;
  const { snn, thresholds } = await convert.convertToSnn(ann, { calibration: calib });
  assert.deepEqual(thresholds.map((t) => t.vTh), [1]);
  const out = tidy(() => noGrad(() => snn.forward(new neurons.DirectEncoder(6).forward(tensor([[0.5, 1.0]]))).flatten().toArray() as number[]));
  // Neuron 1 (input 0.5/step, V_th 1, soft reset) spikes at t = 2, 4, 6; neuron 2 (input 1/step) at every step.
  // Each spike carries V_th = 1, so the output current is 1·s1 + 2·s2 + 0.1 = 2.1 (odd t) or 3.1 (even t).
  assertClose(out, [2.1, 3.1, 2.1, 3.1, 2.1, 3.1], 1e-6);
  // The running mean after 6 steps equals the ANN's output 0.5 + 2 + 0.1 = 2.6 exactly; after 3 steps it is floored.
  assertClose([out.reduce((a, b) => a + b) / 6], [2.6], 1e-6);
  assertClose([(out[0]! + out[1]! + out[2]!) / 3], [1 / 3 + 2 + 0.1], 1e-6);
  // With the V_th/2 initial potential (the shift), neuron 1 fires at t = 1, 3, 5 instead: rounding, not flooring.
  const shifted = await convert.convertToSnn(ann, { calibration: calib, shift: 'potential' });
  const out2 = tidy(() => noGrad(() => shifted.snn.forward(new neurons.DirectEncoder(3).forward(tensor([[0.5, 1.0]]))).flatten().toArray() as number[]));
  assertClose(out2, [3.1, 2.1, 3.1], 1e-6);
});

test('at very large T the converted network predicts what its ANN predicts (≥ 99% of test images)', async () => {
  // A small CNN trained for a few steps on synthetic bars, then converted with max thresholds and run for T = 4096.
  const g = new Generator(3);
  const ann = new nn.Sequential(new nn.Conv2d(1, 6, 3, { padding: 1, generator: g }), new nn.BatchNorm2d(6), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Conv2d(6, 8, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, 3, { generator: g }));
  const train = syntheticDataset(300, [1, 8, 8], 3), testSet = syntheticDataset(100, [1, 8, 8], 3);
  const opt = new optim.SGD(ann.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let epoch = 0; epoch < 3; epoch++)
    for await (const b of loaderOf(train, 32).epoch(epoch)) {
      tidy(() => { opt.zeroGrad(); F.crossEntropy(ann.forward(b.x), b.y).backward(); opt.step(); });
      b.dispose();
    }
  const { snn } = await convert.convertToSnn(ann, { calibration: loaderOf(train), threshold: 'max' });
  const r = await convert.simulate(snn, loaderOf(testSet, 100), { T: [64, 4096], ann, chunk: 512 });
  assert.ok(r.agreement![1]! >= 0.99, `agreement at T = 4096: ${r.agreement![1]}`);
  assert.ok(r.agreement![1]! >= r.agreement![0]!, 'agreement does not fall with T');
});

test('layers that cannot be converted are named, with the reason', async () => {
  const calib = loaderOf(syntheticDataset(8, [1, 4, 4]));
  const withMax = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.ReLU(), new nn.MaxPool2d(2));
  await assert.rejects(convert.convertToSnn(withMax, { calibration: calib }), /convert: 2 is MaxPool2d: max pooling of spike trains does not preserve rates; use AvgPool2d/);
  class Custom extends nn.Module { forward(x: Tensor) { return x.sigmoid(); } }
  await assert.rejects(convert.convertToSnn(new nn.Sequential(new nn.Flatten(), new Custom()), { calibration: calib }), /convert: 1 is a Custom, which the converter does not know; supported: /);
  await assert.rejects(convert.convertToSnn(new nn.Sequential(new nn.ReLU()), { calibration: calib, threshold: '150' }), /convert: argument 'threshold' must be 'max', 'ema', or a percentile in \(0, 100\] such as 99.9, got '150'/);
  await assert.rejects(convert.convertToSnn(new nn.Sequential(new nn.BatchNorm2d(1)), { calibration: calib }), /convert: 0 is a BatchNorm2d that does not follow a Conv2d or Linear/);
});

test('the ANN is left untouched, and a clipped-ReLU model converts with threshold = the clip value', async () => {
  const ann = nn.createModel('mnist-cnn', { clipRelu: { max: 2 }, generator: new Generator(5) });
  ann.train();
  const before = tidy(() => Object.fromEntries(Object.entries(ann.stateDict()).map(([k, v]) => [k, v.to('float64').sum().item()])));
  const ds = syntheticDataset(16, [1, 28, 28], 10);
  const { thresholds } = await convert.convertToSnn(ann, { calibration: loaderOf(ds, 8), samples: 16 });
  assert.deepEqual(thresholds.map((t) => t.vTh), [2, 2, 2]);
  assert.equal(ann.training, true, 'the training flag is restored');
  const after = tidy(() => Object.fromEntries(Object.entries(ann.stateDict()).map(([k, v]) => [k, v.to('float64').sum().item()])));
  assert.deepEqual(after, before);
});

test('ResNets with 1×1-convolution shortcuts (option B) fold exactly and convert, the projection folded too', async () => {
  const g = new Generator(8);
  const ann = new nn.zoo.CifarResNet(1, { shortcut: 'B', generator: g });
  assert.ok(ann.namedParameters().some(([n]) => n === 'layer2.0.shortcut.0.weight'), 'the projection has PyTorch option-B names');
  ann.train();
  tidy(() => noGrad(() => { for (let i = 0; i < 3; i++) ann.forward(randn([8, 3, 16, 16], { generator: g })); })); // non-trivial BN statistics
  ann.eval();
  tidy(() => {
    const x = randn([4, 3, 16, 16], { generator: g });
    assertClose(convert.foldNetwork(ann).forward(x), ann.forward(x), 1e-4, 1e-4);
  });
  const { snn, thresholds } = await convert.convertToSnn(ann, { calibration: loaderOf(syntheticDataset(16, [3, 16, 16], 10), 8) });
  assert.equal(thresholds.length, 7, 'the stem, and 2 per block in 3 blocks');
  const blocks = snn.namedModules().filter(([, m]) => m instanceof convert.ResidualBlock) as [string, convert.ResidualBlock][];
  assert.equal(blocks.length, 3);
  assert.ok(blocks[1]![1].shortcut instanceof nn.Sequential, 'the projection shortcut is a (folded) sequence');
  assert.deepEqual(tidy(() => noGrad(() => snn.forward(new neurons.DirectEncoder(4).forward(randn([2, 3, 16, 16]))).shape)), [4, 2, 10]);
});

test('Poisson input: rate-coded pixels, normalised inside the simulation, approach the direct-input result', async () => {
  const g = new Generator(12);
  const ann = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 3, { generator: g }));
  const ds = syntheticDataset(60, [1, 6, 6], 3);
  const norm = { mean: [0.4], std: [0.3] };
  const normed = loaderOf(ds, 30, [data.normalize(norm.mean, norm.std)]);
  const { snn } = await convert.convertToSnn(ann, { calibration: normed, shift: 'potential' });
  const direct = await convert.simulate(snn, normed, { T: [256], ann });
  const poisson = await convert.simulate(snn, loaderOf(ds, 30), { T: [256], ann, encoding: 'poisson', normalize: norm, generator: new Generator(1) });
  assert.equal(poisson.annAccuracy, direct.annAccuracy, 'the ANN sees the same normalised input either way');
  assert.ok(poisson.agreement![0]! >= 0.85, `Poisson agreement with the ANN at T = 256: ${poisson.agreement![0]}`);
});

const onnxFile = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.onnx');
test('an imported ONNX graph converts like the zoo model: same thresholds, same SNN outputs', { skip: !existsSync(onnxFile) && 'no ../shared' }, async () => {
  const graph = models.loadOnnx(onnxFile);
  const ck = loadCheckpoint(resnetFile);
  const zoo = nn.createModel('cifar-resnet20');
  zoo.loadStateDict(ck.weights);
  ck.dispose();
  const ds = await data.loadDataset('cifar10', { data: join(shared, 'data/cifar10-exact-subset/test_first1000.bin'), split: 'test' });
  const small = { ...ds, images: ds.images.subarray(0, 40 * 3072), labels: ds.labels.subarray(0, 40), length: 40 };
  const loader = loaderOf(small, 20, [data.normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]);
  const a = await convert.convertToSnn(graph, { calibration: loader, samples: 40 });
  const b = await convert.convertToSnn(zoo, { calibration: loader, samples: 40 });
  assert.equal(a.thresholds.length, 19);
  a.thresholds.forEach((t, i) => assert.ok(Math.abs(t.vTh - b.thresholds[i]!.vTh) < 1e-4 * t.vTh, `threshold ${i}: ${t.vTh} vs ${b.thresholds[i]!.vTh}`));
  tidy(() => noGrad(() => {
    const x = randn([4, 3, 32, 32], { generator: new Generator(2) });
    const enc = new neurons.DirectEncoder(8);
    assertClose(a.snn.forward(enc.forward(x)), b.snn.forward(enc.forward(x)), 1e-3, 1e-3);
  }));
  // The analyses record values inside the network, which a graph disposes after their last use (they once crashed
  // `snnkit convert` on every ONNX model): the graph's must agree with the zoo model's.
  const [ga, za] = [await convert.analyzeConversion(graph, a, loader, [8], { limit: 20 }), await convert.analyzeConversion(zoo, b, loader, [8], { limit: 20 })];
  const [ge, ze] = [await convert.layerErrors(graph, a, loader, 8, { limit: 20 }), await convert.layerErrors(zoo, b, loader, 8, { limit: 20 })];
  assert.deepEqual([ga.layers.length, ge.layers.length], [19, 19]);
  ga.layers.forEach((l, i) => {
    const z = za.layers[i]!;
    assert.ok(Math.abs(l.endToEnd[8]! - z.endToEnd[8]!) <= 0.02 * z.endToEnd[8]! + 1e-3, `layer ${i}: end-to-end ${l.endToEnd[8]} vs ${z.endToEnd[8]}`);
    assert.ok(Math.abs(ge.layers[i]!.rms - ze.layers[i]!.rms) <= 0.02 * ze.layers[i]!.rms + 1e-3, `layer ${i}: RMS ${ge.layers[i]!.rms} vs ${ze.layers[i]!.rms}`);
  });
});
