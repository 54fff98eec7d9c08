/** Helpers shared by CLI commands: typed option parsers, normalisation choice, loaders, --json output. */
import { InvalidArgumentError, type Command } from 'commander';
import { SnnkitError } from '../errors.js';
import type { ImageDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { DATASETS } from '../data/registry.js';
import { defaultDownloadDir, downloadDataset, OFFICIAL_SOURCES, type DownloadableDataset } from '../data/download.js';
import { normalize, type Transform } from '../data/transforms.js';
import type { CheckpointMeta } from '../models/checkpoint.js';
import { loadDataset } from '../data/registry.js';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadAnn } from './model.js';
import { MODEL_NAMES } from '../nn/zoo/index.js';
import { eventLoadOptions, eventOptions, eventSettings, type EventFlags } from './event-flags.js';

/**
 * Checks before any work that the output folder can be made and written: a bad --out fails in a second with one
 * line, not after minutes of training or conversion with a stack trace. Creates nothing (the command makes the
 * folder when it first writes), so a later argument error leaves no empty folder behind.
 * @param dir the --out value
 * @returns dir
 * @throws SnnkitError (IO_ERROR) naming --out and why: a file is in the way, or the folder cannot be written
 */
export function prepareOut(dir: string): string {
  let at = resolve(dir);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const fail = (why: string): SnnkitError => new SnnkitError(`--out '${dir}' ${why}`, 'IO_ERROR');
  if (!statSync(at).isDirectory()) throw fail(at === resolve(dir) ? 'is a file; expected a folder' : `lies under the file '${at}'; expected a folder`);
  const probe = join(at, `.snnkit-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'a read-only file system' : code ?? (e as Error).message;
    throw fail(`cannot be written: '${at}' refuses new files (${what})`);
  }
  return dir;
}

/** commander parser: an integer >= min. */
export const intAtLeast = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${v}'`);
  return n;
};
/** commander parser: a finite number >= min. */
export const numberAtLeast = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`expected a number >= ${min}, got '${v}'`);
  return n;
};
/** commander parser: comma-separated numbers, e.g. 0.485,0.456,0.406. */
export const numberList = (v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || !xs.every(Number.isFinite)) throw new InvalidArgumentError(`expected comma-separated numbers, got '${v}'`);
  return xs;
};
/** commander parser: one of `choices`. */
/** A comma-separated list of positive integers for `flag`, e.g. --T 8,16,32. */
export const intList = (flag: string) => (v: string): number[] => {
  const xs = numberList(v);
  if (!xs.every((x) => Number.isInteger(x) && x >= 1)) throw new SnnkitError(`${flag}: expected positive integers, got '${v}'`, 'INVALID_ARGUMENT');
  return xs;
};
export const oneOf = <T extends string>(choices: readonly T[]) => (v: string): T => {
  if (!choices.includes(v as T)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
};

/** Input normalisation and where it came from. */
export interface Normalization {
  mean: number[];
  std: number[];
  source: 'flags' | 'checkpoint' | 'dataset';
}

/**
 * Chooses the normalisation: flags, else the checkpoint's metadata, else the dataset's usual values.
 * @throws SnnkitError when only one of --mean/--std is given, or their lengths differ
 */
export function chooseNormalization(dataset: string, flags: { mean?: number[]; std?: number[] }, meta?: CheckpointMeta): Normalization {
  if ((flags.mean === undefined) !== (flags.std === undefined)) throw new SnnkitError('give both --mean and --std, or neither', 'INVALID_ARGUMENT');
  if (flags.mean && flags.std) {
    if (flags.mean.length !== flags.std.length) throw new SnnkitError(`--mean has ${flags.mean.length} values but --std has ${flags.std.length}`, 'INVALID_ARGUMENT');
    return { mean: flags.mean, std: flags.std, source: 'flags' };
  }
  if (meta?.mean && meta.std) return { mean: meta.mean, std: meta.std, source: 'checkpoint' };
  const d = DATASETS[dataset];
  if (!d) throw new SnnkitError(`unknown dataset '${dataset}': expected one of ${Object.keys(DATASETS).join(', ')}`, 'INVALID_ARGUMENT');
  return { mean: [...d.defaultNormalization.mean], std: [...d.defaultNormalization.std], source: 'dataset' };
}

/** @returns a DataLoader over `ds` with `augment` then normalisation */
export function makeLoader(ds: ImageDataset, norm: Normalization, o: { batchSize: number; shuffle: boolean; seed: number; workers: number; augment?: Transform[] }): DataLoader {
  if (norm.mean.length !== 1 && norm.mean.length !== ds.shape[0])
    throw new SnnkitError(`the normalisation has ${norm.mean.length} channel values but ${ds.name} images have ${ds.shape[0]} channels`, 'INVALID_ARGUMENT');
  return new DataLoader(ds, { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, workers: o.workers,
    transforms: [...(o.augment ?? []), normalize(norm.mean, norm.std)] });
}

/** Takes the first n samples of a dataset (a view, no copy). */
export function subset(ds: ImageDataset, n: number | undefined): ImageDataset {
  if (n === undefined || n >= ds.length) return ds;
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  return { ...ds, images: ds.images.subarray(0, n * per), labels: ds.labels.subarray(0, n), length: n };
}

/**
 * Splits off the last `n` training samples as the validation split (views, no copy).
 * @returns [train, val]; val is undefined when n is 0
 * @throws SnnkitError when n leaves no training sample
 */
export function splitValidation(ds: ImageDataset, n: number): [ImageDataset, ImageDataset | undefined] {
  if (n === 0) return [ds, undefined];
  if (n >= ds.length) throw new SnnkitError(`--val-size ${n} leaves no training sample (${ds.name} has ${ds.length})`, 'INVALID_ARGUMENT');
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2], k = ds.length - n;
  const part = (from: number, to: number): ImageDataset => ({ ...ds, images: ds.images.subarray(from * per, to * per), labels: ds.labels.subarray(from, to), length: to - from });
  return [part(0, k), part(k, ds.length)];
}

