// Neuron dynamics: snnkit's fused multi-step IF/LIF kernels against the same per-step loop in PyTorch (a surrogate
// spike autograd function and per-step tensor ops, as SpikingJelly's torch backend), on [T=8, N=64, C=64, 32, 32]
// float32, same threads, in one run: forward, forward+backward (BPTT), and the peak memory of BPTT (RSS growth of a
// fresh process over one forward+backward). Last line: JSON with fwd_speedup, fwd_bwd_speedup, bptt_mem_ratio.
// usage: node bench/neurons.mjs [--threads N] [--iters K] [--rounds R] [--shape 8,64,64,32,32]
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, round, formatTable, nowMs } from './lib.mjs';

const flags = parseFlags({
  threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } }, iters: { type: 'string', default: '5', int: { min: 1 } },
  rounds: { type: 'string', default: '2', int: { min: 1 } }, shape: { type: 'string', default: '8,64,64,32,32' },
  worker: { type: 'boolean', default: false }, neuron: { type: 'string', default: 'if' }, mode: { type: 'string', default: 'fwd' },
});
const PYTHON = process.env.SNNKIT_BENCH_PYTHON ?? '/usr/bin/python3';
const shape = flags.shape.split(',').map(Number);

if (flags.worker) {
  const { randn, tidy, noGrad, setNumThreads, F, surrogate, memory } = await import('../dist/src/index.js');
  setNumThreads(flags.threads);
  const opts = { decay: flags.neuron === 'if' ? 1 : 0.5, vTh: 1, surrogate: surrogate.atan({ sharpness: 2 }) };
  const x = tidy(() => randn(shape).mul(0.8).add(0.4).keep());
  if (flags.mode === 'mem') {
    const base = process.resourceUsage().maxRSS;
    tidy(() => {
      const xg = x.detach().requiresGrad_(true);
      F.neuronMultiStep(xg, undefined, opts).spikes.sum().backward();
    });
    console.log(JSON.stringify({ peak_mb: (process.resourceUsage().maxRSS - base) / 1024, allocator_peak_mb: memory().peakBytes / 2 ** 20 }));
    process.exit(0);
  }
  const samples = [];
  for (let i = 0; i < 2 + flags.iters; i++) {
    const t0 = nowMs();
    tidy(() => {
      if (flags.mode === 'fwd') noGrad(() => F.neuronMultiStep(x, undefined, opts));
      else F.neuronMultiStep(x.detach().requiresGrad_(true), undefined, opts).spikes.sum().backward();
    });
    if (i >= 2) samples.push(nowMs() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(JSON.stringify({ ms: samples[Math.floor(samples.length / 2)] }));
} else {
  const self = fileURLToPath(import.meta.url);
  const py = fileURLToPath(new URL('./neurons_torch.py', import.meta.url));
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: String(1 << 30), MALLOC_TRIM_THRESHOLD_: String(1 << 30), MALLOC_TOP_PAD_: String(256 << 20) };
  const ours = (neuron, mode) => runJsonChild(process.execPath, [self, '--worker', '--neuron', neuron, '--mode', mode, '--threads', String(flags.threads), '--iters', String(flags.iters), '--shape', flags.shape]);
  const theirs = (neuron, mode) => runJsonChild(PYTHON, [py, '--neuron', neuron, '--mode', mode, '--threads', String(flags.threads), '--iters', String(flags.iters), '--shape', flags.shape], { env });
  const res = {};
  for (let r = 0; r < flags.rounds; r++) {
    for (const neuron of ['if', 'lif']) for (const mode of ['fwd', 'fwdbwd']) {
      const k = `${neuron}/${mode}`;
      res[k] ??= { snnkit: [], torch: [] };
      res[k].snnkit.push(ours(neuron, mode).ms);
      res[k].torch.push(theirs(neuron, mode).ms);
      process.stderr.write(`[round ${r + 1}/${flags.rounds}] ${k}: snnkit ${round(res[k].snnkit.at(-1), 1)} ms, PyTorch ${round(res[k].torch.at(-1), 1)} ms\n`);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [], speed = {};
  for (const [k, v] of Object.entries(res)) {
    const s = med(v.snnkit), t = med(v.torch);
    speed[k] = t / s;
    rows.push([k, round(s, 1), round(t, 1), `${round(t / s, 2)}x`]);
  }
  const memOurs = ours('lif', 'mem'), memTheirs = theirs('lif', 'mem');
  rows.push(['lif/bptt peak MB', round(memOurs.peak_mb, 0), round(memTheirs.peak_mb, 0), `${round(memOurs.peak_mb / memTheirs.peak_mb, 2)} (ratio)`]);
  console.log(`neurons on [${shape.join(', ')}] float32, ${flags.threads} threads, median ms (speedup = PyTorch / snnkit)`);
  console.log(formatTable(['case', 'snnkit', 'PyTorch', 'speedup'], rows));
  const gmean = (xs) => Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length);
  console.log(JSON.stringify({ bench: 'neurons', fwd_speedup: round(Math.min(speed['if/fwd'], speed['lif/fwd']), 2), fwd_bwd_speedup: round(Math.min(speed['if/fwdbwd'], speed['lif/fwdbwd']), 2),
    bptt_mem_ratio: round(memOurs.peak_mb / memTheirs.peak_mb, 3), speedups: Object.fromEntries(Object.entries(speed).map(([k, v]) => [k, round(v, 2)])),
    geomean_speedup: round(gmean(Object.values(speed)), 2), bptt_peak_mb: { snnkit: round(memOurs.peak_mb, 1), torch: round(memTheirs.peak_mb, 1), snnkit_allocator_peak: round(memOurs.allocator_peak_mb, 1) },
    threads: flags.threads, shape }));
}
