// Early exit on an SNN checkpoint (convert, calibrate or hybrid train-snn): the exit threshold and minimum step chosen on
// training samples (the first --train images of the training split, never the test set), then the test images (CIFAR-10:
// the 1000 of test_first1000.bin; MNIST: the 10 000) simulated twice, to T without exit and with it (samples leaving the
// batch), both timed.
// Last line: JSON {full_accuracy, exit_accuracy, delta_points, average_T, T, seconds_full, seconds_exit, criterion, min_step, threshold}.
// usage: node bench/early-exit.mjs --model SNN.safetensors [--dataset cifar10|mnist] [--T 32] [--criterion margin] [--drop-points 0.1]
//          [--train 1024] [--threads 2]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseFlags, round, nowMs } from './lib.mjs';

const flags = parseFlags({
  model: { type: 'string' }, dataset: { type: 'string', default: 'cifar10' }, T: { type: 'string', default: '32', int: { min: 1 } }, criterion: { type: 'string', default: 'margin' },
  'drop-points': { type: 'string', default: '0.1' }, train: { type: 'string', default: '1024', int: { min: 1 } },
  threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } },
});
if (!flags.model) throw new Error('--model SNN.safetensors is required');
const sk = await import('../dist/src/index.js');
sk.setNumThreads(flags.threads);
const DATA = fileURLToPath(new URL('../../shared/data/cifar10-exact-subset/', import.meta.url));
const { converted, meta } = await sk.models.loadSnn(flags.model);
const sets = flags.dataset === 'cifar10'
  ? { train: sk.data.loadCifar10Binary(join(DATA, 'train_first4000.bin'), 'train'), test: sk.data.loadCifar10Binary(join(DATA, 'test_first1000.bin'), 'test') }
  : { train: await sk.data.loadDataset(flags.dataset, { split: 'train' }), test: await sk.data.loadDataset(flags.dataset, { split: 'test' }) };
const loader = (split) => new sk.data.DataLoader(sets[split], { batchSize: 100, transforms: [sk.data.normalize(meta.mean, meta.std)], workers: 1 });
const run = async (split, opts) => {
  const l = loader(split);
  const t0 = nowMs();
  const r = await sk.convert.simulate(converted.snn, l, { T: [flags.T], ...opts });
  const seconds = (nowMs() - t0) / 1000;
  await l.close();
  return { r, seconds };
};
const train = await run('train', { record: flags.criterion, limit: flags.train });
const choice = sk.convert.chooseExitThreshold(train.r.trajectories, Number(flags['drop-points']) / 100);
process.stderr.write(`chosen on ${choice.samples} training images: ${flags.criterion} >= ${choice.threshold} from step ${choice.minStep}: average T ${choice.averageT.toFixed(2)}, accuracy ${choice.accuracy} (full T ${choice.fullAccuracy})\n`);
const full = await run('test', {});
const exit = await run('test', { earlyExit: { criterion: flags.criterion, threshold: choice.threshold, minStep: choice.minStep } });
console.log(`T = ${flags.T}: ${(100 * full.r.accuracy[0]).toFixed(2)} % in ${full.seconds.toFixed(1)} s; early exit: ${(100 * exit.r.earlyExit.accuracy).toFixed(2)} % at average T ${exit.r.earlyExit.averageT.toFixed(2)} in ${exit.seconds.toFixed(1)} s`);
console.log(JSON.stringify({ full_accuracy: full.r.accuracy[0], exit_accuracy: exit.r.earlyExit.accuracy, delta_points: round(100 * (exit.r.earlyExit.accuracy - full.r.accuracy[0]), 2),
  average_T: round(exit.r.earlyExit.averageT, 3), T: flags.T, seconds_full: round(full.seconds, 2), seconds_exit: round(exit.seconds, 2), criterion: flags.criterion,
  min_step: choice.minStep, threshold: choice.threshold, train_images: choice.samples, test_images: full.r.count, dataset: flags.dataset, drop_points: Number(flags['drop-points']), model: flags.model }));
