// Simulating a converted network: snnkit's convert.simulate against the same converted network written as the per-step
// PyTorch loop of the calibration authors' code (bench/simulate_torch.py; its variants plain / in-place / TorchScript,
// NCHW and channels-last, the fastest is the reference), same threads, each side in its own fresh process, one run.
// Network: the shared CIFAR-10 ResNet-20 (../shared/models/cifar10-resnet20), converted here with IF neurons, soft
// reset, thresholds the maximum activation over 1024 training images (train_first4000.bin), membranes starting at V_th/2
// (the shift); 1000 test images of test_first1000.bin, T = 32, direct input.
// snnkit's runs: `today`, the simulation as it was before this benchmark existed (batch 100, 16 steps a chunk);
// `exact`, simulate's defaults now; `int8`, the same after convert.quantizeSpikeConvs (8-bit convolutions of spikes);
// `sweep:B:C`, batch B and C steps a chunk. A mode is exact when its spike counts per layer on the first 100 images
// (a second, untimed run with a SpikeMonitor) and its accuracy are today's (test/convert/simulate.test.ts compares the
// spikes themselves); the output sums are shown too: the last layer's matrix product rounds differently for other
// batch sizes (OpenBLAS), by about 1e-5.
// Last line: JSON {sim_speedup, exact, accuracy, int8_speedup, int8_accuracy, int8_delta_points, ...}: snnkit's fastest
// exact mode and its int8 mode against the fastest PyTorch variant (PyTorch with glibc malloc tuned as snnkit's).
// usage: node bench/simulate.mjs [--threads 2] [--limit 1000] [--T 32] [--torch-batch 100]
//          [--modes today,exact,int8,sweep:100:4,...] [--variants plain,inplace,script,plain-cl,inplace-cl,script-cl] [--keep DIR]
//        node bench/simulate.mjs --worker --snn FILE --batch B --chunk C ...   (one snnkit run; internal)
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, round, formatTable, nowMs, tunedMallocEnv } from './lib.mjs';

const flags = parseFlags({
  threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } },
  limit: { type: 'string', default: '1000', int: { min: 1 } }, T: { type: 'string', default: '32', int: { min: 1 } },
  'torch-batch': { type: 'string', default: '100', int: { min: 1 } },
  modes: { type: 'string', default: 'today,exact,int8' }, variants: { type: 'string', default: 'plain,inplace,script,plain-cl,inplace-cl,script-cl' },
  keep: { type: 'string' }, worker: { type: 'boolean', default: false }, snn: { type: 'string' },
  batch: { type: 'string', default: '100', int: { min: 1 } }, chunk: { type: 'string', default: '16', int: { min: 1 } },
  mode: { type: 'string', default: 'today' },
});
const PYTHON = process.env.SNNKIT_BENCH_PYTHON ?? '/usr/bin/python3';
const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
const MODEL = join(SHARED, 'models/cifar10-resnet20/cifar10-resnet20.safetensors');
const DATA = join(SHARED, 'data/cifar10-exact-subset');
const self = fileURLToPath(import.meta.url);
const sk = await import('../dist/src/index.js');

/** snnkit's modes: the simulate options each one runs with. */
const MODES = {
  today: () => ({ batch: 100, chunk: 16 }),
  exact: () => ({ batch: 100 }),
  int8: () => ({ batch: 100, int8: true }),
  sweep: (f) => ({ batch: f.batch, chunk: f.chunk }),
};

const testLoader = (meta, batch) => new sk.data.DataLoader(sk.data.loadCifar10Binary(join(DATA, 'test_first1000.bin'), 'test'),
  { batchSize: batch, transforms: [sk.data.normalize(meta.mean, meta.std)], workers: 1 });

/** One snnkit simulation in this process: prints {seconds, accuracy, sums_sha}. */
async function worker() {
  sk.setNumThreads(flags.threads);
  const { converted, meta } = await sk.models.loadSnn(flags.snn);
  const o = MODES[flags.mode](flags);
  if (o.int8) sk.convert.quantizeSpikeConvs(converted.snn);
  const loader = testLoader(meta, o.batch);
  const t0 = nowMs();
  const r = await sk.convert.simulate(converted.snn, loader, { T: [flags.T], ...(o.chunk ? { chunk: o.chunk } : {}), limit: flags.limit, keepOutputs: true });
  const seconds = (nowMs() - t0) / 1000;
  await loader.close();
  const sha = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  // Untimed: the same simulation of the first 100 images with a monitor on every IF layer, for their spike counts.
  const mon = new sk.neurons.SpikeMonitor(converted.snn);
  const first = testLoader(meta, o.batch);
  await sk.convert.simulate(converted.snn, first, { T: [flags.T], ...(o.chunk ? { chunk: o.chunk } : {}), limit: 100 });
  await first.close();
  const spikes = mon.counts();
  mon.detach();
  console.log(JSON.stringify({ mode: flags.mode, ...o, seconds, images_per_s: r.count / seconds, accuracy: r.accuracy[0],
    sums_sha: sha(Buffer.from(r.outputs.buffer, r.outputs.byteOffset, r.outputs.byteLength)), spikes_sha: sha(JSON.stringify(spikes)),
    spikes_total: Object.values(spikes).reduce((a, b) => a + b, 0) }));
}

