// Engine benchmark: a small conv net, forward and forward+backward, snnkit against PyTorch on the same threads.
//
//   node bench/engine.mjs [--threads N] [--iters K] [--warmup W] [--rounds R] [--quick]
//
// Every measurement runs in its own child process: snnkit reads SNNKIT_ALLOCATOR when the addon loads, so each of its
// three allocators needs a fresh process, and PyTorch runs under /usr/bin/python3 (Debian's python3-torch). Rounds
// alternate the engines (in a rotating order) so that machine noise hits all of them alike; the samples of all rounds
// are pooled. Before each measurement it waits (briefly) for the machine to be quiet, and measures again when other
// processes took a large share of the CPUs meanwhile (the "other load" column). The last stdout line is a JSON object
// with fwd_ratio and fwd_bwd_ratio (snnkit with its default allocator / PyTorch, medians); progress goes to stderr.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatTable, machineBusyMs, nowMs, parseFlags, round, runJsonChild, summarize, timeIterations,
  waitForQuiet } from './lib.mjs';

const SCRIPT = fileURLToPath(import.meta.url);
const TORCH_SCRIPT = fileURLToPath(new URL('./engine_torch.py', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Debian's interpreter: the python3 first on PATH may be another one, without torch.
const PYTHON = process.env['SNNKIT_BENCH_PYTHON'] ?? '/usr/bin/python3';
const BATCH = 64;
const TARGET = 1.15;
const MAX_OTHER_LOAD = 0.25; // measure again when other processes took more of the machine than this ...
const MAX_RETRIES = 2; // ... at most this many times
const MAX_WAIT_MS = 10_000; // before each measurement, wait at most this long for the machine to be quiet ...
const MAX_TOTAL_WAIT_MS = 60_000; // ... and this long in all
const MODES = /** @type {const} */ (['fwd', 'fwdbwd']);
const ALLOCATORS = /** @type {const} */ (['caching', 'tuned-malloc', 'system']);
const DEFAULT_ALLOCATOR = 'caching'; // what the addon uses when SNNKIT_ALLOCATOR is unset
// The same values the addon's tuned-malloc mode passes to mallopt (native/src/allocator.cc): keep freed memory in the
// heap instead of returning it to the OS, where page faults make it slow on this kind of VM.
const TUNED_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(1 << 30),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
  MALLOC_TOP_PAD_: String(256 << 20),
};

const FLAGS = {
  threads: { type: 'string', int: { min: 1 } },
  iters: { type: 'string', int: { min: 1 } },
  warmup: { type: 'string', int: { min: 1 } },
  rounds: { type: 'string', int: { min: 1 } },
  quick: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  // internal: run one measurement in this process
  worker: { type: 'string' },
  mode: { type: 'string' },
};
const USAGE = `usage: node bench/engine.mjs [--threads N] [--iters K] [--warmup W] [--rounds R] [--quick]
  --threads  threads for both engines (default: os.availableParallelism(), here ${availableParallelism()})
  --iters    timed iterations per engine, mode and round (default 12; --quick 4)
  --warmup   untimed iterations first, in each child process (default 4; --quick 2)
  --rounds   alternating rounds over all engines (default 8; --quick 1)`;

// --- worker: one engine, one mode, one process -------------------------------------------------------------------

async function snnkitWorker({ threads, iters, warmup, mode }) {
  const sk = await import(new URL('../dist/src/index.js', import.meta.url).href);
  const { nn, F } = sk;
  sk.setNumThreads(threads);
  sk.manualSeed(0);
  const allocator = sk.memory().allocator;
  const wanted = process.env['SNNKIT_ALLOCATOR'] ?? DEFAULT_ALLOCATOR;
  if (allocator !== wanted) throw new Error(`SNNKIT_ALLOCATOR=${wanted} but the addon reports allocator '${allocator}'`);

  // The model of engine_torch.py, layer for layer (same shapes, PyTorch's default initialisation).
  const model = new nn.Sequential(
    new nn.Conv2d(3, 64, 3, { padding: 1 }), new nn.ReLU(),
    new nn.Conv2d(64, 64, 3, { padding: 1 }), new nn.ReLU(),
    new nn.AvgPool2d(2),
    new nn.Conv2d(64, 128, 3, { padding: 1 }), new nn.ReLU(),
    new nn.AvgPool2d(2),
    new nn.Flatten(1),
    new nn.Linear(128 * 8 * 8, 10),
  );
  const x = sk.randn([BATCH, 3, 32, 32]).keep();
  const labels = sk.randint(0, 10, [BATCH]).keep();
  const step = mode === 'fwd'
    ? () => sk.tidy(() => { sk.noGrad(() => model.forward(x)); })
    : () => sk.tidy(() => {
      F.crossEntropy(model.forward(x), labels).backward();
      model.zeroGrad(); // sets each .grad to undefined, as zero_grad(set_to_none=True) in engine_torch.py
    });

  // Warm up before counting live tensors and faults: caches that live as long as the process are made here.
  for (let i = 0; i < warmup; i++) step();
  const before = sk.memory();
  const faults0 = process.resourceUsage().minorPageFault;
  const samples = timeIterations(step, { warmup: 0, iters });
  const faults = process.resourceUsage().minorPageFault - faults0;
  const after = sk.memory();
  if (after.liveTensors !== before.liveTensors || after.collectedByGc !== before.collectedByGc) {
    throw new Error(`leak: ${before.liveTensors} live tensors before the loop, ${after.liveTensors} after ` +
      `(${after.collectedByGc - before.collectedByGc} freed by the GC)`);
  }
  const info = sk.buildInfo();
  return {
    engine: 'snnkit',
    allocator,
    mode,
    threads: sk.getNumThreads(),
    samples_ms: samples,
    minor_faults_per_iter: faults / iters,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    peak_allocated_mb: after.peakBytes / 2 ** 20,
    versions: { libtorch: info.torchVersion, node: process.versions.node },
  };
}

// --- driver -------------------------------------------------------------------------------------------------------

/** The environment both engines share; inherited allocator and OpenMP settings would blur the comparison. */
function childEnv(threads) {
  const env = { ...process.env };
  for (const k of ['SNNKIT_ALLOCATOR', 'GOMP_SPINCOUNT', 'OMP_WAIT_POLICY', ...Object.keys(TUNED_MALLOC_ENV)]) delete env[k];
  // OpenMP waiting as each engine's users get it: libgomp's default spin for PyTorch, snnkit's loader default
  // (a bounded spin). Forcing OMP_WAIT_POLICY=passive on both changed this net by about 1% (measured).
  return { ...env, OMP_NUM_THREADS: String(threads) };
}

/** The measurements of one round, one per engine setup, in the order given. */
function engines(threads) {
  const env = childEnv(threads);
  return [
    ...ALLOCATORS.map((a) => ({
      name: `snnkit/${a}`,
      run: (args) => runJsonChild(process.execPath, [SCRIPT, '--worker', 'snnkit', ...args],
        { env: { ...env, SNNKIT_ALLOCATOR: a }, cwd: ROOT }),
    })),
    {
      name: 'pytorch',
      run: (args) => runJsonChild(PYTHON, [TORCH_SCRIPT, ...args], { env: { ...env, ...TUNED_MALLOC_ENV }, cwd: ROOT }),
    },
  ];
}

let waitBudgetMs = MAX_TOTAL_WAIT_MS;

/**
 * Runs one child, once the machine is quiet (within the waiting budget), and adds `other_load`: the share of the
 * machine's CPU used by anything else meanwhile.
 */
function measure(engine, args) {
  waitBudgetMs -= waitForQuiet({ maxLoad: MAX_OTHER_LOAD, maxWaitMs: Math.min(MAX_WAIT_MS, Math.max(0, waitBudgetMs)) });
  const busy0 = machineBusyMs();
  const wall0 = nowMs();
  const out = engine.run(args);
  const wall = nowMs() - wall0;
  const busy = machineBusyMs();
  if (busy !== undefined && busy0 !== undefined && out.cpu_ms !== undefined) {
    out.other_load = Math.max(0, (busy - busy0 - out.cpu_ms) / (wall * cpus().length));
  }
  return out;
}

function driver(opts) {
  const { threads, iters, warmup, rounds } = opts;
  try {
    runJsonChild(PYTHON, ['-c', 'import json, torch; print(json.dumps({"torch": torch.__version__}))'], { timeoutMs: 120_000 });
  } catch (e) {
    throw new Error(`PyTorch is not importable with ${PYTHON}: run \`bash scripts/setup-bench.sh\` (installs python3-torch).\n${e.message}`);
  }
  const list = engines(threads);
  /** @type {Map<string, { samples: number[], runs: any[] }>} key: `${engine} ${mode}` */
  const results = new Map();
  const args = (mode) => ['--threads', String(threads), '--iters', String(iters), '--warmup', String(warmup), '--mode', mode];
  const t0 = Date.now();
  let retried = 0;
  for (let r = 0; r < rounds; r++) {
    const order = [...list.slice(r % list.length), ...list.slice(0, r % list.length)];
    for (const mode of MODES) {
      for (const e of order) {
        let out = measure(e, args(mode));
        // Another job took a large share of the CPUs: that run says more about the job than about the engine.
        for (let retry = 0; retry < MAX_RETRIES && out.other_load > MAX_OTHER_LOAD; retry++) {
          process.stderr.write(`  ${e.name} ${mode}: other processes used ${Math.round(100 * out.other_load)}% ` +
            `of the CPUs, measuring again\n`);
          retried++;
          out = measure(e, args(mode));
        }
        if (out.threads !== threads) throw new Error(`${e.name} ran on ${out.threads} threads, not ${threads}`);
        const key = `${e.name} ${mode}`;
        const acc = results.get(key) ?? { samples: [], runs: [] };
        acc.samples.push(...out.samples_ms);
        acc.runs.push(out);
        results.set(key, acc);
        const s = summarize(out.samples_ms);
        process.stderr.write(`[round ${r + 1}/${rounds}, ${((Date.now() - t0) / 1000).toFixed(0)} s] ` +
          `${e.name.padEnd(19)} ${mode.padEnd(6)} median ${s.median.toFixed(1)} ms\n`);
      }
    }
  }
  return report({ ...opts, retried }, list.map((e) => e.name), results);
}

function report({ threads, iters, warmup, rounds, retried }, names, results) {
  const stat = (name, mode) => summarize(results.get(`${name} ${mode}`).samples);
  const mean = (name, mode, field) => {
    const runs = results.get(`${name} ${mode}`).runs;
    return runs.reduce((s, r) => s + (r[field] ?? 0), 0) / runs.length;
  };
  const rows = [];
  const medians = {};
  const iqrs = {};
  const ratios = {};
  for (const mode of MODES) {
    const ref = stat('pytorch', mode).median;
    for (const name of names) {
      const s = stat(name, mode);
      (medians[name] ??= {})[mode] = round(s.median);
      (iqrs[name] ??= {})[mode] = round(s.iqr);
      if (name !== 'pytorch') (ratios[name.replace('snnkit/', '')] ??= {})[mode] = round(s.median / ref);
      rows.push([mode, name, s.median.toFixed(1), s.iqr.toFixed(1), `${s.q1.toFixed(1)}–${s.q3.toFixed(1)}`,
        (s.median / ref).toFixed(3), Math.round(mean(name, mode, 'minor_faults_per_iter')),
        Math.round(mean(name, mode, 'max_rss_mb')), `${Math.round(100 * mean(name, mode, 'other_load'))}%`]);
    }
  }
  const best = (mode) => Object.entries(ratios).sort((a, b) => a[1][mode] - b[1][mode])[0][0];
  const fwd = ratios[DEFAULT_ALLOCATOR].fwd;
  const fwdBwd = ratios[DEFAULT_ALLOCATOR].fwdbwd;
  const anySnnkit = results.get(`snnkit/${DEFAULT_ALLOCATOR} fwd`).runs[0];
  const anyTorch = results.get('pytorch fwd').runs[0];
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

  console.log(`engine benchmark: conv net, batch ${BATCH}, ${threads} threads, ${rounds} round(s) × ${iters} iterations ` +
    `(+${warmup} warm-up) per engine and mode; times in ms; ratio = engine / PyTorch (median)`);
  console.log(formatTable(['mode', 'engine', 'median', 'IQR', 'q1–q3', 'ratio', 'faults/iter', 'maxRSS MB', 'other load'], rows));
  console.log('faults/iter: minor page faults per timed iteration; other load: CPU share used by other processes ' +
    `while the engine ran (runs above ${100 * MAX_OTHER_LOAD}% were measured again, ${retried} times)`);
  console.log(`target: ratio <= ${TARGET} for snnkit/${DEFAULT_ALLOCATOR} (the default allocator)`);
  console.log(JSON.stringify({
    bench: 'engine',
    fwd_ratio: fwd,
    fwd_bwd_ratio: fwdBwd,
    allocator: DEFAULT_ALLOCATOR,
    target: TARGET,
    meets_target: fwd <= TARGET && fwdBwd <= TARGET,
    ratios_by_allocator: ratios,
    best_allocator: { fwd: best('fwd'), fwdbwd: best('fwdbwd') },
    other_load: round(names.reduce((a, n) => a + MODES.reduce((b, m) => b + mean(n, m, 'other_load'), 0), 0) /
      (names.length * MODES.length)),
    retried,
    medians_ms: medians,
    iqr_ms: iqrs,
    threads,
    batch: BATCH,
    rounds,
    iters,
    warmup,
    versions: { snnkit: pkg.version, ...anySnnkit.versions, torch: anyTorch.versions.torch, python: anyTorch.versions.python },
  }));
}

async function main() {
  let f;
  try {
    f = parseFlags(FLAGS);
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (f.help) {
    console.log(USAGE);
    return;
  }
  const opts = {
    threads: f.threads ?? availableParallelism(),
    iters: f.iters ?? (f.quick ? 4 : 12),
    warmup: f.warmup ?? (f.quick ? 2 : 4),
    rounds: f.rounds ?? (f.quick ? 1 : 8),
  };
  if (f.worker === undefined) {
    driver(opts);
    return;
  }
  if (f.worker !== 'snnkit') throw new Error(`--worker must be 'snnkit', got '${f.worker}'`);
  if (!MODES.includes(f.mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}, got '${f.mode}'`);
  console.log(JSON.stringify(await snnkitWorker({ ...opts, mode: f.mode })));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
