/** `snnkit train-snn`: train a spiking zoo model directly (BPTT, surrogate gradients, TET, Dspike search). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { SnnkitError } from '../errors.js';
import type { ImageDataset } from '../data/dataset.js';
import { DATASETS, loadDataset } from '../data/registry.js';
import { parseSnnLoss, type SnnLoss } from '../functional/snn-loss.js';
import { RESET_MODES, SPIKE_AMPLITUDES, type ResetMode, type SpikeAmplitude } from '../functional/neuron.js';
import { ENCODINGS, type Encoding } from '../neurons/classifier.js';
import { createSpikingModel, NEURON_KINDS, SPIKING_MODEL_NAMES, SPIKING_ZOO, type NeuronKind } from '../neurons/zoo.js';
import { writeDspikePlot, writeTrainingCurves } from '../report/plot.js';
import { TerminalProgress } from '../report/progress.js';
import { parseSurrogate } from '../surrogate/parse.js';
import { Generator } from '../tensor/creation.js';
import { isConvertedCheckpoint, loadInitWeights, trainSnn, type FdgSchedule } from '../train/snn.js';
import { chooseNormalization, intAtLeast, makeLoader, numberAtLeast, oneOf, optimizerOptions, optimizerSettings, report, runOptions, resolveData, subset, type OptimizerFlags, dataSettings , prepareOut } from './common.js';
import { parseAugment } from './train-ann.js';
import { eventLoadOptions, eventOptions, eventSettings, type EventFlags } from './event-flags.js';

interface SnnFlags extends OptimizerFlags, EventFlags {
  dataset: string; data?: string; arch: string; T: number; neuron: NeuronKind; tau: number; reset: ResetMode; detachReset?: boolean;
  vThreshold: number; learnThreshold?: boolean; spikeAmplitude?: SpikeAmplitude; surrogate: string; loss: string; encoding?: Encoding; spikingOutput?: boolean; init?: string;
  epochs: number; out: string; clipGradNorm?: number;
  augment: string; seed: number; workers: number; resume: boolean; trainLimit?: number; testLimit?: number; valSize?: number;
  fdg?: boolean; fdgEps: number; fdgStep: number; fdgEvery: number; fdgWeights: number; fdgChunk: number; fdgDtype: 'float32' | 'float64';
  download?: boolean; mirror?: string; json?: boolean;
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

function fdgSchedule(f: SnnFlags): FdgSchedule | undefined {
  if (!f.fdg) return undefined;
  return { every: f.fdgEvery, step: f.fdgStep, eps: f.fdgEps, chunk: f.fdgChunk, dtype: f.fdgDtype, weights: f.fdgWeights };
}

function declareOptions(cmd: Command): Command {
  return eventOptions(runOptions(optimizerOptions(cmd, { batchSize: 64, optimizer: 'adam' })
    .requiredOption('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')}`)
    .option('--data <path>', 'where the data is (default: the usual place for the dataset)')
    .requiredOption('--arch <name>', `spiking architecture: ${SPIKING_MODEL_NAMES.join(', ')}`, oneOf(SPIKING_MODEL_NAMES))
    .requiredOption('--T <n>', 'time steps', intAtLeast(1))
    .requiredOption('--epochs <n>', 'epochs', intAtLeast(1))
    .requiredOption('--out <dir>', 'output folder (an existing last.safetensors there is resumed)')
    .option('--neuron <kind>', 'if, lif or plif (LIF with a learnt decay sigmoid(w) per layer)', oneOf(NEURON_KINDS), 'lif')
    .option('--tau <x>', 'LIF/PLIF (initial) time constant τ > 1: decay 1 − 1/τ', numberAtLeast(1), 2)
    .option('--reset <mode>', 'soft or hard', oneOf(RESET_MODES), 'soft')
    .option('--detach-reset', 'cut the reset from the gradient')
    .option('--v-threshold <x>', 'firing threshold', numberAtLeast(0), 1)
    .option('--learn-threshold', 'learn one threshold per layer')
    .option('--spike-amplitude <a>', "what a spike carries: one, or threshold (default: threshold when --init is a converted network, else one)", oneOf(SPIKE_AMPLITUDES))
    .option('--surrogate <spec>', 'rectangle|triangle|exponential|sigmoid|atan|dspike, optionally :PARAM (e.g. atan:2, dspike:3)', 'atan:2')
    .option('--loss <spec>', 'mean-ce, rate-ce, rate-mse (spiking output layer), tet or tet:LAMBDA', 'mean-ce')
    .option('--encoding <kind>', `input encoding: ${ENCODINGS.join(', ')} (default: direct; sequence for snn-nmnist)`, oneOf(ENCODINGS))
    .option('--spiking-output', 'end with a spiking layer (implied by the rate losses)')
    .option('--init <file>', 'start from these weights: a checkpoint of the same layout (e.g. a cifar-resnet20 ANN for snn-cifar-resnet20), or the network snnkit convert made from one (its thresholds too)')
    .option('--clip-grad-norm <x>', 'clip the gradient norm', numberAtLeast(0))
    .option('--augment <spec>', 'auto | none | comma list of crop, flip, cutout', 'auto')
    .option('--val-size <n>', 'validation samples split off the end of the training set, for best.safetensors (default: 10%; 0: none)', intAtLeast(0))
    .option('--fdg', 'search the Dspike temperature b with finite-difference gradients (needs --surrogate dspike[:b0])')
    .option('--fdg-eps <x>', 'finite-difference step ε', numberAtLeast(0), 1e-2)
    .option('--fdg-step <x>', 'Δb: the candidates are b − Δb, b, b + Δb', numberAtLeast(0), 0.5)
    .option('--fdg-every <n>', 'search after every n epochs', intAtLeast(1), 1)
    .option('--fdg-weights <n>', 'first-layer weights to sample (2 forward passes each)', intAtLeast(1), 128)
    .option('--fdg-chunk <n>', 'perturbations per forward pass (batched; more than 4 was slower on 2 cores)', intAtLeast(1), 1)
    .option('--fdg-dtype <t>', 'float32 or float64 (2.6-7.7× slower on the CPU)', oneOf(['float32', 'float64'] as const), 'float32')
    .option('--seed <n>', 'seed of initialisation, shuffling, augmentation, Poisson spikes', intAtLeast(0), 0)), false);
}

async function run(f: SnnFlags): Promise<void> {
  const t0 = performance.now();
  const surrogate = parseSurrogate(f.surrogate), loss: SnnLoss = parseSnnLoss(f.loss);
  if (f.fdg && surrogate.name !== 'dspike') throw new SnnkitError(`--fdg searches Dspike's temperature: give --surrogate dspike[:B0], not '${f.surrogate}'`, 'INVALID_ARGUMENT');
  const entry = SPIKING_ZOO[f.arch]!;
  prepareOut(f.out);
  // Event data in 'sequence' encoding: one frame a step; otherwise the network sees all events summed as an image.
  const encoding = f.encoding ?? entry.encoding ?? 'direct';
  const events = eventSettings(f.dataset, f, encoding === 'sequence' ? f.T : 1), ev = eventLoadOptions(events);
  if (encoding === 'sequence' && !events) throw new SnnkitError(`--encoding sequence takes event data (nmnist); '${f.dataset}' holds images: use direct or poisson`, 'INVALID_ARGUMENT');
  const data = await resolveData(f.dataset, f.data, f.download, f.mirror, (l) => process.stderr.write(`${l}\n`));
  const [fullTrain, testSet] = await Promise.all([loadDataset(f.dataset, { data, split: 'train', ...ev }), loadDataset(f.dataset, { data, split: 'test', ...ev })]);
  const stepShape = [fullTrain.shape[0] / (events?.frames ?? 1), fullTrain.shape[1], fullTrain.shape[2]];
  if (stepShape.join(',') !== entry.inputShape.join(','))
    throw new SnnkitError(`${f.arch} takes ${entry.inputShape.join('×')} inputs${events ? ' a step' : ''} but ${fullTrain.name} has ${stepShape.join('×')} ${events ? 'frames' : 'images'}`, 'SHAPE_MISMATCH');
  const limited = subset(fullTrain, f.trainLimit);
  const [trainSet, valSet] = splitValidation(limited, f.valSize ?? Math.round(limited.length / 10));
  const norm = chooseNormalization(f.dataset, {});
  const common = { seed: f.seed, workers: f.workers };
  const train = makeLoader(trainSet, norm, { ...common, batchSize: f.batchSize, shuffle: true, augment: parseAugment(f.augment, trainSet.shape) });
  const val = valSet ? makeLoader(valSet, norm, { ...common, batchSize: 256, shuffle: false }) : undefined;
  const test = makeLoader(subset(testSet, f.testLimit), norm, { ...common, batchSize: 256, shuffle: false });
  const amplitude = f.spikeAmplitude ?? (f.init && isConvertedCheckpoint(f.init) ? 'threshold' : 'one');
  const neuron = { kind: f.neuron, tau: f.tau, reset: f.reset, detachReset: f.detachReset ?? false, vTh: f.vThreshold, learnThreshold: f.learnThreshold ?? false, amplitude, surrogate };
  const model = createSpikingModel(f.arch, { T: f.T, neuron, encoding, spikingOutput: f.spikingOutput || loss.kind.startsWith('rate'),
    numClasses: trainSet.classes.length, generator: new Generator(f.seed) });
  try {
    const fresh = f.init ? loadInitWeights(model, f.init) : [];
    if (f.init) process.stderr.write(`started from ${f.init}${fresh.length ? ` (${fresh.length} neuron parameters at their initial values)` : ''}\n`);
    const fdg = fdgSchedule(f);
    const title = `${f.arch} on ${f.dataset}, T = ${f.T}`;
    const res = await trainSnn({
      model, train, val, test, outDir: f.out, resume: f.resume, epochs: f.epochs, ...optimizerSettings(f), clipGradNorm: f.clipGradNorm, seed: f.seed, loss, ...(fdg ? { fdg } : {}), progress: new TerminalProgress(),
      onEpoch: async (h) => {
        await writeTrainingCurves(join(f.out, 'curves.svg'), [...h], title);
        if (fdg) await writeDspikePlot(join(f.out, 'dspike.svg'), [...h], title);
      },
      meta: { arch: f.arch, dataset: f.dataset, mean: norm.mean, std: norm.std, input_shape: `N,${entry.inputShape.join(',')}`, ...(events ? { events } : {}),
        snn_train: { T: f.T, neuron: { ...neuron, surrogate: surrogate.toString() }, encoding: model.encoding, spiking_output: model.spikingOutput, loss, init: f.init, fdg: fdg ?? null },
        data: dataSettings(f) },
    });
    const last = res.history.at(-1), b = res.best;
    report(f.json, { command: 'train-snn', arch: f.arch, dataset: f.dataset, T: f.T, epochs: f.epochs, resumedFrom: res.resumedFrom,
      finalAccuracy: last?.testAccuracy, finalValAccuracy: last?.valAccuracy, bestValAccuracy: b?.valAccuracy, bestEpoch: b?.epoch,
      ...(fdg ? { dspikeB: last?.['dspike_b'] } : {}), bestPath: res.bestPath, lastPath: res.lastPath, seconds: (performance.now() - t0) / 1000 }, [
      `final test accuracy ${last ? (100 * last.testAccuracy).toFixed(2) : '-'}% after ${f.epochs} epochs; best validation epoch ${b?.epoch ?? '-'}; ` +
      `${res.bestPath}, ${res.lastPath} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    ]);
  } finally {
    await Promise.all([train.close(), val?.close(), test.close()]);
  }
}

/** Registers `train-snn`. */
export function trainSnnCommand(program: Command): void {
  declareOptions(program.command('train-snn')
    .description('train a spiking network directly (BPTT with surrogate gradients); DIR gets best/last.safetensors, log.csv, log.json, curves.svg (and dspike.svg with --fdg)'))
    .action(run);
}
