import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, neurons, optim, randn, surrogate, tensor, tidy } from '../../src/index.js';
import { errorOf } from '../helpers.js';

test("a 'folded' neuron equals the multi-step neuron on the same sequence, forward and backward", () => {
  tidy(() => {
    const x = randn([4, 3, 5], { dtype: 'float64', generator: new Generator(1) }).mul(0.8).add(0.4);
    const a = x.detach().requiresGrad_(true), b = x.detach().requiresGrad_(true);
    const opts = { decay: 0.6, reset: 'hard' as const, surrogate: surrogate.triangle() };
    const folded = new neurons.LIF({ ...opts, stepMode: 'folded', T: 4 }).forward(a.flatten(0, 1));
    const multi = new neurons.LIF({ ...opts, stepMode: 'multi' }).forward(b);
    assert.deepEqual(folded.toArray(), multi.flatten(0, 1).toArray());
    const w = randn([12, 5], { dtype: 'float64', generator: new Generator(2) });
    folded.mul(w).sum().backward();
    multi.flatten(0, 1).mul(w).sum().backward();
    assert.deepEqual(a.grad!.toArray(), b.grad!.toArray());
    assert.match(errorOf(() => new neurons.IF({ stepMode: 'folded' })).message, /'T' must be a positive integer \(stepMode 'folded' needs the number of steps\)/);
    assert.match(errorOf(() => new neurons.IF({ stepMode: 'folded', T: 4 }).forward(randn([6, 2]))).message, /folded input must be \[T·N, \.\.\.\] with T = 4/);
  });
});

test('PLIF: the decay is sigmoid(w), its gradient reaches w, and training keeps it in (0, 1)', () => {
  tidy(() => {
    const plif = new neurons.PLIF({ decay: 0.5, stepMode: 'multi' });
    assert.ok(Math.abs(plif.decay - 0.5) < 1e-7);
    assert.deepEqual(plif.namedParameters().map(([n]) => n), ['w']);
    const x = randn([6, 8, 4], { generator: new Generator(3) }).mul(0.5).add(0.5);
    // The loss rewards spikes, so the decay is pushed up (the membrane keeps more of its charge). With the same steps
    // a LIF that learns its decay itself leaves (0, 1); PLIF's sigmoid(w) does not.
    const lif = new neurons.LIF({ decay: 0.5, learnDecay: true, stepMode: 'multi' });
    const train = (m: neurons.SpikingNeuron, read: () => number) => {
      const opt = new optim.SGD(m.parameters(), { lr: 0.05 });
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) {
        tidy(() => {
          opt.zeroGrad();
          m.reset();
          m.forward(x).sum().neg().backward();
          opt.step();
        });
        seen.push(read());
      }
      return seen;
    };
    const plain = train(lif, () => lif.decayParam!.item()), seen = train(plif, () => plif.decay);
    assert.ok(plain.some((a) => a > 1), `a plain learnt decay leaves (0, 1): ${plain.map((d) => d.toFixed(3))}`);
    assert.ok(seen.every((d) => d > 0 && d < 1), `decays ${seen.map((d) => d.toFixed(4))}`);
    assert.ok(seen.at(-1)! > 0.6, `the decay moved up: ${seen.map((d) => d.toFixed(4))}`);
    assert.match(errorOf(() => new neurons.PLIF({ decay: 1 })).message, /'decay' must be an initial decay in \(0, 1\)/);
  });
});

test('a learnt threshold gets the gradient of the step-by-step definition', () => {
  tidy(() => {
    const x = randn([5, 3, 4], { dtype: 'float64', generator: new Generator(4) }).mul(0.7).add(0.5);
    const n = new neurons.LIF({ decay: 0.7, vTh: 0.8, learnThreshold: true, stepMode: 'multi', surrogate: surrogate.sigmoid({ k: 4 }) }).to('float64');
    assert.deepEqual(n.namedParameters().map(([k]) => k), ['vTh']);
    const w = randn([5, 3, 4], { dtype: 'float64', generator: new Generator(5) });
    n.forward(x).mul(w).sum().backward();
    const th = tensor(n.thresholdParam!.item(), { dtype: 'float64' }).requiresGrad_(true); // 0.8 as float32, as the parameter
    let v: ReturnType<typeof F.neuronStep>['v'] | undefined;
    const outs = [];
    for (let t = 0; t < 5; t++) {
      const r = F.neuronStep(x.select(0, t), v, { decay: 0.7, vTh: th, surrogate: surrogate.sigmoid({ k: 4 }) });
      outs.push(r.spikes.mul(w.select(0, t)).sum());
      v = r.v;
    }
    outs.reduce((a, b) => a.add(b)).backward();
    assert.ok(Math.abs(n.thresholdParam!.grad!.item() - th.grad!.item()) < 1e-12, `${n.thresholdParam!.grad!.item()} vs ${th.grad!.item()}`);
    assert.notEqual(th.grad!.item(), 0);
  });
});

test('surrogate specs parse by name and parameter; bad ones are refused naming the valid names', () => {
  assert.equal(surrogate.parseSurrogate('dspike:2.5').toString(), 'dspike(b=2.5)');
  assert.equal(surrogate.parseSurrogate('atan').toString(), 'atan(sharpness=2)');
  for (const n of ['rectangle', 'triangle', 'exponential', 'sigmoid', 'atan', 'dspike']) assert.equal(surrogate.parseSurrogate(`${n}:1.5`).param, 1.5);
  assert.match(errorOf(() => surrogate.parseSurrogate('relu')).message, /--surrogate: 'relu' is not a surrogate: expected NAME or NAME:PARAM with NAME one of rectangle, triangle, exponential, sigmoid, atan, dspike/);
  assert.match(errorOf(() => surrogate.parseSurrogate('atan:-1')).message, /has parameter '-1': expected a positive number/);
});
