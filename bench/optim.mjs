// Optimizer step time: snnkit's optimizers (written in TypeScript over in-place tensor ops) against torch.optim, on
// the parameter shapes of the CIFAR ResNet-20 (59 tensors, 0.27 M parameters), in one run.
// This is the measurement behind the choice of TypeScript optimizers over libtorch's C++ ones (docs/results/engine.md).
// usage: node bench/optim.mjs [--threads N] [--iters K]
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, timeIterations, summarize, round, formatTable } from './lib.mjs';

const flags = parseFlags({ threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } }, iters: { type: 'string', default: '200', int: { min: 10 } } });
process.env.SNNKIT_NUM_THREADS = String(flags.threads);
const { randn, tidy, setNumThreads, optim } = await import('../dist/src/index.js');
setNumThreads(flags.threads);

function resnet20Shapes() {
  const s = [[16, 3, 3, 3], [16], [16]];
  let cin = 16;
  for (const cout of [16, 32, 64]) {
    for (let b = 0; b < 3; b++) {
      s.push([cout, cin, 3, 3], [cout], [cout], [cout, cout, 3, 3], [cout], [cout]);
      cin = cout;
    }
  }
  s.push([10, 64], [10]);
  return s;
}

const shapes = resnet20Shapes();
const make = {
  sgd: (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
  adam: (p) => new optim.Adam(p, { lr: 1e-3 }),
  adamw: (p) => new optim.AdamW(p, { lr: 1e-3, weightDecay: 1e-2 }),
};
const ours = {};
for (const [name, ctor] of Object.entries(make)) {
  const params = shapes.map((s) => tidy(() => randn(s).requiresGrad_(true).keep()));
  for (const p of params) p.grad = tidy(() => randn(p.shape).keep());
  const opt = ctor(params);
  ours[name] = summarize(timeIterations(() => opt.step(), { warmup: 20, iters: flags.iters })).median;
}
const torchPy = fileURLToPath(new URL('./optim_torch.py', import.meta.url));
const ref = runJsonChild('/usr/bin/python3', [torchPy, '--shapes', JSON.stringify(shapes), '--threads', String(flags.threads), '--iters', String(flags.iters)]);
const rows = Object.keys(make).map((n) => [n, round(ours[n], 3), round(ref[n], 3), `${round(ours[n] / ref[n], 2)}x`]);
console.log(`optimizer step, ResNet-20 parameters (${shapes.length} tensors), ${flags.threads} threads, median ms`);
console.log(formatTable(['optimizer', 'snnkit ms', 'torch ms', 'ratio'], rows));
console.log(JSON.stringify({ threads: flags.threads, tensors: shapes.length, snnkit_ms: ours, torch_ms: { sgd: ref.sgd, adam: ref.adam, adamw: ref.adamw }, ratio: Object.fromEntries(Object.keys(make).map((n) => [n, round(ours[n] / ref[n], 3)])) }));
