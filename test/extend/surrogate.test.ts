// A surrogate of your own, written outside src/ with the public API only, runs everywhere a built-in one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrate, data, F, Generator, neurons, nn, randn, surrogate as S, tidy, trainSnn, type Tensor } from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { halvesDataset } from '../train/fixture.js';

// atan(sharpness = 2)'s g, 1 / (1 + (πx)²), written by hand: the generic path must give what the native kernel gives.
const handAtan = S.defineSurrogate({ name: 'hand_atan', param: 2, grad: (x) => x.mul(Math.PI).square().add(1).reciprocal() });

/** Spikes of an LIF over 6 steps and the BPTT gradients of input and threshold under a surrogate. */
function lif(s: S.Surrogate, batchNorm: boolean): Tensor[] {
  const g = new Generator(1);
  const x = randn([6 * 4, 3, 5, 5], { generator: g, dtype: 'float64' }).mul(1.5).requiresGrad_(true);
  const vTh = randn([3, 1, 1], { generator: g, dtype: 'float64' }).abs().add(0.5).requiresGrad_(true);
  const o = { decay: 0.6, vTh, surrogate: s, reset: 'hard' } as const;
  const spikes = batchNorm ? F.batchNormNeuron(x, { training: true }, 6, undefined, o).spikes : F.neuronMultiStep(x.reshape(6, 4, 3, 5, 5), undefined, o).spikes;
  spikes.mul(randn(spikes.shape as number[], { generator: g, dtype: 'float64' })).sum().backward();
  return [spikes.detach(), x.grad!, vTh.grad!];
}

for (const bn of [false, true]) {
  test(`a hand-written surrogate on the generic path equals the fused kernel${bn ? ' with batch norm' : ''}: spikes and BPTT gradients`, () => tidy(() => {
    const native = lif(S.atan({ sharpness: 2 }), bn), own = lif(handAtan, bn);
    assert.equal(S.nativeSurrogateKind(handAtan), undefined, 'no native kernel for it');
    assertClose(own[0]!, native[0]!, 0, 0);
    assert.ok(native[1]!.abs().sum().item() > 0, 'gradients flow');
    own.slice(1).forEach((t, i) => assertClose(t, native[i + 1]!, 1e-10, 1e-10));
  }));
}

test('defineSurrogate and registerSurrogate check what they get, and the CLI spelling finds a registered one', () => {
  assert.throws(() => S.defineSurrogate({ name: 'atan', grad: (x) => x }), /defineSurrogate: 'atan' is a built-in surrogate/);
  assert.throws(() => S.defineSurrogate({ name: 'a b', grad: (x) => x }), /defineSurrogate: argument 'name' must be letters, digits and underscores/);
  S.registerSurrogate('superspike', (k = 10) => S.defineSurrogate({ name: 'superspike', param: k, paramName: 'k', grad: (x) => x.abs().mul(k).add(1).square().reciprocal() }));
  assert.equal(String(S.parseSurrogate('superspike:4')), 'superspike(k=4)');
  assert.throws(() => S.parseSurrogate('fast'), /'fast' is not a surrogate: .* one of rectangle, triangle, exponential, sigmoid, atan, dspike, superspike$/);
});

const loader = (n: number, seed: number) => new data.DataLoader(halvesDataset(n, seed), { batchSize: 16, shuffle: seed === 1, seed: 4, transforms: [data.normalize([0.5], [0.25])], workers: 0 });

test('trainSnn with a surrogate of your own learns exactly as with the built-in one it copies', async () => {
  const run = async (s: S.Surrogate) => {
    const lif = neurons.neuronFactory(3, { kind: 'lif', surrogate: s });
    const body = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, generator: new Generator(1) }), new nn.BatchNorm2d(4), lif(),
      new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(64, 2, { generator: new Generator(2) }));
    return trainSnn({ model: new neurons.SpikingClassifier(body, { T: 3 }), train: loader(96, 1), test: loader(40, 2), epochs: 3, optimizer: 'adam',
      lr: 0.01, seed: 3, outDir: mkdtempSync(join(tmpdir(), 'snnkit-sur-')), loss: { kind: 'tet' }, meta: { arch: 'tiny', dataset: 'halves' } });
  };
  const [own, builtin] = [await run(handAtan), await run(S.atan({ sharpness: 2 }))];
  assert.ok(own.history[2]!.trainLoss < own.history[0]!.trainLoss && own.history[2]!.testAccuracy > 0.8, 'it learns');
  own.history.forEach((h, i) => assert.ok(Math.abs(h.trainLoss - builtin.history[i]!.trainLoss) < 1e-4, `epoch ${i + 1}: ${h.trainLoss} vs ${builtin.history[i]!.trainLoss}`));
});

test('calibration trains through a surrogate of your own (weight calibration on spikes) as through the built-in one', async () => {
  let calls = 0;
  const counted = S.defineSurrogate({ name: 'counted', grad: (x) => (calls++, handAtan.grad(x)) });
  const ann = new nn.Sequential(new nn.Flatten(), new nn.Linear(64, 16, { generator: new Generator(5) }), new nn.ReLU(), new nn.Linear(16, 2, { generator: new Generator(6) }));
  const o = { T: 4, calibration: loader(64, 7), samples: 64, steps: { weight: true }, weight: { objective: 'spikes', iterations: 20, lr: 1e-3, batchSize: 16 } } as const;
  const own = await calibrate.calibrateSnn(ann, { ...o, surrogate: counted }), builtin = await calibrate.calibrateSnn(ann, o);
  assert.ok(calls >= 20, `g ran in every weight-calibration step (${calls} calls)`);
  const [e, b] = [own.layers[0]!.errors, builtin.layers[0]!.errors];
  assert.deepEqual(e.map((x) => x.step), ['converted', 'weight']);
  assert.ok(e[1]!.mse !== e[0]!.mse && Math.abs(e[1]!.mse - b[1]!.mse) <= 1e-3 * b[1]!.mse, `errors ${e.map((x) => x.mse)} vs the built-in's ${b.map((x) => x.mse)}`);
  for (const c of [own, builtin]) c.snn.dispose();
});
