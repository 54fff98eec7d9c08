// One BPTT training step of a conv SNN: snnkit (the SpikingClassifier train-snn builds: LIF neurons folded over T in the
// fused kernel, layers releasing their intermediates; also the same net as a Sequential of SeqToANN layers and multi-step
// LIF, as a user may compose it) against the same network as the
// per-step loop a PyTorch user writes (bench/bptt_torch.py, its neuron as plain tensor ops and as one TorchScript
// autograd function; the faster of the two is the reference), same threads, each engine in fresh processes.
// Network: T = 8, N = 64, 3×32×32, direct encoding; conv64-BN-LIF, conv64-BN-LIF, avg-pool 2, conv128-BN-LIF, avg-pool 2,
// FC 10; cross-entropy of the mean output over T; SGD momentum 0.9. LIF: u = 0.5·v + I, V_th 1, soft reset, atan(2).
// Peak memory: growth of the peak RSS over the first step of a fresh process (see peakGrowth). Also measured: snnkit
// with a scope per layer (what the memory would be if the step's scope did not hold every intermediate through backward).
// The machine must be otherwise idle: each child waits for quiet and is rerun once when other processes took > 15% of
// the CPUs. Last line: JSON with step_speedup and mem_ratio (PyTorch's faster variant is the reference).
// usage: node bench/bptt.mjs [--threads N] [--iters 5] [--warmup 2] [--rounds 2] [--max-wait 180] [--profile]
//   --profile adds (on stderr) snnkit's time and memory per layer and PyTorch's autograd profile
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, round, formatTable, nowMs, tunedMallocEnv, machineBusyMs, waitForQuiet } from './lib.mjs';

const flags = parseFlags({
  threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } }, iters: { type: 'string', default: '5', int: { min: 1 } },
  warmup: { type: 'string', default: '2', int: { min: 1 } }, rounds: { type: 'string', default: '2', int: { min: 1 } },
  T: { type: 'string', default: '8', int: { min: 1 } }, batch: { type: 'string', default: '64', int: { min: 1 } },
  profile: { type: 'boolean', default: false }, worker: { type: 'boolean', default: false }, mode: { type: 'string', default: 'time' },
  scopes: { type: 'string', default: 'step' }, 'max-wait': { type: 'string', default: '180', int: { min: 0 } },
});
for (const [flag, valid] of [['mode', ['time', 'mem', 'profile']], ['scopes', ['step', 'layer', 'classifier']]])
  if (!valid.includes(flags[flag])) throw new Error(`--${flag} must be one of ${valid.join(', ')}, got '${flags[flag]}'`);
const PYTHON = process.env.SNNKIT_BENCH_PYTHON ?? '/usr/bin/python3';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const MB = 2 ** 20;

