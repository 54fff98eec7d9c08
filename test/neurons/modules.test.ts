import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nn, neurons, tensor, randn, rand, zeros, tidy, memory, Generator, surrogate as S, F } from '../../src/index.js';
import { assertClose } from '../helpers.js';

test('the membrane is a memory: out of stateDict, reset by reset() and resetMemories()', () => tidy(() => {
  const net = new nn.Sequential(new nn.Linear(3, 4), new neurons.IF({ vTh: 0.5 }));
  const lif = net.at(1) as neurons.IF;
  assert.equal(lif.v, undefined);
  net.forward(rand([2, 3]));
  assert.deepEqual(lif.v!.shape, [2, 4]);
  assert.deepEqual(Object.keys(net.stateDict()), ['0.weight', '0.bias']);
  assert.deepEqual(net.namedMemories().map(([n]) => n), ['1.v']);
  net.resetMemories();
  assert.equal(lif.v, undefined);
  net.forward(rand([2, 3]));
  lif.reset();
  assert.equal(lif.v, undefined);
}));

test('state carries across single steps; multi-step mode gives the same spikes as T single steps', () => tidy(() => {
  const x = randn([5, 2, 3], { generator: new Generator(1) }).add(0.5);
  const single = new neurons.LIF({ decay: 0.6, vTh: 0.8 });
  const outs = [0, 1, 2, 3, 4].map((t) => single.forward(x.select(0, t)));
  const multi = new neurons.LIF({ decay: 0.6, vTh: 0.8, stepMode: 'multi', T: 5 });
  const y = multi.forward(x);
  outs.forEach((o, t) => assert.deepEqual(y.select(0, t).toArray(), o.toArray()));
  assertClose(multi.v!, single.v!, 0);
  // Without reset, a second sequence continues from the last potential.
  const cont = multi.forward(x);
  const fresh = new neurons.LIF({ decay: 0.6, vTh: 0.8, stepMode: 'multi' }).forward(x);
  assert.notDeepEqual(cont.toArray(), fresh.toArray());
}));

test('bad options give errors that list the valid values', () => {
  assert.throws(() => new neurons.IF({ reset: 'zero' as never }), /IF: argument 'reset' must be one of 'soft', 'hard', got 'zero'/);
  assert.throws(() => new neurons.LIF({ amplitude: 'vth' as never }), /LIF: argument 'amplitude' must be one of 'one', 'threshold', got 'vth'/);
  assert.throws(() => new neurons.IF({ stepMode: 'many' as never }), /IF: argument 'stepMode' must be one of 'single', 'multi', 'folded', got 'many'/);
  assert.throws(() => new neurons.IF({ vTh: -1 }), /IF: argument 'vTh' must be a positive threshold \(every element > 0\), got -1/);
  assert.throws(() => new neurons.IF({ vTh: tensor([1, 0]) }), /IF: argument 'vTh' must be a positive threshold/);
  assert.throws(() => new neurons.LIF({ decay: 1.5 }), /LIF: argument 'decay' must be a number in \(0, 1\] \(1 is IF\), got 1.5/);
  assert.throws(() => new neurons.IF({ T: 0 }), /IF: argument 'T' must be a positive integer, got 0/);
  const m = new neurons.IF({ stepMode: 'multi', T: 8 });
  assert.throws(() => m.forward(zeros([4, 2, 3])), /IF: the input has 4 time steps but the layer expects T = 8/);
  assert.throws(() => m.forward(zeros([3])), /IF: multi-step input must be \[T, N, \.\.\.\], got float32\[3\]/);
  assert.throws(() => F.neuronMultiStep(zeros([2, 3, 4]), undefined, { vTh: tensor([1, 1]) }), /threshold float32\[2\] does not broadcast to the state shape of one step/);
  assert.throws(() => F.neuronMultiStep(zeros([2, 3], { dtype: 'int64' }), undefined, {}), /input must be float32 or float64, got int64\[2,3\]/);
  assert.throws(() => new neurons.DirectEncoder(0), /DirectEncoder: argument 'T' must be a positive integer, got 0/);
});

test('thresholds can be changed (calibration) and may be per channel', () => tidy(() => {
  const n = new neurons.IF({ stepMode: 'multi' });
  const x = tensor([[[[0.7]], [[0.7]]]]).unsqueeze(0); // [T=1, N=1, C=2, 1, 1]
  assert.deepEqual(n.forward(x).flatten().toArray(), [0, 0]);
  n.reset();
  n.setThreshold(tensor([[[0.5]], [[2]]]));
  assert.deepEqual(n.forward(x).flatten().toArray(), [1, 0]);
  assert.throws(() => n.setThreshold(0), /IF: argument 'vTh' must be a positive threshold/);
}));

test('a learnable decay (PLIF) gets a gradient and is a parameter', () => tidy(() => {
  const lif = new neurons.LIF({ decay: 0.7, learnDecay: true, stepMode: 'multi', surrogate: S.sigmoid() });
  assert.deepEqual(lif.namedParameters().map(([n]) => n), ['decay']);
  const x = randn([6, 4, 5], { generator: new Generator(2) }).add(0.6).requiresGrad_(true);
  lif.forward(x).sum().backward();
  assert.ok(lif.decayParam!.grad !== undefined && Math.abs(lif.decayParam!.grad.item()) > 0);
  assert.ok(x.grad !== undefined);
}));

