import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nn, convert, data, neurons, F, randn, tensor, tidy, noGrad, Generator } from '../../src/index.js';
import { syntheticDataset } from '../data/synthetic.js';
import { assertClose } from '../helpers.js';

test('an IF neuron under constant current fires at the closed-form rate clipfloor(z, T, V_th) (docs/methods.md §3)', () => tidy(() => {
  const z = randn([4000], { dtype: 'float64', generator: new Generator(2) }).mul(0.7).add(0.3);
  for (const [T, shift] of [[8, 0], [32, 0], [32, 0.5], [100, 0.5]] as const) {
    const r = F.neuronMultiStep(z.unsqueeze(0).expand(T, 4000), shift ? shift * 0.8 : undefined, { vTh: 0.8, amplitude: 'threshold' });
    const rate = r.spikes.mean(0);
    const closed = F.clipFloor(z, T, 0.8, shift);
    const mismatches = tidy(() => rate.sub(closed).abs().gt(1e-9).sum().item());
    assert.ok(mismatches <= 2, `T=${T} shift=${shift}: ${mismatches} of 4000 differ (only exact ties may round differently)`);
  }
}));

test('the error decomposition adds up: total = clipping + flooring per layer; end-to-end and rates are reported', async () => {
  const g = new Generator(4);
  const ann = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AvgPool2d(2), new nn.Flatten(),
    new nn.Linear(4 * 4 * 4, 6, { generator: g }), new nn.ReLU(), new nn.Linear(6, 3, { generator: g }));
  const ds = syntheticDataset(48, [1, 8, 8], 3);
  const loader = new data.DataLoader(ds, { batchSize: 16, workers: 0 });
  // Percentile thresholds below the maximum, so that both clipping and flooring errors are present.
  const converted = await convert.convertToSnn(ann, { calibration: loader, threshold: { percentile: 90 } });
  const a = await convert.analyzeConversion(ann, converted, loader, [4, 16, 64]);
  assert.equal(a.samples, 48);
  assert.deepEqual(a.layers.map((l) => l.layer), converted.thresholds.map((t) => t.layer));
  for (const l of a.layers) {
    assert.ok(l.clipping > 0, `${l.layer}: clipping error present with 90th-percentile thresholds`);
    for (const T of a.T) {
      assert.ok(Math.abs(l.total[T]! - (l.clipping + l.flooring[T]!)) < 1e-6, `${l.layer} T=${T}: ${l.total[T]} vs ${l.clipping} + ${l.flooring[T]}`);
      assert.ok(l.flooring[T]! >= -1e-7, 'without the shift, flooring only loses');
      assert.ok(l.firingRate[T]! >= 0 && l.firingRate[T]! <= 1);
    }
    assert.ok(l.flooring[64]! < l.flooring[4]!, `${l.layer}: flooring shrinks with T`);
    assert.equal(l.rateHistogram.reduce((x, y) => x + y, 0) > 0, true);
  }
  assert.equal(a.ops.annMacs, 8 * 8 * 4 * 9 + 64 * 6 + 6 * 3);
  assert.equal(a.ops.snnMacs[16], 8 * 8 * 4 * 9 * 16, 'the analog first layer costs MACs at every step');
  assert.ok(a.ops.snnSops[64]! > a.ops.snnSops[4]!, 'operations grow with T');
  assert.ok(a.ops.annEnergyUj > 0 && a.ops.snnEnergyUj[4]! > 0);
});

test('isolated errors of the hand-computed tiny network', async () => {
  const ann = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 1));
  noGrad(() => {
    (ann.at(0) as nn.Linear).weight.copy_(tensor([[1, 0], [0, 1]]));
    (ann.at(0) as nn.Linear).bias!.zero_();
  });
  const batch = () => ({ x: tensor([[0.5, 1.0]]), y: tensor([0], { dtype: 'int64' }), index: 0, dispose() {} });
  const loader = { length: 1, epoch: async function* () { yield batch(); } } as unknown as data.DataLoader;
  const converted = await convert.convertToSnn(ann, { calibration: loader });
  const a = await convert.analyzeConversion(ann, converted, loader, [3, 6]);
  // z = [0.5, 1], V_th = 1: rates at T = 3 are [1/3, 1] (flooring 0.5 - 1/3 on the first neuron), at T = 6 exact.
  assertClose([a.layers[0]!.flooring[3]!, a.layers[0]!.flooring[6]!, a.layers[0]!.clipping], [(0.5 - 1 / 3) / 2, 0, 0], 1e-6);
  assertClose([a.layers[0]!.firingRate[6]!], [(0.5 + 1) / 2], 1e-6);
});

test('layerErrors: the first layer against the closed form clipfloor(z, T, V) with per-channel thresholds and initial potentials; error shrinks with T', async () => {
  const g = new Generator(5);
  const ann = new nn.Sequential(new nn.Conv2d(1, 3, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 6 * 6, 4, { generator: g }), new nn.ReLU(), new nn.Linear(4, 2, { generator: g }));
  const ds = syntheticDataset(40, [1, 6, 6], 2);
  const loader = new data.DataLoader(ds, { batchSize: 16, workers: 0 });
  const converted = await convert.convertToSnn(ann, { calibration: loader });
  const [first] = converted.snn.modules().filter((m) => m instanceof neurons.IF) as neurons.IF[];
  const V = tensor([0.4, 0.9, 1.5]).reshape(3, 1, 1);
  first!.setThreshold(V.clone().keep());
  first!.setInitialPotential(V.mul(0.5).keep());
  const T = 6;
  const e = await convert.layerErrors(ann, converted, loader, T, { chunk: 4 });
  assert.equal(e.samples, 40);
  assert.deepEqual(e.layers.map((l) => l.layer), converted.thresholds.map((t) => t.layer));
  // The first layer sees the analog input: its rate is clipfloor(z, T, V, 0.5) exactly; recompute it from the ANN.
  const want = tidy(() => noGrad(() => {
    let sq = 0, fired = 0, act = 0;
    for (let i = 0; i < 40; i += 16) {
      const x = ds.images.subarray(i * 36, Math.min(40, i + 16) * 36);
      const xb = tensor(Float32Array.from(x, (v) => v / 255)).reshape(-1, 1, 6, 6);
      const z = (ann.at(0) as nn.Conv2d).forward(xb), a = z.relu(), rate = F.clipFloorSte(z, T, V, 0.5);
      const n = xb.shape[0]!;
      sq += a.sub(rate).square().mean().item() * n;
      fired += rate.div(V).mean().item() * n;
      act += a.mean().item() * n;
    }
    return [Math.sqrt(sq / 40), fired / 40, act / 40];
  }));
  assertClose([e.layers[0]!.rms, e.layers[0]!.firingRate, e.layers[0]!.annMean], want, 1e-5);
  const long = await convert.layerErrors(ann, converted, loader, 60);
  for (const l of [0, 1]) assert.ok(long.layers[l]!.rms < e.layers[l]!.rms, `layer ${l}: the error shrinks from T = 6 to 60 (${e.layers[l]!.rms} -> ${long.layers[l]!.rms})`);
  await loader.close();
});
