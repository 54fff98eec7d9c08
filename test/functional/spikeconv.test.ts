import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, nn, convert, data, neurons, tensor, rand, randn, full, tidy, noGrad, Generator, SnnkitError, type Tensor } from '../../src/index.js';
import { syntheticDataset } from '../data/synthetic.js';
import { assertClose } from '../helpers.js';

const g = new Generator(7);
const spikes = (shape: number[], unit: number) => rand(shape, { generator: g }).lt(0.2).to('float32').mul(unit);

test('weights quantize to int8 per output channel: |q·scale − w| ≤ scale/2, the largest at ±127', () => tidy(() => {
  const w = randn([5, 3, 3, 3], { generator: g });
  noGrad(() => w.select(0, 2).zero_());
  const { q, scale } = F.quantizeWeight(w);
  assert.equal(q.dtype, 'int8');
  const s = scale.toArray() as number[];
  assert.equal(s[2], 1, 'an all-zero channel keeps scale 1');
  const err = q.to('float32').mul(scale.reshape(5, 1, 1, 1)).sub(w).abs().amax([1, 2, 3]).toArray() as number[];
  err.forEach((e, o) => assert.ok(e <= s[o]! / 2 + 1e-7, `channel ${o}: ${e} > ${s[o]! / 2}`));
  const peak = q.abs().to('float32').amax([1, 2, 3]).toArray() as number[];
  assert.deepEqual(peak, [127, 127, 0, 127, 127]);
}));

test('the 8-bit convolution of spikes equals the float convolution with the dequantized weights (strides, padding, accumulate)', () => tidy(() => {
  if (!F.spikeConvAvailable()) return assert.fail('this build has no 8-bit convolution: npm run setup installs libdnnl-dev');
  for (const [C, O, H, stride, pad] of [[16, 32, 9, 2, 1], [3, 8, 7, 1, 0], [64, 64, 8, 1, 1]] as const) {
    const unit = 0.37, x = spikes([5, C, H, H], unit), b = randn([O], { generator: g });
    const w = randn([O, C, 3, 3], { generator: g });
    const { q, scale } = F.quantizeWeight(w.mul(unit));
    const counts = F.spikeCounts(x, full([C], 1 / unit));
    assert.equal(counts.dtype, 'uint8');
    assert.deepEqual(counts.to('float32').mul(unit).toArray(), x.toArray(), 'counts hold the spikes exactly');
    const y = F.spikeConv(counts, q, scale, { stride: [stride, stride], padding: [pad, pad] }).add(b.reshape(1, O, 1, 1));
    const deq = q.to('float32').mul(scale.reshape(O, 1, 1, 1)).div(unit);
    const ref = F.conv2d(x, deq, b, { stride, padding: pad });
    assertClose(y, ref, 1e-5, 1e-4, `C${C} O${O} H${H} s${stride} p${pad}`);
    // accumulate: dst += conv
    const dst = F.spikeConv(counts, q, scale, { stride: [stride, stride], padding: [pad, pad] });
    const twice = F.spikeConv(counts, q, scale, { stride: [stride, stride], padding: [pad, pad], dst, accumulate: true });
    assertClose(twice.contiguous(), ref.sub(b.reshape(1, O, 1, 1)).mul(2), 1e-5, 2e-4, 'accumulated');
  }
}));

test('the cached int8 weights follow in-place changes of the weight tensor', () => tidy(() => {
  const x = spikes([2, 4, 6, 6], 1), w = randn([4, 4, 3, 3], { generator: g });
  const { q, scale } = F.quantizeWeight(w);
  const s = F.spikeCounts(x, full([4], 1));
  const run = () => F.spikeConv(s, q, scale, { stride: [1, 1], padding: [1, 1] }).contiguous();
  const before = run();
  noGrad(() => q.copy_(q.neg()));
  assertClose(run(), before.neg(), 1e-6, 1e-6);
}));

