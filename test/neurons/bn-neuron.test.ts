import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, memory, neurons, nn, noGrad, randn, surrogate, tidy, type Tensor } from '../../src/index.js';
import { errorOf } from '../helpers.js';

const T = 3;
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

/** BN then a folded neuron, run fused (Sequential.fuseLayers) and as two layers, from the same weights. */
function pair(neuron: () => neurons.SpikingNeuron, fuse: boolean, seed: number) {
  const g = new Generator(seed);
  const bn = new nn.BatchNorm2d(4);
  noGrad(() => {
    bn.weight!.copy_(randn([4], { generator: g }).mul(0.3).add(1));
    bn.bias!.copy_(randn([4], { generator: g }).mul(0.3).add(0.2));
  });
  const seq = new nn.Sequential(bn, neuron());
  seq.fuseLayers = fuse;
  return seq.to('float64');
}

const variants: [string, () => neurons.SpikingNeuron][] = [
  ['LIF soft', () => new neurons.LIF({ decay: 0.6, stepMode: 'folded', T, surrogate: surrogate.atan({ sharpness: 2 }) })],
  ['LIF hard, detached reset, learnt threshold', () => new neurons.LIF({ decay: 0.5, reset: 'hard', vReset: -0.1, detachReset: true, learnThreshold: true, vTh: 0.8, stepMode: 'folded', T, surrogate: surrogate.triangle() })],
  ['IF with spikes carrying V_th and v0', () => new neurons.IF({ amplitude: 'threshold', vTh: 0.7, v0: 0.35, stepMode: 'folded', T, surrogate: surrogate.dspike({ b: 3 }) })],
  ['PLIF', () => new neurons.PLIF({ decay: 0.7, stepMode: 'folded', T, surrogate: surrogate.sigmoid({ k: 4 }) })],
];

for (const [name, neuron] of variants) {
  test(`batch norm + neuron fused equals the two layers, forward, backward and running statistics: ${name}`, () => {
    tidy(() => {
      const fused = pair(neuron, true, 1), plain = pair(neuron, false, 1);
      const x = randn([T * 5, 4, 3, 3], { dtype: 'float64', generator: new Generator(2) }).mul(1.5).add(0.3);
      const w = randn([T * 5, 4, 3, 3], { dtype: 'float64', generator: new Generator(3) });
      const run = (seq: nn.Sequential) => {
        const xi = x.detach().requiresGrad_(true);
        const s = seq.forward(xi);
        const last = (seq.at(1) as neurons.SpikingNeuron).v!;
        // The loss reads the spikes and the final potential, so both output gradients reach the kernel.
        s.mul(w).sum().add(last.pow(2).sum()).backward();
        return { s, last, gx: xi.grad!, grads: seq.namedParameters().map(([n, p]) => [n, p.grad!] as const) };
      };
      const a = run(fused), b = run(plain);
      assert.ok(a.s.sum().item() > 10 && a.s.sum().item() < a.s.size - 10, 'some spikes, not all');
      assert.deepEqual(a.s.toArray(), b.s.toArray());
      assert.ok(maxDiff(a.last, b.last) < 1e-12);
      assert.ok(maxDiff(a.gx, b.gx) < 1e-10, `input gradient differs by ${maxDiff(a.gx, b.gx)}`);
      assert.deepEqual(a.grads.map(([n]) => n), b.grads.map(([n]) => n));
      for (let i = 0; i < a.grads.length; i++)
        assert.ok(maxDiff(a.grads[i]![1], b.grads[i]![1]) < 1e-10, `gradient of ${a.grads[i]![0]} differs by ${maxDiff(a.grads[i]![1], b.grads[i]![1])}`);
      const fb = new Map(fused.namedBuffers()), pb = new Map(plain.namedBuffers());
      for (const buf of ['0.running_mean', '0.running_var', '0.num_batches_tracked'])
        assert.ok(maxDiff(fb.get(buf)!.to('float64'), pb.get(buf)!.to('float64')) < 1e-14, buf);
      assert.equal(fb.get('0.num_batches_tracked')!.item(), 1);
      // Eval mode: the running statistics normalize, and nothing is updated.
      fused.eval();
      plain.eval();
      (fused.at(1) as neurons.SpikingNeuron).reset();
      (plain.at(1) as neurons.SpikingNeuron).reset();
      assert.deepEqual(fused.forward(x).toArray(), plain.forward(x).toArray());
    });
  });
}

