// Signed IF neurons (ternary spikes): the fused forward kernel against the step function, both against a plain scalar
// loop, and the property that makes them useful: the net spike count is the rounded sum of the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rand, randn, tensor, tidy, noGrad, Generator, F, neurons, surrogate as S, type Tensor } from '../../src/index.js';

const values = (t: Tensor) => [...(t.toTypedArray() as Float64Array)];

/** The dynamics written out per element in plain numbers (signedNeuronStep's header). */
function scalarSigned(xs: number[], vTh: number, v0: number, amp: boolean): { out: number[]; v: number; n: number } {
  let v = v0, n = 0;
  const out: number[] = [];
  for (const x of xs) {
    const u = v + x;
    const p = u >= vTh ? 1 : 0;
    const w = u - p * vTh;
    const q = w < 0 && n + p > 0 ? 1 : 0;
    v = w + q * vTh;
    n += p - q;
    out.push((p - q) * (amp ? vTh : 1));
  }
  return { out, v, n };
}

test('signed IF: fused kernel = step function = a scalar loop (spikes, potential, count), per-channel thresholds, v0, two calls in a row', () => {
  tidy(() => {
    const g = new Generator(5);
    const T = 9, vth = tensor([[0.5], [1.0], [1.7]], { dtype: 'float64' });
    const x = randn([2 * T, 2, 3, 4], { dtype: 'float64', generator: g }).mul(0.8).add(0.1);
    const v0 = rand([3, 4], { dtype: 'float64', generator: g });
    for (const amplitude of ['one', 'threshold'] as const) {
      const opts = { vTh: vth, amplitude };
      // fused: two calls of T steps continuing the state
      const f1 = noGrad(() => F.signedMultiStep(x.narrow(0, 0, T), v0, undefined, opts));
      const f2 = noGrad(() => F.signedMultiStep(x.narrow(0, T, T), f1.v, f1.n, opts));
      // step function, one step at a time
      let v: Tensor | number = v0, n: Tensor | undefined;
      const steps: Tensor[] = [];
      for (let t = 0; t < 2 * T; t++) {
        const r = F.signedNeuronStep(x.select(0, t), v, n, opts);
        steps.push(r.spikes);
        v = r.v;
        n = r.n;
      }
      const fused = [...values(f1.spikes), ...values(f2.spikes)];
      const stepped = steps.flatMap(values);
      // [T, N, C, W] flattened step by step: compare per step
      assert.deepEqual(fused, stepped, `${amplitude}: fused and step spikes differ`);
      assert.ok(tidy(() => f2.v.sub(v as Tensor).abs().amax().item()) < 1e-12);
      assert.deepEqual(values(f2.n), values(n!));
      // the scalar loop, element by element
      const xs = x.permute(1, 2, 3, 0).contiguous(), per = 3 * 4;
      for (let e = 0; e < 2 * per; e++) {
        const c = Math.floor((e % per) / 4), j = e % 4;
        const seq = values(xs.flatten(0, 2).select(0, e));
        const ref = scalarSigned(seq, [0.5, 1.0, 1.7][c]!, values(v0)[c * 4 + j]!, amplitude === 'threshold');
        const got = Array.from({ length: 2 * T }, (_, t) => stepped[t * 2 * per + e]!);
        got.forEach((s, t) => assert.ok(Math.abs(s - ref.out[t]!) < 1e-12, `element ${e}, step ${t}: ${s} vs ${ref.out[t]}`));
        assert.equal(values(n!)[e], ref.n);
      }
    }
  });
});