/** Prints the command's result: a JSON object as the last stdout line with --json, else readable lines. */
export function report(json: boolean | undefined, result: Record<string, unknown>, lines: string[]): void {
  if (json) console.log(JSON.stringify(result));
  else for (const l of lines) console.log(l);
}

/**
 * With --download, fetches the official files (SHA-256 checked) into --data or the default download folder first.
 * @returns the path to load from (unchanged without --download)
 * @throws SnnkitError when the dataset has no official download, or a file fails its checksum
 */
export async function resolveData(dataset: string, data: string | undefined, download: boolean | undefined, mirror: string | undefined,
  log: (line: string) => void): Promise<string | undefined> {
  if (!download) return data;
  if (!Object.hasOwn(OFFICIAL_SOURCES, dataset))
    throw new SnnkitError(`--download: '${dataset}' has no official download; expected one of ${Object.keys(OFFICIAL_SOURCES).join(', ')}`, 'INVALID_ARGUMENT');
  const name = dataset as DownloadableDataset;
  const r = await downloadDataset(name, data ?? defaultDownloadDir(name), mirror ? { baseUrl: mirror } : {});
  log(`${dataset}: ${r.downloaded.length ? `downloaded ${r.downloaded.length} file(s)` : 'already downloaded'} into ${r.dataDir}`);
  return r.dataDir;
}

/**
 * Declares the options of ConversionFlags (except --batch-size, whose default differs) on a command, plus --out and
 * --json: what convert and calibrate share.
 */
export function conversionOptions(cmd: Command, calibData: string): Command {
  return eventOptions(cmd
    .requiredOption('--model <file>', 'the ANN: .safetensors (snnkit or --arch), .onnx, or a PyTorch .th/.pt/.pth (with --arch)')
    .option('--arch <name>', `architecture for weights-only files (default: the checkpoint's metadata): ${MODEL_NAMES.join(', ')}`)
    .requiredOption('--dataset <name>', 'mnist, fashion-mnist, cifar10, cifar10-jpeg or nmnist')
    .option('--data <path>', 'test data (default: the dataset\'s usual place, test split)')
    .option('--calib-data <path>', `${calibData} (default: --data, train split)`)
    .option('--maxpool-as-avg', 'ONNX models: replace MaxPool by average pooling of the same window (max pooling is not rate-preserving)')
    .option('--signed', 'signed IF neurons (ternary spikes: a spike fired too early is taken back by a negative one) instead of IF')
    .option('--mean <m1,m2,m3>', 'input normalisation mean (default: checkpoint metadata, else the dataset\'s)', numberList)
    .option('--std <s1,s2,s3>', 'input normalisation std', numberList)
    .option('--test-limit <n>', 'simulate only the first n test samples', intAtLeast(1))
    .option('--workers <n>', 'data worker threads', intAtLeast(0), 1)
    .requiredOption('--out <dir>', 'output folder')
    .option('--json', 'print one JSON object as the last line'), true);
}

/** The flags convert and calibrate share: the model, the data, normalisation, batching. */
export interface ConversionFlags extends EventFlags {
  model: string; arch?: string; dataset: string; data?: string; calibData?: string; mean?: number[]; std?: number[];
  testLimit?: number; batchSize: number; workers: number; maxpoolAsAvg?: boolean;
}

/**
 * Loads the ANN (any format loadAnn takes), chooses the normalisation, and makes the calibration loader (train split,
 * shuffled), the test loader (test split, first --test-limit samples) and, with `valSize`, a validation loader over the
 * last valSize calibration samples, which the calibration loader then leaves out.
 * @returns them, plus the checkpoint metadata an SNN made from this ANN should carry
 */