test('fused batch norm + neuron keeps one activation for backward where the two layers keep two', () => {
  // The classifier's layers release their intermediates, so what stays allocated after forward is what autograd saved:
  // unfused, batch norm's input and the neuron's membranes U; fused, the input only.
  const kept = (fuse: boolean) => tidy(() => {
    const body = new nn.Sequential(new nn.Conv2d(2, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8),
      new neurons.LIF({ stepMode: 'folded', T: 4 }), new nn.Flatten(), new nn.Linear(8 * 16 * 16, 3));
    const net = new neurons.SpikingClassifier(body, { T: 4 });
    assert.equal(body.fuseLayers, true, 'the classifier fuses');
    body.fuseLayers = fuse;
    const x = randn([16, 2, 16, 16], { generator: new Generator(4) });
    const before = memory().allocatedBytes;
    const out = net.forward(x);
    const after = memory().allocatedBytes;
    F.crossEntropy(out, out.argmax(1)).backward();
    return after - before;
  });
  const layer = 4 * 16 * 8 * 16 * 16 * 4;  // one [T·N, 8, 16, 16] float32 activation: 512 KiB
  const fused = kept(true), plain = kept(false);
  assert.ok(plain - fused >= 0.95 * layer, `fused keeps ${fused} bytes, unfused ${plain}: expected one activation (${layer}) fewer`);
});

test('a fused layer reports its spikes to monitors, falls back when potentials are recorded, and checks its input', () => {
  tidy(() => {
    const seq = pair(() => new neurons.LIF({ stepMode: 'folded', T }), true, 5);
    const lif = seq.at(1) as neurons.SpikingNeuron;
    const x = randn([T * 2, 4, 2, 2], { dtype: 'float64', generator: new Generator(6) }).add(0.5);
    const mon = new neurons.SpikeMonitor(seq, { recordSpikes: true });
    const s = seq.forward(x);
    const rec = mon.records('1').spikes[0]!;
    assert.deepEqual(rec.shape, [T, 2, 4, 2, 2]);
    assert.deepEqual(rec.flatten(0, 1).toArray(), s.toArray());
    lif.reset();
    lif.recordPotentials = true;
    assert.deepEqual(seq.forward(x).toArray(), s.toArray());
    mon.detach();
    assert.match(errorOf(() => seq.forward(randn([T * 2 + 1, 4, 2, 2], { dtype: 'float64' }))).message, /folded input must be \[T·N, \.\.\.\] with T = 3/);
    assert.match(errorOf(() => seq.forward(randn([T * 2, 5, 2, 2], { dtype: 'float64' }))).message, /batch norm weight .* must have one value per channel \(5\)/);
  });
});

test('the fused backward writes the input gradient over the output gradient only when nothing else holds it', () => {
  tidy(() => {
    const seq = pair(() => new neurons.LIF({ stepMode: 'folded', T }), true, 7);
    const x = randn([T * 4, 4, 3, 3], { dtype: 'float64', generator: new Generator(8) }).requiresGrad_(true);
    const w = randn([T * 4, 4, 3, 3], { dtype: 'float64', generator: new Generator(9) });
    const s = seq.forward(x).retainGrad();
    s.mul(w).sum().backward();
    // A retained gradient is a second holder: it must still be the output gradient, w, and not the input's.
    assert.deepEqual(s.grad!.toArray(), w.toArray());
    const retained = x.grad!.clone();
    x.grad!.zero_();
    (seq.at(1) as neurons.SpikingNeuron).reset();
    seq.forward(x).mul(w).sum().backward();  // no holder: the buffer is reused, with the same result
    assert.deepEqual(x.grad!.toArray(), retained.toArray());
  });
});