/** VmRSS / VmHWM of this process in kB (Linux). */
const statusKb = (field) => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`))[1]);

function buildStep(sk) {
  const { nn, neurons, surrogate, F, optim, randn, randint } = sk;
  sk.setNumThreads(flags.threads);
  sk.manualSeed(0);
  const lif = () => new neurons.LIF({ decay: 0.5, vTh: 1, reset: 'soft', surrogate: surrogate.atan({ sharpness: 2 }), stepMode: 'multi' });
  const seq = (m) => new neurons.SeqToANN(m);
  const net = new nn.Sequential(
    new neurons.DirectEncoder(flags.T),
    seq(new nn.Conv2d(3, 64, 3, { padding: 1, bias: false })), seq(new nn.BatchNorm2d(64)), lif(),
    seq(new nn.Conv2d(64, 64, 3, { padding: 1, bias: false })), seq(new nn.BatchNorm2d(64)), lif(), seq(new nn.AvgPool2d(2)),
    seq(new nn.Conv2d(64, 128, 3, { padding: 1, bias: false })), seq(new nn.BatchNorm2d(128)), lif(), seq(new nn.AvgPool2d(2)),
    seq(new nn.Flatten()), seq(new nn.Linear(128 * 8 * 8, 10)), new neurons.MembraneReadout(),
  );
  // --scopes classifier: the network as train-snn builds it, a neurons.SpikingClassifier whose LIF neurons run with time
  // folded into the batch ('folded' step mode) and whose layers release their intermediates (the library's trainer path).
  const folded = () => new neurons.LIF({ decay: 0.5, vTh: 1, reset: 'soft', surrogate: surrogate.atan({ sharpness: 2 }), stepMode: 'folded', T: flags.T });
  const snn = flags.scopes !== 'classifier' ? undefined : new neurons.SpikingClassifier(new nn.Sequential(
    new nn.Conv2d(3, 64, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(64), folded(),
    new nn.Conv2d(64, 64, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(64), folded(), new nn.AvgPool2d(2),
    new nn.Conv2d(64, 128, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(128), folded(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Linear(128 * 8 * 8, 10)), { T: flags.T });
  const opt = new optim.SGD((snn ?? net).parameters(), { lr: 0.05, momentum: 0.9 });
  const x = randn([flags.batch, 3, 32, 32]).keep();
  const y = randint(0, 10, [flags.batch]).keep();
  const times = { fwd: [], bwd: [], opt: [] };
  // --scopes layer: each layer in its own scope, its input handle disposed once used (autograd keeps what it saved), so
  // that tensors autograd frees during backward are not held by the step's scope. Not what the library does today.
  const forward = snn ? () => snn.forward(x) : flags.scopes === 'step' ? () => net.forward(x) : () => net.children().reduce((h, m) => {
    const out = sk.tidy(() => m.forward(h));
    if (h !== x) h.dispose();
    return out;
  }, x);
  // The training step as a user writes it (and as the library's trainers run it): one scope around forward, backward and
  // the update; membranes reset after.
  const step = () => {
    const loss = sk.tidy(() => {
      const t0 = nowMs();
      const l = F.crossEntropy(forward(), y);
      const t1 = nowMs();
      opt.zeroGrad();
      l.backward();
      const t2 = nowMs();
      opt.step();
      const t3 = nowMs();
      times.fwd.push(t1 - t0); times.bwd.push(t2 - t1); times.opt.push(t3 - t2);
      return l.item();
    });
    net.resetMemories();
    return loss;
  };
  return { net, x, step, times };
}

/**
 * RSS growth of one step: the growth of the peak RSS over the first step of a fresh process (model, optimizer and
 * batch allocated), and the peak of live bytes in snnkit's caching allocator. (A second step after emptyCache() would
 * not be comparable: glibc keeps part of what the cache frees, differently from run to run.)
 */
function peakGrowth(sk, step) {
  const base = statusKb('VmHWM');
  step();
  const m = sk.memory();
  return { cold_mb: (statusKb('VmHWM') - base) / 1024, allocator_peak_mb: m.peakBytes / MB, allocator_reserved_mb: (m.allocatedBytes + m.cachedBytes) / MB };
}

/**
 * Per layer: forward time inside the net and the allocator bytes it leaves alive until backward (its output, what
 * autograd saves, what the scope holds); then forward and backward of the layer alone, on the input it got in the net
 * (requiring grad where it does in the net), median of 5 after a warm-up.
 */
function profileLayers(sk, net, x) {
  const layers = net.children().map((m, i) => ({ name: `${i} ${m.constructor.name}${m.module ? `(${m.module.constructor.name})` : ''}`, m }));
  const rows = [], inputs = [];
  sk.tidy(() => {
    let h = x;
    for (const l of layers) {
      inputs.push(h.detach().keep());
      const a0 = sk.memory().allocatedBytes, t0 = nowMs();
      const out = l.m.forward(h);
      rows.push({ layer: l.name, net_fwd_ms: nowMs() - t0, retained_mb: (sk.memory().allocatedBytes - a0) / MB, out_mb: out.size * 4 / MB });
      h = out;
    }
    net.resetMemories();
  });
  for (const [i, l] of layers.entries()) {
    const fwd = [], bwd = [];
    for (let k = 0; k < 6; k++) {
      sk.tidy(() => {
        const inp = i >= 2 ? inputs[i].detach().requiresGrad_(true) : inputs[i];
        const t0 = nowMs();
        const out = l.m.forward(inp);
        const t1 = nowMs(), g = sk.randn(out.shape), t2 = nowMs();
        if (out.requiresGrad) out.backward(g);
        if (k > 0) { fwd.push(t1 - t0); bwd.push(nowMs() - t2); }
      });
      net.resetMemories();
    }
    Object.assign(rows[i], { fwd_ms: median(fwd), bwd_ms: median(bwd) });
  }
  inputs.forEach((t) => t.dispose());
  return rows;
}

async function worker() {
  const sk = await import('../dist/src/index.js');
  const { net, x, step, times } = buildStep(sk);
  if (flags.mode === 'mem') {
    const mem = peakGrowth(sk, step), cpu = process.cpuUsage();
    return console.log(JSON.stringify({ ...mem, cpu_ms: (cpu.user + cpu.system) / 1000 }));
  }
  const samples = [], losses = [];
  for (let i = 0; i < flags.warmup + flags.iters; i++) {
    const t0 = nowMs();
    losses.push(step());
    if (i >= flags.warmup) samples.push(nowMs() - t0);
  }
  const part = (k) => median(times[k].slice(flags.warmup));
  const cpu = process.cpuUsage();
  const out = { ms: median(samples), fwd_ms: part('fwd'), bwd_ms: part('bwd'), opt_ms: part('opt'), samples, losses, first_ms: times.fwd[0] + times.bwd[0] + times.opt[0], cpu_ms: (cpu.user + cpu.system) / 1000 };
  if (flags.mode === 'profile') out.layers = profileLayers(sk, net, x);
  console.log(JSON.stringify(out));
}

const MAX_OTHER_LOAD = 0.15;
let waitBudgetMs = flags['max-wait'] * 1000;
/**
 * Runs a child once the machine is quiet (within a waiting budget), and once more when other processes took more than
 * MAX_OTHER_LOAD of the CPUs meanwhile (busy time of the machine minus the child's own CPU time): such a run says more
 * about the other job than about the engine. Adds `other_load`.
 */
function quietly(fn, what) {
  let out;
  for (let attempt = 0; attempt < 2; attempt++) {
    waitBudgetMs -= waitForQuiet({ maxLoad: MAX_OTHER_LOAD, maxWaitMs: Math.min(60_000, Math.max(0, waitBudgetMs)) });
    const busy0 = machineBusyMs(), t0 = nowMs();
    out = fn();
    const busy = machineBusyMs();
    out.other_load = busy === undefined || out.cpu_ms === undefined ? 0 : Math.max(0, (busy - busy0 - out.cpu_ms) / ((nowMs() - t0) * cpus().length));
    if (out.other_load <= MAX_OTHER_LOAD) break;
    process.stderr.write(`  ${what}: other processes used ${Math.round(100 * out.other_load)}% of the CPUs${attempt ? '' : ', measuring again'}\n`);
  }
  return out;
}

function driver() {
  const self = fileURLToPath(import.meta.url);
  const py = fileURLToPath(new URL('./bptt_torch.py', import.meta.url));
  const env = tunedMallocEnv();
  const common = ['--threads', String(flags.threads), '--iters', String(flags.iters), '--warmup', String(flags.warmup), '--T', String(flags.T), '--batch', String(flags.batch)];
  const scopes = { snnkit: 'classifier', 'snnkit-seq': 'step', 'snnkit-layer': 'layer' };
  const once = (side, mode) => (side.startsWith('snnkit')
    ? runJsonChild(process.execPath, [self, '--worker', '--mode', mode, '--scopes', scopes[side], ...common])
    : runJsonChild(PYTHON, [py, '--impl', side, '--mode', mode, ...common], { env }));
  const run = (side, mode) => quietly(() => once(side, mode), `${side} ${mode}`);
  const sides = ['snnkit', 'snnkit-seq', 'plain', 'script'];
  const res = Object.fromEntries(sides.map((s) => [s, { samples: [], fwd: [], bwd: [], opt: [], load: [] }]));
  for (let r = 0; r < flags.rounds; r++) {
    for (const s of sides) {
      const o = run(s, 'time');
      res[s].samples.push(...o.samples); res[s].fwd.push(o.fwd_ms); res[s].bwd.push(o.bwd_ms); res[s].opt.push(o.opt_ms); res[s].load.push(o.other_load);
      process.stderr.write(`[round ${r + 1}/${flags.rounds}] ${s}: ${round(o.ms, 0)} ms a step (fwd ${round(o.fwd_ms, 0)}, bwd ${round(o.bwd_ms, 0)})\n`);
    }
  }
  const ms = Object.fromEntries(sides.map((s) => [s, median(res[s].samples)]));
  const ref = ms.plain <= ms.script ? 'plain' : 'script';
  const other = ref === 'plain' ? 'script' : 'plain';
  const mem = { snnkit: run('snnkit', 'mem'), 'snnkit-seq': run('snnkit-seq', 'mem'), [ref]: run(ref, 'mem'), [other]: run(other, 'mem'), 'snnkit-layer': run('snnkit-layer', 'mem') };
  report(res, ms, ref, mem);
  if (flags.profile) profile(run, ref);
}

const NAMES = { snnkit: 'snnkit (SpikingClassifier, as train-snn)', 'snnkit-seq': 'snnkit, Sequential of SeqToANN + multi-step LIF', 'snnkit-layer': 'the same, a scope per layer in the bench', plain: 'PyTorch plain loop', script: 'PyTorch TorchScript LIF' };

function report(res, ms, ref, mem) {
  const rows = Object.keys(res).map((s) => [NAMES[s] + (s === ref ? ' (reference)' : ''), round(ms[s], 0), round(median(res[s].fwd), 0), round(median(res[s].bwd), 0),
    round(median(res[s].opt), 1), `${round(ms[ref] / ms[s], 2)}x`]);
  console.log(`BPTT training step, conv SNN, T = ${flags.T}, N = ${flags.batch}, 3x32x32, ${flags.threads} threads; median ms of ${flags.rounds} x ${flags.iters} steps`);
  console.log(formatTable(['engine', 'step', 'forward', 'backward', 'optimizer', 'speedup'], rows));
  console.log('\npeak RSS growth over one step, MB (cold: the first step of a fresh process, the measure compared; warm, PyTorch only: a ' +
    'second step after malloc_trim and a reset of the peak mark; allocator: the peak of live bytes in snnkit\'s caching allocator)');
  const mrows = Object.entries(mem).map(([k, v]) => [NAMES[k] + (k === ref ? ' (reference)' : ''), round(v.cold_mb, 0), k.startsWith('snnkit') ? '-' : round(v.warm_mb, 0),
    v.allocator_peak_mb === undefined ? '-' : round(v.allocator_peak_mb, 0), round(v.cold_mb / mem[ref].cold_mb, 2)]);
  console.log(formatTable(['engine', 'cold', 'warm', 'allocator', 'ratio'], mrows));
  const speedup = ms[ref] / ms.snnkit, memRatio = mem.snnkit.cold_mb / mem[ref].cold_mb;
  console.log(`\ngoals: speedup ${round(speedup, 2)}x (>= 2: ${speedup >= 2 ? 'met' : 'NOT met'}), memory ratio ${round(memRatio, 2)} (<= 0.5: ${memRatio <= 0.5 ? 'met' : 'NOT met'})`);
  const load = Math.max(...Object.values(res).flatMap((r) => r.load), ...Object.values(mem).map((m) => m.other_load));
  console.log(JSON.stringify({
    bench: 'bptt', step_speedup: round(speedup, 2), mem_ratio: round(memRatio, 3), reference: ref, goals_met: speedup >= 2 && memRatio <= 0.5,
    step_ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, round(v, 1)])),
    fwd_ms: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, round(median(v.fwd), 1)])),
    bwd_ms: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, round(median(v.bwd), 1)])),
    peak_growth_mb: Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, round(v.cold_mb, 1)])),
    snnkit_allocator_peak_mb: round(mem.snnkit.allocator_peak_mb, 1), torch_warm_growth_mb: round(mem[ref].warm_mb, 1),
    max_other_load: round(load, 2), threads: flags.threads, T: flags.T, batch: flags.batch, steps_timed: flags.rounds * flags.iters,
  }));
}

function profile(run, ref) {
  const scoped = run('snnkit-layer', 'time');
  console.error(`\n${NAMES['snnkit-layer']}: ${round(scoped.ms, 0)} ms a step (forward ${round(scoped.fwd_ms, 0)}, backward ${round(scoped.bwd_ms, 0)})`);
  const o = run('snnkit-seq', 'profile');
  const sum = (k) => o.layers.reduce((a, l) => a + l[k], 0);
  console.error(`\nsnnkit per layer, ms and MB: forward in the net (step ${round(o.ms, 0)} ms: forward ${round(o.fwd_ms, 0)}, backward ${round(o.bwd_ms, 0)}), ` +
    `forward and backward of the layer alone on its input from the net, allocator bytes left alive by its forward until backward`);
  console.error(formatTable(['layer', 'fwd in net', 'fwd alone', 'bwd alone', 'retained MB', 'output MB (logical)'], [...o.layers.map((l) => [l.layer, round(l.net_fwd_ms, 1), round(l.fwd_ms, 1),
    round(l.bwd_ms, 1), round(l.retained_mb, 0), round(l.out_mb, 0)]), ['sum', round(sum('net_fwd_ms'), 0), round(sum('fwd_ms'), 0), round(sum('bwd_ms'), 0), round(sum('retained_mb'), 0), '']]));
  const args = [fileURLToPath(new URL('./bptt_torch.py', import.meta.url)), '--impl', ref, '--mode', 'profile', '--threads', String(flags.threads), '--iters', '2',
    '--T', String(flags.T), '--batch', String(flags.batch)];
  const t = spawnSync(PYTHON, args, { env: tunedMallocEnv(), encoding: 'utf8' });
  console.error(`\nPyTorch (${ref}) autograd profiler, one step:\n${t.stdout}${t.stderr}`);
}

if (flags.worker) await worker();
else driver();
