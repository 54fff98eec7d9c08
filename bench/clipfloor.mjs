// The quantize step's activation: the fused straight-through clipfloor (F.clipFloorSte, native/src/ops/clipfloor.cc)
// against the composition of ATen ops it replaced, and against the convolution it follows, forward and backward, on
// the largest activation of ResNet-20 at the quantize step's batch ([64, 16, 32, 32], per-channel thresholds, L = 4).
// Alternating rounds, medians; the last line is JSON.
// usage: node bench/clipfloor.mjs [--threads N] [--iters K]
import { availableParallelism } from 'node:os';
import { parseFlags, timeIterations, summarize, round, formatTable } from './lib.mjs';

const flags = parseFlags({ threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } }, iters: { type: 'string', default: '30', int: { min: 5 } } });
process.env.SNNKIT_NUM_THREADS = String(flags.threads);
const { randn, full, tidy, setNumThreads, F, Generator } = await import('../dist/src/index.js');
setNumThreads(flags.threads);

/** The ten-op composition the quantize step ran before the fused op. */
function composite(z, T, V, shift) {
  const u = z.mul(T).div(V).add(shift);
  const f = u.add(u.floor().sub(u).detach());
  return f.clamp(0, T).mul(V).div(T);
}

const x = randn([64, 16, 32, 32], { generator: new Generator(1) }).keep().requiresGrad_(true);
const w = randn([16, 16, 3, 3], { generator: new Generator(2) }).mul(0.1).keep().requiresGrad_(true);
const V = full([16, 1, 1], 2).keep().requiresGrad_(true);
const cases = {
  fused: () => tidy(() => { F.clipFloorSte(x, 4, V, 0.5).sum().backward(); }),
  composite: () => tidy(() => { composite(x, 4, V, 0.5).sum().backward(); }),
  conv: () => tidy(() => { F.conv2d(x, w, undefined, { padding: 1 }).sum().backward(); }),
};
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round_ = 0; round_ < 3; round_++)
  for (const [k, fn] of Object.entries(cases)) samples[k].push(...timeIterations(fn, { warmup: 3, iters: Math.ceil(flags.iters / 3) }));
const med = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, summarize(s).median]));
console.log(formatTable(['forward + backward', 'ms (median)'], Object.entries(med).map(([k, m]) => [k, m.toFixed(2)])));
console.log(JSON.stringify({ bench: 'clipfloor', threads: flags.threads, shape: [64, 16, 32, 32], ms: Object.fromEntries(Object.entries(med).map(([k, m]) => [k, round(m, 2)])),
  speedup: round(med.composite / med.fused, 2) }));
