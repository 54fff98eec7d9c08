/** `snnkit train-ann`: train a zoo ANN on a dataset, with checkpoints, resume, logs and progress. */
import type { Command } from 'commander';
import { SnnkitError } from '../errors.js';
import { DATASETS, loadDataset } from '../data/registry.js';
import { eventLoadOptions, eventOptions, eventSettings, type EventFlags } from './event-flags.js';
import { cutout, horizontalFlip, randomCrop, type Transform } from '../data/transforms.js';
import { createModel, MODEL_NAMES, ZOO } from '../nn/zoo/index.js';
import { writeTrainingCurves } from '../report/plot.js';
import { TerminalProgress } from '../report/progress.js';
import { join } from 'node:path';
import { Generator } from '../tensor/creation.js';
import { trainAnn } from '../train/ann.js';
import { resolveData, chooseNormalization, intAtLeast, makeLoader, numberAtLeast, oneOf, optimizerOptions, optimizerSettings, report, runOptions, subset, type OptimizerFlags, dataSettings , prepareOut } from './common.js';

interface TrainFlags extends OptimizerFlags, EventFlags {
  dataset: string; data?: string; arch: string; epochs: number; out: string; labelSmoothing: number; clipRelu?: number; clipReluLearnable?: boolean;
  augment: string; download?: boolean; mirror?: string; seed: number; workers: number; resume: boolean; trainLimit?: number; testLimit?: number; testData?: string; json?: boolean;
}

/** Parses --augment: 'auto' (crop+flip for 32×32 colour images, none otherwise), 'none', or a list of crop, flip, cutout. */
export function parseAugment(spec: string, shape: readonly [number, number, number]): Transform[] {
  const auto = shape[0] === 3 ? ['crop', 'flip'] : [];
  const names = spec === 'auto' ? auto : spec === 'none' ? [] : spec.split(',').map((s) => s.trim());
  return names.map((n) => {
    if (n === 'crop') return randomCrop(shape[1], Math.round(shape[1] / 8));
    if (n === 'flip') return horizontalFlip(0.5);
    if (n === 'cutout') return cutout(Math.round(shape[1] / 2));
    throw new SnnkitError(`--augment: unknown augmentation '${n}': expected auto, none, or a comma list of crop, flip, cutout`, 'INVALID_ARGUMENT');
  });
}

/** Registers `train-ann`. */
export function trainAnnCommand(program: Command): void {
  eventOptions(runOptions(optimizerOptions(program
    .command('train-ann')
    .description('train an ANN from the model zoo; DIR gets best.safetensors, last.safetensors, log.csv, log.json and curves.svg')
    .requiredOption('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')}`)
    .option('--data <path>', 'where the data is (default: the usual place for the dataset)')
    .requiredOption('--arch <name>', `architecture: ${MODEL_NAMES.join(', ')}`, oneOf(MODEL_NAMES))
    .requiredOption('--epochs <n>', 'epochs', intAtLeast(1))
    .requiredOption('--out <dir>', 'output folder (an existing last.safetensors there is resumed)'), { batchSize: 128, optimizer: 'sgd' })
    .option('--label-smoothing <x>', 'label smoothing', numberAtLeast(0), 0)
    .option('--clip-relu <max>', 'train with clipped ReLU min(max(x,0),max) (removes conversion clipping error)', numberAtLeast(0))
    .option('--clip-relu-learnable', 'learn the clipping level')
    .option('--augment <spec>', 'auto | none | comma list of crop, flip, cutout', 'auto')
    .option('--seed <n>', 'seed of initialisation, shuffling, augmentation, dropout', intAtLeast(0), 0)), true)
    .action(async (f: TrainFlags) => {
      const t0 = performance.now();
      prepareOut(f.out);
      const data = await resolveData(f.dataset, f.data, f.download, f.mirror, (l) => process.stderr.write(`${l}\n`));
      const events = eventSettings(f.dataset, f), ev = eventLoadOptions(events);
      const [trainSet, testSet] = await Promise.all([loadDataset(f.dataset, { data, split: 'train', ...ev }), loadDataset(f.dataset, { data: f.testData ?? data, split: 'test', ...ev })]);
      const want = ZOO[f.arch]!.inputShape;
      if (trainSet.shape.join(',') !== want.join(','))
        throw new SnnkitError(`${f.arch} takes ${want.join('×')} inputs but ${trainSet.name} has ${trainSet.shape.join('×')} images`, 'SHAPE_MISMATCH');
      const norm = chooseNormalization(f.dataset, {});
      const common = { seed: f.seed, workers: f.workers };
      const train = makeLoader(subset(trainSet, f.trainLimit), norm, { ...common, batchSize: f.batchSize, shuffle: true, augment: parseAugment(f.augment, trainSet.shape) });
      const test = makeLoader(subset(testSet, f.testLimit), norm, { ...common, batchSize: 256, shuffle: false });
      const clip = f.clipRelu !== undefined ? { max: f.clipRelu, learnable: f.clipReluLearnable ?? false } : undefined;
      const model = createModel(f.arch, { numClasses: trainSet.classes.length, clipRelu: clip, generator: new Generator(f.seed) });
      const res = await trainAnn({
        model, train, test, outDir: f.out, resume: f.resume, epochs: f.epochs, ...optimizerSettings(f), labelSmoothing: f.labelSmoothing, seed: f.seed, progress: new TerminalProgress(),
        onEpoch: (h) => writeTrainingCurves(join(f.out, 'curves.svg'), [...h], `${f.arch} on ${f.dataset}`),
        meta: { arch: f.arch, dataset: f.dataset, mean: norm.mean, std: norm.std, input_shape: `N,${want.join(',')}`, clip_relu: clip, ...(events ? { events } : {}),
          label_smoothing: f.labelSmoothing, data: dataSettings(f) },
      });
      await Promise.all([train.close(), test.close()]);
      const seconds = (performance.now() - t0) / 1000;
      const b = res.best;
      report(f.json, { command: 'train-ann', arch: f.arch, dataset: f.dataset, epochs: f.epochs, resumedFrom: res.resumedFrom,
        bestAccuracy: b?.testAccuracy, bestEpoch: b?.epoch, finalAccuracy: res.history.at(-1)?.testAccuracy, bestPath: res.bestPath,
        lastPath: res.lastPath, seconds }, [
        `best test accuracy ${b ? (100 * b.testAccuracy).toFixed(2) : '-'}% at epoch ${b?.epoch ?? '-'}; ${res.bestPath}, ${res.lastPath} (${seconds.toFixed(0)} s)`,
      ]);
    });
}
