import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tensor, tidy } from '../../src/index.js';
import { errorOf, gradcheck, leaf } from '../helpers.js';

// Outputs of T = 2 steps for N = 2 samples and C = 3 classes, labels [2, 0].
const O = [[[1, 2, 0.5], [0, -1, 3]], [[2, 0, 1], [1.5, 0.5, -0.5]]];
const Y = [2, 0];
const ce = (o: number[], y: number) => Math.log(o.reduce((s, v) => s + Math.exp(v), 0)) - o[y]!;

test('TET equals (1 − λ) · mean_t CE(O_t, y) + λ · mean_t MSE(O_t, φ) on a hand-made case', () => {
  tidy(() => {
    const out = tensor(O, { dtype: 'float64' }), y = tensor(Y, { dtype: 'int64' });
    const ceMean = O.flatMap((step) => step.map((o, n) => ce(o, Y[n]!))).reduce((a, b) => a + b) / 4;
    for (const [lambda, phi] of [[1e-3, 1], [0.5, 2], [0, 1]] as const) {
      const mse = O.flat(2).reduce((s, v) => s + (v - phi) ** 2, 0) / 12;
      const want = (1 - lambda) * ceMean + lambda * mse;
      const got = F.tetLoss(out, y, { lambda, phi }).item();
      assert.ok(Math.abs(got - want) < 1e-12, `λ = ${lambda}, φ = ${phi}: ${got} vs ${want}`);
    }
    assert.ok(Math.abs(F.snnLoss(out, y, { kind: 'tet' }).item() - (0.999 * ceMean + 1e-3 * (O.flat(2).reduce((s, v) => s + (v - 1) ** 2, 0) / 12))) < 1e-12, 'defaults λ = 1e-3, φ = 1');
  });
});

test('mean-ce, rate-ce and rate-mse on the same hand-made case', () => {
  tidy(() => {
    const out = tensor(O, { dtype: 'float64' }), y = tensor(Y, { dtype: 'int64' });
    const mean = [0, 1].map((n) => [0, 1, 2].map((c) => (O[0]![n]![c]! + O[1]![n]![c]!) / 2));
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
    close(F.snnLoss(out, y, { kind: 'mean-ce' }).item(), (ce(mean[0]!, 2) + ce(mean[1]!, 0)) / 2, 'mean-ce');
    close(F.snnLoss(out, y, { kind: 'rate-ce' }).item(), (ce(mean[0]!.map((v) => 2 * v), 2) + ce(mean[1]!.map((v) => 2 * v), 0)) / 2, 'rate-ce');
    const onehot = [[0, 0, 1], [1, 0, 0]];
    close(F.snnLoss(out, y, { kind: 'rate-mse' }).item(), mean.flatMap((r, n) => r.map((v, c) => (v - onehot[n]![c]!) ** 2)).reduce((a, b) => a + b) / 6, 'rate-mse');
  });
});

test('loss specs parse, and bad ones and bad shapes are refused by name', () => {
  assert.deepEqual(F.parseSnnLoss('tet:0.05'), { kind: 'tet', lambda: 0.05 });
  assert.deepEqual(F.parseSnnLoss('mean-ce'), { kind: 'mean-ce' });
  assert.match(errorOf(() => F.parseSnnLoss('focal')).message, /--loss: 'focal' is not a loss: expected one of mean-ce, rate-ce, rate-mse, tet, or tet:LAMBDA/);
  assert.match(errorOf(() => F.parseSnnLoss('tet:2')).message, /--loss: 'tet:2' has λ = '2'/);
  assert.match(errorOf(() => F.parseSnnLoss('mean-ce:1')).message, /is not a loss/);
  tidy(() => {
    assert.match(errorOf(() => F.tetLoss(tensor([[1, 2]]), tensor([0], { dtype: 'int64' }))).message, /tetLoss: outputs must be \[T, N, C\]/);
    assert.match(errorOf(() => F.tetLoss(tensor(O), tensor([0, 1, 2], { dtype: 'int64' }))).message, /target .* must be \[N\] class indices/);
    assert.match(errorOf(() => F.tetLoss(tensor(O), tensor(Y, { dtype: 'int64' }), { lambda: -1 })).message, /'lambda' must be a number in \[0, 1\]/);
  });
});

test('distillation: τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) on a hand-made case, zero at agreement, gradient-checked, no gradient into the teacher', () => {
  tidy(() => {
    const S = [[1, 2, 0.5], [0, -1, 3]], Tt = [[2, 0, 1], [1.5, 0.5, -0.5]];
    const sm = (v: number[], tau: number) => { const e = v.map((x) => Math.exp(x / tau)); const z = e.reduce((a, b) => a + b); return e.map((x) => x / z); };
    for (const tau of [1, 4]) {
      const want = tau * tau * S.map((s, n) => { const p = sm(Tt[n]!, tau), q = sm(s, tau); return p.reduce((acc, pi, c) => acc + pi * Math.log(pi / q[c]!), 0); })
        .reduce((a, b) => a + b) / 2;
      const got = F.distillationLoss(tensor(S, { dtype: 'float64' }), tensor(Tt, { dtype: 'float64' }), { temperature: tau }).item();
      assert.ok(Math.abs(got - want) < 1e-12, `τ = ${tau}: ${got} vs ${want}`);
    }
    assert.ok(Math.abs(F.distillationLoss(tensor(S), tensor(S)).item()) < 1e-6);
    const s = leaf([4, 5], 11), t = leaf([4, 5], 12);
    gradcheck((x) => F.distillationLoss(x, t, { temperature: 2 }), [s], { name: 'distillationLoss' });
    F.distillationLoss(s, t).backward();
    assert.equal(t.grad, undefined, 'the teacher is a constant');
    assert.match(errorOf(() => F.distillationLoss(tensor(S), tensor(S), { temperature: 0 })).message, /argument 'temperature' must be a positive number/);
    assert.equal(errorOf(() => F.distillationLoss(tensor(S), tensor([[1, 2]]))).code, 'SHAPE_MISMATCH');
  });
});