test('SeqToANN folds time into the batch for stateless layers', () => tidy(() => {
  const conv = new nn.Conv2d(2, 3, 3, { padding: 1 });
  const seq = new neurons.SeqToANN(conv);
  const x = randn([4, 2, 2, 5, 5]);
  const y = seq.forward(x);
  assert.deepEqual(y.shape, [4, 2, 3, 5, 5]);
  assertClose(y.select(0, 2), conv.forward(x.select(0, 2)), 1e-6);
  assert.deepEqual(seq.namedParameters().map(([n]) => n), ['module.weight', 'module.bias']);
  assert.throws(() => seq.forward(zeros([3])), /SeqToANN: input must be \[T, N, \.\.\.\], got float32\[3\]/);
}));

test('encoders: direct repeats the input; Poisson spikes at rate x, reproducibly', () => tidy(() => {
  const x = tensor([[0.2, 0.9]]);
  const d = new neurons.DirectEncoder(3).forward(x);
  assert.deepEqual(d.shape, [3, 1, 2]);
  assert.deepEqual(d.select(0, 2).toArray(), x.toArray());
  const p = new neurons.PoissonEncoder(4000, { generator: new Generator(5) }).forward(x);
  assert.deepEqual(p.shape, [4000, 1, 2]);
  const rate = p.mean(0).flatten().toArray() as number[];
  assert.ok(Math.abs(rate[0]! - 0.2) < 0.03 && Math.abs(rate[1]! - 0.9) < 0.03, `rates ${rate}`);
  assert.ok((p.flatten().toArray() as number[]).every((v) => v === 0 || v === 1));
  const again = new neurons.PoissonEncoder(4000, { generator: new Generator(5) }).forward(x);
  assert.deepEqual(again.toArray(), p.toArray());
}));

test('readouts: spike rate and accumulated membrane', () => tidy(() => {
  const s = tensor([[[1, 0]], [[1, 1]], [[0, 1]], [[1, 0]]]); // [T=4, N=1, 2]
  assert.deepEqual(new neurons.SpikeRateReadout().forward(s).toArray(), [[0.75, 0.5]]);
  assert.deepEqual(new neurons.MembraneReadout(false).forward(s).toArray(), [[3, 2]]);
  assert.deepEqual(new neurons.MembraneReadout().forward(s).toArray(), [[0.75, 0.5]]);
}));

test('a monitor reports firing rates and counts per layer, and records spikes and potentials', () => {
  const before = memory().liveTensors;
  const net = new nn.Sequential(new neurons.SeqToANN(new nn.Linear(3, 4)), new neurons.IF({ stepMode: 'multi', vTh: 0.5 }),
    new neurons.SeqToANN(new nn.Linear(4, 2)), new neurons.LIF({ stepMode: 'multi', decay: 0.9 }));
  const mon = new neurons.SpikeMonitor(net, { recordSpikes: true, recordPotentials: true });
  assert.deepEqual(mon.layers(), ['1', '3']);
  const x = randn([5, 6, 3], { generator: new Generator(9) });
  tidy(() => { net.forward(x); });
  net.resetMemories();
  const y = tidy(() => net.forward(x).keep());
  const rec = mon.records('1');
  assert.equal(rec.spikes.length, 2, 'one record per forward');
  assert.deepEqual(rec.potentials[0]!.shape, [5, 6, 4]);
  const count = tidy(() => rec.spikes[0]!.ne(0).sum().item() + rec.spikes[1]!.ne(0).sum().item());
  assert.equal(mon.counts()['1'], count);
  assert.ok(Math.abs(mon.rates()['1']! - count / (2 * 5 * 6 * 4)) < 1e-12);
  assert.equal(mon.counts()['3'], 2 * tidy(() => y.ne(0).sum().item()), 'two identical forwards (memories reset in between)');
  mon.detach();
  net.resetMemories();
  y.dispose();
  x.dispose();
  net.dispose();
  assert.equal(memory().liveTensors, before, 'the monitor frees its recordings');
});

test('the recorded (step-by-step) path gives the same spikes as the fused kernel', () => tidy(() => {
  const x = randn([6, 3, 4], { generator: new Generator(4) }).add(0.3);
  const plain = new neurons.LIF({ stepMode: 'multi', decay: 0.8 }).forward(x);
  const layer = new neurons.LIF({ stepMode: 'multi', decay: 0.8 });
  const mon = new neurons.SpikeMonitor(layer, { recordPotentials: true });
  assert.deepEqual(layer.forward(x).toArray(), plain.toArray());
  mon.detach();
}));

test('options that only look validated are still validated', () => {
  assert.throws(() => F.neuronStep(zeros([2]), undefined, { reset: 'bogus' as never, vReset: 0, detachReset: false, surrogate: S.atan() }),
    /neuronStep: argument 'reset' must be one of 'soft', 'hard', got 'bogus'/);
});