export async function prepareConversion(f: ConversionFlags & { valSize?: number }, seed = 0) {
  const { model: ann, arch, meta, format } = loadAnn(f.model, f.arch, { maxpoolAsAvg: f.maxpoolAsAvg ?? false });
  const clip = meta['clip_relu'] as { max: number; learnable?: boolean } | undefined;
  const norm = chooseNormalization(f.dataset, f, meta);
  const events = eventSettings(f.dataset, f, undefined, meta), ev = eventLoadOptions(events);
  const [calibSet, testSet] = await Promise.all([
    loadDataset(f.dataset, { data: f.calibData ?? f.data, split: 'train', ...ev }), loadDataset(f.dataset, { data: f.data, split: 'test', ...ev })]);
  const common = { batchSize: f.batchSize, seed, workers: f.workers };
  const [calibPart, valSet] = splitValidation(calibSet, f.valSize ?? 0);
  const calib = makeLoader(calibPart, norm, { ...common, shuffle: true });
  const test = makeLoader(subset(testSet, f.testLimit), norm, { ...common, shuffle: false });
  const val = valSet && makeLoader(valSet, norm, { ...common, shuffle: false });
  const snnMeta = { arch, dataset: f.dataset, mean: norm.mean, std: norm.std, ...(events ? { events } : {}), ...(clip ? { clip_relu: clip } : {}), ...(format === 'onnx' ? { onnx_path: resolve(f.model), ...(f.maxpoolAsAvg ? { maxpool_as_avg: true } : {}) } : {}) };
  return { ann, arch, meta, norm, testSet, calib, test, val, snnMeta };
}

/** The optimizer and schedule flags train-ann and train-snn share. */
export interface OptimizerFlags {
  batchSize: number; optimizer: 'sgd' | 'adam' | 'adamw'; lr?: number; momentum: number; nesterov?: boolean; weightDecay?: number;
  schedule: 'cosine' | 'step' | 'none'; stepEpochs?: number; gamma?: number; warmupEpochs: number;
}

/** Declares the OptimizerFlags on a training command, with its default batch size and optimizer. */
export function optimizerOptions(cmd: Command, defaults: { batchSize: number; optimizer: OptimizerFlags['optimizer'] }): Command {
  return cmd
    .option('--batch-size <n>', 'batch size', intAtLeast(1), defaults.batchSize)
    .option('--optimizer <name>', 'sgd, adam or adamw', oneOf(['sgd', 'adam', 'adamw'] as const), defaults.optimizer)
    .option('--lr <x>', 'learning rate (default 0.1 for sgd, 1e-3 otherwise)', numberAtLeast(0))
    .option('--momentum <x>', 'SGD momentum', numberAtLeast(0), 0.9)
    .option('--nesterov', 'Nesterov momentum')
    .option('--weight-decay <x>', 'weight decay (default 5e-4; 1e-2 for adamw)', numberAtLeast(0))
    .option('--schedule <name>', 'cosine, step or none', oneOf(['cosine', 'step', 'none'] as const), 'cosine')
    .option('--step-epochs <n>', 'step schedule: epochs between decays', intAtLeast(1))
    .option('--gamma <x>', 'step schedule: decay factor', numberAtLeast(0))
    .option('--warmup-epochs <x>', 'linear warm-up epochs', numberAtLeast(0), 0);
}

/** @returns the trainer options of the OptimizerFlags */
export function optimizerSettings(f: OptimizerFlags) {
  return { optimizer: f.optimizer, lr: f.lr, momentum: f.momentum, nesterov: f.nesterov, weightDecay: f.weightDecay, schedule: f.schedule,
    stepEpochs: f.stepEpochs, gamma: f.gamma, warmupEpochs: f.warmupEpochs };
}

/**
 * The data settings of a training run that change its result, for the checkpoint's metadata: a resumed run must use
 * the same (train/loop.ts compares them). Unset ones are recorded as null, so that setting one later is a change.
 * Workers and download flags do not change the result and are left out.
 */
export function dataSettings(f: { batchSize: number; augment: string; trainLimit?: number; testLimit?: number; valSize?: number; testData?: string }) {
  return { batch_size: f.batchSize, augment: f.augment, train_limit: f.trainLimit ?? null, test_limit: f.testLimit ?? null, val_size: f.valSize ?? null,
    ...(f.testData ? { test_data: resolve(f.testData) } : {}) };
}

/** Declares the run flags train-ann and train-snn share: workers, resume, limits, download, --json. */
export function runOptions(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'data worker threads', intAtLeast(0), 1)
    .option('--no-resume', 'start afresh even if DIR has last.safetensors')
    .option('--train-limit <n>', 'use only the first n training samples', intAtLeast(1))
    .option('--test-limit <n>', 'evaluate on the first n test samples only', intAtLeast(1))
    .option('--test-data <path>', "test data, when not --data's test split (e.g. CIFAR-10's exact test_first1000.bin while training on the JPEG copy)")
    .option('--download', 'download the official files first (SHA-256 checked) into --data or ~/.cache/snnkit/datasets')
    .option('--mirror <url>', 'with --download: fetch from this base URL instead of the official site')
    .option('--json', 'print one JSON object as the last line');
}
