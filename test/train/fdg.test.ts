import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, neurons, nn, randn, surrogate, tensor, tidy, type Tensor } from '../../src/index.js';
import { batchedFdg, cosine, finiteDifferenceGradient, sampleIndices } from '../../src/train/fdg.js';
import { searchDspikeTemperature } from '../../src/train/dspike-search.js';
import { errorOf } from '../helpers.js';
import { tinySnn } from './fixture.js';

class Smooth extends nn.Module {
  a = this.registerModule('a', new nn.Linear(3, 4, { generator: new Generator(1) }));
  b = this.registerModule('b', new nn.Linear(4, 2, { generator: new Generator(2) }));
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x).tanh());
  }
}

test('the finite-difference gradient equals the analytic gradient of a smooth function to 1e-6 (float64)', () => {
  tidy(() => {
    const net = new Smooth().to('float64');
    const x = randn([5, 3], { dtype: 'float64', generator: new Generator(3) }), y = tensor([0, 1, 1, 0, 1], { dtype: 'int64' });
    F.crossEntropy(net.forward(x), y).backward();
    const analytic = net.a.weight.grad!.reshape(-1).toArray() as number[];
    const fdg = finiteDifferenceGradient(() => F.crossEntropy(net.forward(x), y).item(), net.a.weight, { eps: 1e-6, indices: [...analytic.keys()] });
    const worst = Math.max(...analytic.map((g, i) => Math.abs(g - fdg[i]!)));
    assert.ok(worst < 1e-6, `largest difference ${worst}`);
    assert.ok(Math.max(...analytic.map(Math.abs)) > 1e-3, 'the gradient is not trivially zero');
    assert.deepEqual(net.a.weight.reshape(-1).toArray(), net.a.weight.reshape(-1).toArray(), 'weights restored');
  });
});

test('batched finite differences (perturbations of the first layer as one batch) equal the one-at-a-time ones', () => {
  tidy(() => {
    const snn = tinySnn().to('float64').eval();
    const x = randn([6, 1, 8, 8], { dtype: 'float64', generator: new Generator(8) }).mul(1.5), y = tensor([0, 1, 0, 1, 1, 0], { dtype: 'int64' });
    const w = snn.parameters()[0]!;
    const before = w.reshape(-1).toArray();
    const indices = [...Array(w.size).keys()];
    const loss = { kind: 'tet' as const };
    const one = finiteDifferenceGradient(() => F.snnLoss(snn.forwardSteps(x), y, loss).item(), w, { eps: 0.05, indices });
    for (const chunk of [1, 7, 72]) {
      const many = batchedFdg(snn, x, y, loss, w, { eps: 0.05, indices, chunk });
      for (let i = 0; i < indices.length; i++) assert.ok(Math.abs(many[i]! - one[i]!) <= 1e-9 * (1 + Math.abs(one[i]!)), `chunk ${chunk}, weight ${i}: ${many[i]} vs ${one[i]}`);
    }
    assert.ok(one.some((g) => g !== 0), 'ε = 0.05 flips spikes');
    assert.deepEqual(w.reshape(-1).toArray(), before, 'the weights are restored exactly');
    snn.train();
    assert.match(errorOf(() => batchedFdg(snn, x, y, loss, w, { eps: 0.05, indices, chunk: 4 })).message, /must be in eval mode/);
    assert.match(errorOf(() => finiteDifferenceGradient(() => 0, w, { eps: 0, indices })).message, /eps.*a positive finite step/);
    assert.match(errorOf(() => finiteDifferenceGradient(() => 0, w, { eps: 1, indices: [36] })).message, /indices.*\[0, 36\)/);
  });
});

/**
 * The constructed case: P output neurons, neuron i driven by weight w_i = 1 + d_i (input 1, threshold 1, T = 1), loss
 * rate-mse against class 0. Flipping neuron i's spike changes the loss by a known amount, so the FDG and the Dspike
 * gradients are known in closed form: F_i = [(H(d_i + ε) − t_i)² − (H(d_i − ε) − t_i)²] / (2εP) and
 * G_i(b) = 2 (H(d_i) − t_i) / P · g_b(d_i). A small ε sees only the neurons nearest the threshold (a peaked gradient:
 * the largest b fits best), a large ε all of them equally (a flat one: the smallest b fits best).
 */
