// The fused multi-step kernel against the composition of the single-step function: forward exactly, gradients of
// the input, v0, a per-channel threshold and the decay within 1e-5 in float64, for every surrogate and option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, stack, tensor, tidy, Generator, F, surrogate as S, type Tensor } from '../../src/index.js';

const surrogates = [S.rectangle(), S.triangle(), S.exponential(), S.sigmoid(), S.atan(), S.dspike()];
const maxDiff = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().amax().item());

for (const surrogate of surrogates) {
  test(`fused kernel = T single steps, all resets/amplitudes/detach, ${surrogate}`, () => {
    const g = new Generator(11);
    for (const reset of ['soft', 'hard'] as const)
      for (const amplitude of ['one', 'threshold'] as const)
        for (const detachReset of [false, true]) tidy(() => {
          const T = 7;
          const leaves = () => ({
            x: randn([T, 2, 3, 2], { dtype: 'float64', generator: g }).mul(0.9).add(0.35),
            v0: randn([3, 2], { dtype: 'float64', generator: g }).mul(0.3),
            vth: tensor([[0.6], [1.0], [1.4]], { dtype: 'float64' }),
            alpha: tensor(0.85, { dtype: 'float64' }),
          });
          const base = leaves();
          const a = { x: base.x.detach().requiresGrad_(), v0: base.v0.detach().requiresGrad_(), vth: base.vth.detach().requiresGrad_(), alpha: base.alpha.detach().requiresGrad_() };
          const b = { x: base.x.detach().requiresGrad_(), v0: base.v0.detach().requiresGrad_(), vth: base.vth.detach().requiresGrad_(), alpha: base.alpha.detach().requiresGrad_() };
          const opts = { reset, amplitude, detachReset, vReset: -0.2, surrogate };
          const fused = F.neuronMultiStep(a.x, a.v0, { ...opts, vTh: a.vth, decay: a.alpha });
          let v: Tensor = b.v0;
          const outs: Tensor[] = [];
          for (let t = 0; t < T; t++) {
            const r = F.neuronStep(b.x.select(0, t), v, { ...opts, vTh: b.vth, decay: b.alpha });
            outs.push(r.spikes);
            v = r.v;
          }
          const steps = stack(outs);
          const where = `${reset}/${amplitude}/detach=${detachReset}`;
          assert.equal(maxDiff(fused.spikes, steps), 0, `${where}: spikes`);
          assert.equal(maxDiff(fused.v, v), 0, `${where}: final potential`);
          const w = randn([T, 2, 3, 2], { dtype: 'float64', generator: g }), wv = randn([2, 3, 2], { dtype: 'float64', generator: g });
          fused.spikes.mul(w).sum().add(fused.v.mul(wv).sum()).backward();
          steps.mul(w).sum().add(v.mul(wv).sum()).backward();
          for (const k of ['x', 'v0', 'vth', 'alpha'] as const) {
            const d = maxDiff(a[k].grad!, b[k].grad!);
            assert.ok(d < 1e-5, `${where}: gradient of ${k} differs by ${d}`);
          }
        });
  });
}

test('float32 forward of the fused kernel equals the step function exactly', () => tidy(() => {
  const x = randn([8, 4, 16], { generator: new Generator(3) }).add(0.4);
  const fused = F.neuronMultiStep(x, undefined, { decay: 0.7, vTh: 0.9 });
  let v: Tensor | undefined;
  const outs: Tensor[] = [];
  for (let t = 0; t < 8; t++) {
    const r = F.neuronStep(x.select(0, t), v, { decay: 0.7, vTh: 0.9 });
    outs.push(r.spikes);
    v = r.v;
  }
  assert.equal(maxDiff(fused.spikes, stack(outs)), 0);
  assert.equal(maxDiff(fused.v, v!), 0);
}));

test('without gradients the kernel stores nothing for backward and returns tensors without grad', () => tidy(() => {
  const x = randn([4, 3]).requiresGrad_(true);
  const r = F.neuronMultiStep(x.detach(), undefined, {});
  assert.equal(r.spikes.requiresGrad, false);
  assert.equal(F.neuronMultiStep(x, undefined, {}).spikes.requiresGrad, true);
}));
