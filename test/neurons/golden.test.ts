// Hand-computed trajectories (worked out in the comments) for IF soft, IF hard and LIF, through the single-step
// function, the IF/LIF layers in both step modes, and the fused kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, neurons, F, tidy, type Tensor } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const I = [0.6, 0.6, 0.6, 0.6, 1.5, 0.0];
const cases = [
  // IF soft, V_th = 1: u = 0.6 (no), 1.2 (spike, v 0.2), 0.8, 1.4 (spike, 0.4), 1.9 (spike, 0.9), 0.9
  { name: 'IF soft', opts: { reset: 'soft' as const }, decay: 1, spikes: [0, 1, 0, 1, 1, 0], v: [0.6, 0.2, 0.8, 0.4, 0.9, 0.9] },
  // IF hard to 0: u = 0.6, 1.2 (spike, 0), 0.6, 1.2 (spike, 0), 1.5 (spike, 0), 0
  { name: 'IF hard', opts: { reset: 'hard' as const }, decay: 1, spikes: [0, 1, 0, 1, 1, 0], v: [0.6, 0, 0.6, 0, 0, 0] },
  // LIF decay 0.5 soft: u = 0.6, 0.9, 1.05 (spike, 0.05), 0.625, 1.8125 (spike, 0.8125), 0.40625
  { name: 'LIF soft', opts: { reset: 'soft' as const }, decay: 0.5, spikes: [0, 0, 1, 0, 1, 0], v: [0.6, 0.9, 0.05, 0.625, 0.8125, 0.40625] },
];
const seq = () => tensor(I.map((x) => [x]), { dtype: 'float64' }); // [T=6, N=1]

for (const c of cases) {
  test(`golden trajectory: ${c.name}`, () => tidy(() => {
    // The step function.
    let v: Tensor | undefined;
    const spikes: number[] = [], vs: number[] = [];
    for (const x of I) {
      const r = F.neuronStep(tensor([x], { dtype: 'float64' }), v, { ...c.opts, decay: c.decay });
      spikes.push(r.spikes.item());
      vs.push(r.v.item());
      v = r.v;
    }
    assert.deepEqual(spikes, c.spikes);
    assertClose(vs, c.v, 1e-12);
    // The layers, single-step and multi-step.
    const make = (stepMode: 'single' | 'multi') => (c.decay === 1 ? new neurons.IF({ ...c.opts, stepMode }) : new neurons.LIF({ ...c.opts, decay: c.decay, stepMode }));
    const single = make('single');
    const out = I.map((x) => single.forward(tensor([x], { dtype: 'float64' })).item());
    assert.deepEqual(out, c.spikes);
    assertClose(single.v!, [c.v.at(-1)!], 1e-12);
    const multi = make('multi');
    assert.deepEqual(multi.forward(seq()).flatten().toArray(), c.spikes);
    assertClose(multi.v!, [c.v.at(-1)!], 1e-12);
    // The fused kernel directly, in float32 too (the spike decisions are the same).
    const k = F.neuronMultiStep(seq().to('float32'), undefined, { ...c.opts, decay: c.decay });
    assert.deepEqual(k.spikes.flatten().toArray(), c.spikes);
  }));
}

test('a membrane exactly at the threshold fires (H(0) = 1); spikes can carry V_th; v0 and vReset are honoured', () => tidy(() => {
  const half = tensor([[0.5], [0.5]], { dtype: 'float64' });
  assert.deepEqual(F.neuronMultiStep(half, undefined, {}).spikes.flatten().toArray(), [0, 1]);
  // Amplitude V_th = 2: a spike outputs 2.
  assert.deepEqual(F.neuronMultiStep(tensor([[2.5], [0]]), undefined, { vTh: 2, amplitude: 'threshold' }).spikes.flatten().toArray(), [2, 0]);
  // v0 = 0.5 (the V_th/2 bias shift): one input of 0.5 fires at once.
  assert.deepEqual(F.neuronMultiStep(tensor([[0.5]]), 0.5, {}).spikes.flatten().toArray(), [1]);
  // Hard reset to -0.5: after a spike at u = 1.2, v = -0.5; then u = -0.5 + 0.6 = 0.1.
  const r = F.neuronMultiStep(tensor([[1.2], [0.6]], { dtype: 'float64' }), undefined, { reset: 'hard', vReset: -0.5 });
  assert.deepEqual(r.spikes.flatten().toArray(), [1, 0]);
  assertClose(r.v, [0.1], 1e-12);
  // Per-channel thresholds [C=2, 1]: the same input 0.8 fires only where V_th = 0.5.
  const pc = F.neuronMultiStep(tensor([[[[[0.8]], [[0.8]]]]]), undefined, { vTh: tensor([[[0.5]], [[1.0]]]) }); // [T, N, C=2, 1, 1], V_th [C, 1, 1]
  assert.deepEqual(pc.spikes.flatten().toArray(), [1, 0]);
}));