test('F.batchNormNeuron equals batch norm then the multi-step neuron, and checks its input', () => {
  tidy(() => {
    const g = new Generator(10);
    const x = randn([T * 3, 2, 4, 4], { dtype: 'float64', generator: g }).add(0.5);
    const bn = { weight: randn([2], { dtype: 'float64', generator: g }).add(1), bias: randn([2], { dtype: 'float64', generator: g }), training: true };
    const opts = { decay: 0.5, reset: 'hard' as const };
    const fused = F.batchNormNeuron(x, bn, T, 0.1, opts);
    const plain = F.neuronMultiStep(F.batchNorm(x, bn).reshape(T, 3, 2, 4, 4), 0.1, opts);
    assert.deepEqual(fused.spikes.toArray(), plain.spikes.flatten(0, 1).toArray());
    assert.ok(maxDiff(fused.v, plain.v) < 1e-12);
    assert.match(errorOf(() => F.batchNormNeuron(x, { training: false }, T, undefined, opts)).message, /eval mode \(training: false\) needs runningMean and runningVar/);
    assert.match(errorOf(() => F.batchNormNeuron(x, bn, 4, undefined, opts)).message, /with T = 4/);
  });
});

test('a repeated input (direct encoding) given once equals its T copies folded: spikes, statistics, every gradient', () => {
  const opts = [
    { decay: 0.6, surrogate: surrogate.atan({ sharpness: 2 }) },
    { decay: 0.5, reset: 'hard' as const, vReset: -0.1, detachReset: true, surrogate: surrogate.triangle() },
    { decay: 1, amplitude: 'threshold' as const, surrogate: surrogate.dspike({ b: 3 }) },
  ];
  for (const [i, o] of opts.entries()) {
    for (const training of [true, false]) {
      tidy(() => {
        const g = new Generator(10 + i);
        const xc = randn([5, 4, 3, 3], { dtype: 'float64', generator: g }).mul(1.5).add(0.4);
        const w0 = randn([4], { dtype: 'float64', generator: g }).mul(0.3).add(1), b0 = randn([4], { dtype: 'float64', generator: g }).mul(0.3);
        const vTh0 = randn([4, 1, 1], { dtype: 'float64', generator: g }).mul(0.1).add(0.9);
        const gs = randn([T * 5, 4, 3, 3], { dtype: 'float64', generator: g }), gv = randn([5, 4, 3, 3], { dtype: 'float64', generator: g });
        const run = (repeated: boolean) => {
          const x = xc.detach().requiresGrad_(true), w = w0.detach().requiresGrad_(true), b = b0.detach().requiresGrad_(true);
          const vTh = vTh0.detach().requiresGrad_(true);
          const rm = randn([4], { dtype: 'float64', generator: new Generator(1) }).mul(0.1), rv = randn([4], { dtype: 'float64', generator: new Generator(2) }).abs().add(0.5);
          const input = repeated ? x : x.unsqueeze(0).expand(T, 5, 4, 3, 3).reshape(T * 5, 4, 3, 3);
          const r = F.batchNormNeuron(input, { weight: w, bias: b, runningMean: rm, runningVar: rv, training }, T, undefined, { ...o, vTh }, repeated);
          r.spikes.mul(gs).sum().add(r.v.mul(gv).sum()).backward();
          return { s: r.spikes, v: r.v, rm, rv, grads: [x.grad!, w.grad!, b.grad!, vTh.grad!] };
        };
        const a = run(true), b = run(false);
        assert.deepEqual(a.s.shape, [T * 5, 4, 3, 3]);
        assert.deepEqual(a.s.toArray(), b.s.toArray());
        assert.ok(maxDiff(a.v, b.v) < 1e-12);
        assert.ok(maxDiff(a.rm, b.rm) < 1e-14 && maxDiff(a.rv, b.rv) < 1e-14, 'running statistics (count T·N for the unbiased variance)');
        ['x', 'weight', 'bias', 'threshold'].forEach((n, k) =>
          assert.ok(maxDiff(a.grads[k]!, b.grads[k]!) < 1e-10, `${n} gradient (${training ? 'training' : 'eval'}, variant ${i}) differs by ${maxDiff(a.grads[k]!, b.grads[k]!)}`));
      });
    }
  }
});