/** Converts the ResNet-20 once; writes the SNN checkpoint (snnkit's workers) and its folded weights (PyTorch's side). */
async function prepare(dir) {
  sk.setNumThreads(flags.threads);
  const ck = sk.models.loadCheckpoint(MODEL);
  const ann = sk.nn.createModel(ck.meta.arch);
  ann.loadStateDict(ck.weights);
  const train = new sk.data.DataLoader(sk.data.loadCifar10Binary(join(DATA, 'train_first4000.bin'), 'train'),
    { batchSize: 128, transforms: [sk.data.normalize(ck.meta.mean, ck.meta.std)], workers: 1 });
  const converted = await sk.convert.convertToSnn(ann, { calibration: train, samples: 1024, threshold: 'max', shift: 'potential' });
  await train.close();
  const snnPath = join(dir, 'snn.safetensors'), torchPath = join(dir, 'torch.safetensors');
  sk.models.saveSnn(snnPath, ann, converted, { arch: ck.meta.arch, mean: ck.meta.mean, std: ck.meta.std, shift: 'potential', threshold: 'max' });
  sk.tidy(() => {
    const w = {};
    for (const [k, t] of Object.entries(converted.snn.stateDict())) w[k.replace('.module.', '.')] = t;
    w.thresholds = sk.tensor(converted.thresholds.map((t) => t.vTh));
    sk.formats.saveSafetensors(torchPath, w, { mean: ck.meta.mean.join(','), std: ck.meta.std.join(',') });
  });
  ck.dispose();
  return { snnPath, torchPath };
}

async function main() {
  const dir = flags.keep ?? mkdtempSync(join(tmpdir(), 'snnkit-simulate-'));
  try {
    const { snnPath, torchPath } = await prepare(dir);
    const common = ['--threads', String(flags.threads), '--limit', String(flags.limit), '--T', String(flags.T)];
    const runs = [];
    for (const mode of flags.modes.split(',')) {
      const extra = mode.startsWith('sweep:') ? ['--batch', mode.split(':')[1], '--chunk', mode.split(':')[2]] : [];
      const r = runJsonChild(process.execPath, [self, '--worker', '--snn', snnPath, '--mode', mode.split(':')[0], ...extra, ...common]);
      runs.push({ side: 'snnkit', name: mode, ...r });
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }
    const py = fileURLToPath(new URL('simulate_torch.py', import.meta.url));
    const out = runJsonChild(PYTHON, [py, torchPath, join(DATA, 'test_first1000.bin'), '--T', String(flags.T), '--threads', String(flags.threads),
      '--limit', String(flags.limit), '--batch', String(flags['torch-batch']), '--variants', flags.variants], { env: tunedMallocEnv() });
    for (const r of out.runs) {
      runs.push({ side: 'pytorch', name: r.variant, ...r });
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }
    const today = runs.find((r) => r.name === 'today');
    const ref = runs.filter((r) => r.side === 'pytorch').reduce((a, b) => (b.seconds < a.seconds ? b : a));
    console.log(formatTable(['side', 'run', 'batch', 'chunk', 's', 'images/s', 'accuracy %', 'vs PyTorch', 'spikes = today', 'sums = today'],
      runs.map((r) => [r.side, r.name, r.batch, r.chunk ?? '', round(r.seconds, 2), round(r.images_per_s, 1), round(100 * r.accuracy, 2),
        `${round(ref.seconds / r.seconds, 2)}×`, r.side === 'snnkit' ? String(r.spikes_sha === today?.spikes_sha) : '', r.side === 'snnkit' ? String(r.sums_sha === today?.sums_sha) : ''])));
    const snnkit = runs.filter((r) => r.side === 'snnkit');
    const exact = snnkit.filter((r) => r.spikes_sha === today?.spikes_sha && r.accuracy === today?.accuracy && r.name !== 'int8').reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const int8 = snnkit.find((r) => r.name === 'int8');
    console.log(JSON.stringify({ sim_speedup: round(ref.seconds / exact.seconds, 3), exact: exact.spikes_sha === today?.spikes_sha, accuracy: exact.accuracy, mode: exact.name,
      ...(int8 ? { int8_speedup: round(ref.seconds / int8.seconds, 3), int8_accuracy: int8.accuracy, int8_delta_points: round(100 * (int8.accuracy - exact.accuracy), 2) } : {}),
      reference: ref.name, torch_accuracy: ref.accuracy, today_speedup: round(ref.seconds / today.seconds, 3), threads: flags.threads, T: flags.T, images: flags.limit }));
  } finally {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (flags.worker) await worker();
else await main();
