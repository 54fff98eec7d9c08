// The former spellings keep working for one release, each with one DeprecationWarning naming the new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, F, formats, Generator, io, models, neurons, randn, surrogate, tidy } from '../src/index.js';

/** Runs fn and returns the deprecation messages emitted while it ran. */
async function warningsOf(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const on = (w: Error & { code?: string }): void => void (w.code === 'SNNKIT_DEPRECATED' && seen.push(w.message));
  process.on('warning', on);
  try {
    fn();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', on);
  }
  return seen;
}

test("LIF's alpha and learnableAlpha, PLIF's alpha and atan's alpha: the same neurons as decay, learnDecay and sharpness", async () => {
  const w = await warningsOf(() => tidy(() => {
    const x = randn([5, 3, 4], { generator: new Generator(1) }).mul(2);
    const pairs = [[new neurons.LIF({ alpha: 0.6, learnableAlpha: true, stepMode: 'multi', surrogate: surrogate.atan({ alpha: 3 }) }),
      new neurons.LIF({ decay: 0.6, learnDecay: true, stepMode: 'multi', surrogate: surrogate.atan({ sharpness: 3 }) })],
    [new neurons.PLIF({ alpha: 0.7, stepMode: 'multi' }), new neurons.PLIF({ decay: 0.7, stepMode: 'multi' })]] as const;
    for (const [old, now] of pairs) {
      assert.deepEqual(old.forward(x).toArray(), now.forward(x).toArray());
      assert.deepEqual(old.namedParameters().map(([n]) => n), now.namedParameters().map(([n]) => n));
      assert.equal(String(old.options.surrogate), String(now.options.surrogate));
    }
    assert.deepEqual(F.neuronMultiStep(x, undefined, { alpha: 0.5 }).spikes.toArray(), F.neuronMultiStep(x, undefined, { decay: 0.5 }).spikes.toArray());
  }));
  assert.deepEqual(w.sort(), [
    "LIF: 'alpha' is deprecated and goes in snnkit 0.3: use 'decay'", "LIF: 'learnableAlpha' is deprecated and goes in snnkit 0.3: use 'learnDecay'",
    "PLIF: 'alpha' is deprecated and goes in snnkit 0.3: use 'decay'", "atan: 'alpha' is deprecated and goes in snnkit 0.3: use 'sharpness'",
    "neuronMultiStep: 'alpha' is deprecated and goes in snnkit 0.3: use 'decay'",
  ]);
  assert.deepEqual(await warningsOf(() => void new neurons.LIF({ alpha: 0.5 })), [], 'once per process');
});

test('the former io namespace still has what formats and models have now; calibration reads the former shift spellings', () => {
  assert.equal(io.loadOnnx, models.loadOnnx);
  assert.equal(io.loadSafetensors, formats.loadSafetensors);
  const cases = [[{ shift: true }, 'potential'], [{ shift: false }, 'none'], [{ shift: true, shiftForm: 'bias' }, 'bias'], [{ shiftForm: 'bias' }, 'bias'],
    [{}, 'potential'], [{ shift: 'bias' }, 'bias'], [{ shift: 'none' }, 'none']] as const;
  for (const [o, mode] of cases) assert.equal(calibrate.shiftMode(o), mode, JSON.stringify(o));
});