function constructed(b: number) {
  // Neuron 0 (the target class) fires far above threshold; neurons 1..15 fire at 0.025, 0.055, ..., 0.445 above it.
  const P = 16, d = Array.from({ length: P }, (_, i) => (i === 0 ? 0.45 : 0.025 + 0.03 * (i - 1)));
  const lin = new nn.Linear(1, P);
  tidy(() => {
    lin.weight.setData_(tensor(d.map((v) => [1 + v]), { dtype: 'float64' }));
    lin.bias!.setData_(tensor(new Array(P).fill(0), { dtype: 'float64' }));
  });
  const out = new neurons.IF({ stepMode: 'folded', T: 1, surrogate: surrogate.dspike({ b }) });
  const snn = new neurons.SpikingClassifier(new nn.Sequential(lin), { T: 1, outputNeuron: out });
  const H = (v: number) => (v >= 0 ? 1 : 0), t = (i: number) => (i === 0 ? 1 : 0);
  const g = (bb: number, v: number) => (Math.abs(v) <= 0.5 ? (bb * (1 - Math.tanh(bb * v) ** 2)) / (2 * Math.tanh(bb / 2)) : 0);
  const fdg = (eps: number) => d.map((v, i) => ((H(v + eps) - t(i)) ** 2 - (H(v - eps) - t(i)) ** 2) / (2 * eps * P));
  const sg = (bb: number) => d.map((v, i) => (2 * (H(v) - t(i)) / P) * g(bb, v));
  return { snn, expected: (eps: number, cands: number[]) => cands.map((c) => cosine(sg(c), fdg(eps))) };
}

test('the temperature search picks the known best b of a constructed case, with the closed-form cosines', () => {
  for (const [eps, best] of [[0.06, 'b + Δb'], [0.45, 'b − Δb']] as const) {
    tidy(() => {
      const { snn, expected } = constructed(2);
      const x = tensor([[1]], { dtype: 'float64' }), y = tensor([0], { dtype: 'int64' });
      const r = searchDspikeTemperature(snn, x, y, { kind: 'rate-mse' }, { b: 2, step: 1, eps, chunk: 5, dtype: 'float64' });
      const want = expected(eps, [1, 2, 3]);
      assert.deepEqual(r.candidates, [1, 2, 3]);
      r.cosines.forEach((c, k) => assert.ok(Math.abs(c - want[k]!) < 1e-9, `ε = ${eps}, b = ${k + 1}: cosine ${c}, closed form ${want[k]}`));
      const argmax = want.indexOf(Math.max(...want));
      assert.equal(['b − Δb', 'b', 'b + Δb'][argmax], best, `the case is built so that ${best} fits ε = ${eps} best: ${want}`);
      assert.equal(r.b, r.candidates[argmax]);
      assert.equal(snn.neurons()[0]![1].options.surrogate.param, r.b, 'the neurons keep the chosen b');
      assert.equal(r.weights, 16);
    });
  }
});

test('the search refuses other surrogates and bad temperatures, skips b − Δb ≤ 0, and restores dtype and mode', () => {
  tidy(() => {
    const snn = tinySnn();
    const x = randn([4, 1, 8, 8], { generator: new Generator(1) }), y = tensor([0, 1, 0, 1], { dtype: 'int64' });
    const r = searchDspikeTemperature(snn, x, y, { kind: 'mean-ce' }, { b: 0.4, step: 0.5, eps: 0.05, weights: 6, generator: new Generator(2) });
    assert.ok(Number.isNaN(r.candidates[0]) && Number.isNaN(r.cosines[0]));
    assert.ok(r.b === 0.4 || r.b === 0.9);
    assert.equal(snn.training, true);
    assert.equal(snn.parameters()[0]!.dtype, 'float32');
    assert.match(errorOf(() => searchDspikeTemperature(snn, x, y, { kind: 'mean-ce' }, { b: -1 })).message, /'b'.*a positive temperature/);
    snn.neurons()[0]![1].setSurrogate(surrogate.atan());
    assert.match(errorOf(() => searchDspikeTemperature(snn, x, y, { kind: 'mean-ce' }, { b: 2 })).message, /neuron '2' uses atan\(sharpness=2\), not dspike/);
    const idx = sampleIndices(snn.parameters()[0]!, 10, new Generator(5));
    assert.equal(new Set(idx).size, 10);
    assert.deepEqual(idx, sampleIndices(snn.parameters()[0]!, 10, new Generator(5)), 'seeded');
  });
});