test('spike counts refuse what is not spikes, and the convolution names wrong inputs', () => tidy(() => {
  const inv = full([2], 1);
  assert.throws(() => F.spikeCounts(tensor([[[[0.5, 1]], [[0, 1]]]]), inv), /spikeCountsU8: the input is not spike counts: sample 0 holds a value that is not a whole number/);
  assert.throws(() => F.spikeCounts(tensor([[[[-1, 1]], [[0, 1]]]]), inv), /not spike counts/);
  assert.throws(() => F.spikeCounts(tensor([[[[300, 1]], [[0, 1]]]]), inv), /not spike counts/);
  const { q, scale } = F.quantizeWeight(randn([3, 2, 3, 3], { generator: g }));
  const nchw = tensor([[[[1, 0, 1]], [[0, 1, 1]]]]).to('uint8');
  assert.throws(() => F.spikeConv(nchw.expand(1, 2, 3, 3).contiguous(), q, scale, { stride: [1, 1], padding: [1, 1] }), (e: unknown) => e instanceof SnnkitError && /channels_last/.test(e.message));
  assert.throws(() => F.quantizeWeight(tensor([[1, NaN]])), /non-finite value \(output channel 0\)/);
}));

test('quantizeSpikeConvs: every convolution fed by IF spikes runs in 8 bits, each layer as its float copy with the dequantized weights', async () => {
  const gen = new Generator(3);
  const ann = new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1, generator: gen }), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Conv2d(8, 8, 3, { padding: 1, generator: gen }), new nn.ReLU(), new nn.Conv2d(8, 6, 3, { padding: 1, generator: gen }), new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(6, 3, { generator: gen }));
  const ds = syntheticDataset(40, [1, 8, 8], 3);
  const loader = () => new data.DataLoader(ds, { batchSize: 20, workers: 0 });
  const { snn } = await convert.convertToSnn(ann, { calibration: loader(), shift: 'potential' });
  const float = await convert.simulate(snn, loader(), { T: [16] });
  const names = convert.quantizeSpikeConvs(snn);
  assert.deepEqual(names, ['3', '5'], 'the first convolution reads pixels and stays in float; the one after pooling reads pooled spikes');
  const q8 = await convert.simulate(snn, loader(), { T: [16] });
  assert.ok(Math.abs(q8.accuracy[0]! - float.accuracy[0]!) <= 0.1, `${q8.accuracy[0]} vs ${float.accuracy[0]}`);
  // layer by layer: the 8-bit layer on real spikes equals a float conv with its effective weights
  tidy(() => noGrad(() => {
    const layers = snn.modules().filter((m) => m instanceof convert.SpikeConv2d) as convert.SpikeConv2d[];
    const x = new neurons.DirectEncoder(4).forward(randn([3, 1, 8, 8], { generator: gen }));
    snn.resetMemories();
    const seen: [convert.SpikeConv2d, Tensor][] = [];
    const own = layers.map((l) => l.forward.bind(l));
    layers.forEach((l, i) => { l.forward = (inp) => { seen.push([l, inp.keep()]); return own[i]!(inp); }; });
    snn.forward(x);
    layers.forEach((l, i) => { l.forward = own[i]!; });
    assert.equal(seen.length, 2);
    for (const [l, inp] of seen) assertClose(l.forward(inp), F.conv2d(inp, l.effectiveWeight(), l.conv.bias, { padding: 1 }), 1e-5, 1e-4);
  }));
});

test('the fused IF kernel runs channels-last steps as they lie: the same spikes and potentials as contiguous ones, per-channel thresholds included', () => tidy(() => noGrad(() => {
  const { q, scale } = F.quantizeWeight(randn([8, 4, 3, 3], { generator: g }));
  // a channels-last current [T·N, C, H, W] as the 8-bit layers return it, seen as T = 3 steps of N = 2
  const cl = F.spikeConv(F.spikeCounts(spikes([6, 4, 5, 5], 1), full([4], 1)), q, scale, { stride: [1, 1], padding: [1, 1] });
  const x = cl.reshape(3, 2, 8, 5, 5);
  assert.ok(!x.isContiguous(), 'the input really is in another memory order');
  const plain = x.contiguous();
  for (const vTh of [0.8, randn([8, 1, 1], { generator: g }).abs().add(0.3)]) {
    const v0 = randn([2, 8, 5, 5], { generator: g }).mul(0.2);
    const o = { vTh, reset: 'soft' as const, amplitude: 'threshold' as const };
    const a = F.neuronMultiStep(x, v0, o), b = F.neuronMultiStep(plain, v0, o);
    assert.equal(a.spikes.sub(b.spikes).abs().max().item(), 0, 'spikes');
    assert.equal(a.v.sub(b.v).abs().max().item(), 0, 'potentials');
    assert.ok(a.spikes.ne(0).any().item() && a.spikes.eq(0).any().item(), 'some spikes and some silence');
  }
})));