test('signed IF: with |I| < V_th and v0 = V_th/2, the net count after every step is max(0, round(ΣI / V_th)); IF over-fires on the same input', () => {
  tidy(() => {
    const g = new Generator(8);
    const T = 24, V = 1.0;
    // currents that rise then fall: an IF neuron keeps the spikes it fired early
    const x = rand([T, 500], { dtype: 'float64', generator: g }).mul(1.8).sub(0.9).mul(0.999);
    const signed = noGrad(() => F.signedMultiStep(x, V / 2, undefined, { vTh: V }));
    const plain = noGrad(() => F.neuronMultiStep(x, V / 2, { vTh: V }));
    const cumIn = x.cumsum(0), cumSigned = signed.spikes.cumsum(0), cumPlain = plain.spikes.cumsum(0);
    const want = cumIn.div(V).add(0.5).floor().clamp(0);
    assert.equal(tidy(() => cumSigned.sub(want).abs().amax().item()), 0, 'the signed count is the rounded sum at every step');
    const overfire = tidy(() => cumPlain.select(0, T - 1).sub(want.select(0, T - 1)).amax().item());
    assert.ok(overfire >= 1, `IF keeps early spikes: ${overfire}`);
  });
});

test('signed IF layer: multi-step = single steps, gradients flow through both spikes, reset() clears the count, hard reset is refused', () => {
  tidy(() => {
    const g = new Generator(3);
    const x = randn([6, 4, 5], { generator: g });
    const multi = new neurons.SignedIF({ vTh: 0.7, amplitude: 'threshold', stepMode: 'multi', v0: 0.35 });
    const single = new neurons.SignedIF({ vTh: 0.7, amplitude: 'threshold', stepMode: 'single', v0: 0.35 });
    const a = noGrad(() => multi.forward(x));
    const b = Array.from({ length: 6 }, (_, t) => single.forward(x.select(0, t)));
    b.forEach((s, t) => assert.equal(tidy(() => s.sub(a.select(0, t)).abs().amax().item()), 0));
    assert.ok(multi.count);
    // recording potentials runs the step function: the same spikes, and the potential after each step
    const recorded = new neurons.SignedIF({ vTh: 0.7, amplitude: 'threshold', stepMode: 'multi', v0: 0.35 });
    recorded.recordPotentials = true;
    let seen: { spikes: Tensor; potentials?: Tensor } | undefined;
    recorded.listeners.add((_l, rec) => { seen = rec; });
    const recOut = noGrad(() => recorded.forward(x));
    assert.equal(tidy(() => recOut.sub(a).abs().amax().item()), 0);
    assert.deepEqual(seen!.potentials!.shape, [6, 4, 5]);
    assert.equal(tidy(() => seen!.potentials!.select(0, 5).sub(recorded.v!).abs().amax().item()), 0);
    multi.reset();
    assert.equal(multi.count, undefined);
    // training path: the step function under autograd; a negative spike's gradient comes through the surrogate g(−w)
    const xg = x.detach().requiresGrad_();
    const trained = new neurons.SignedIF({ vTh: 0.7, stepMode: 'multi', surrogate: S.triangle() });
    const out = trained.forward(xg);
    assert.ok(out.eq(-1).any().item(), 'negative spikes occur');
    out.sum().backward();
    const grad = xg.grad!;
    assert.ok(Number.isFinite(grad.abs().sum().item()) && grad.abs().sum().item() > 0);
    assert.throws(() => new neurons.SignedIF({ reset: 'hard' }), /SignedIF: reset must be 'soft'/);
  });
});

test('signed IF: bad inputs give errors that name the function and what was expected', () => {
  tidy(() => {
    assert.throws(() => F.signedMultiStep(randn([4]), undefined, undefined, { vTh: 1 }), /signedMultiStep: input must be \[T, N, \.\.\.\] with at least one time step, got/);
    assert.throws(() => noGrad(() => F.signedMultiStep(tensor([[1, 2], [3, 4]], { dtype: 'int32' }), undefined, undefined, { vTh: 1 })), /input must be float32 or float64/);
    assert.throws(() => noGrad(() => F.signedMultiStep(randn([3, 2, 4]), undefined, undefined, { vTh: tensor([1, 2, 3]) })), /threshold .* does not broadcast/);
    assert.throws(() => new neurons.SignedIF({ stepMode: 'multi', T: 5 }).forward(randn([4, 2])), /SignedIF: the input has 4 time steps but the layer expects T = 5/);
  });
});
