/** `snnkit train-snn`: train a spiking zoo model directly (BPTT, surrogate gradients, TET, Dspike search). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { SnnkitError } from '../errors.js';
import { DATASETS, loadDataset } from '../data/registry.js';
import { parseSnnLoss, type SnnLoss } from '../functional/snn-loss.js';
import { RESET_MODES, SPIKE_AMPLITUDES, type ResetMode, type SpikeAmplitude } from '../functional/neuron.js';
import { ENCODINGS, type Encoding, type StepClassifier } from '../neurons/classifier.js';
import type { Module } from '../nn/module.js';
import type { CheckpointMeta } from '../models/checkpoint.js';
import type { Surrogate } from '../surrogate/surrogate.js';
import { hybridFromCheckpoint } from '../train/hybrid.js';
import { loadAnn } from './model.js';
import { flagList } from './flags.js';
import { createSpikingModel, NEURON_KINDS, SPIKING_MODEL_NAMES, SPIKING_ZOO, type NeuronKind } from '../neurons/zoo.js';
import { writeDspikePlot, writeTrainingCurves } from '../report/plot.js';
import { TerminalProgress } from '../report/progress.js';
import { parseSurrogate } from '../surrogate/parse.js';
import { Generator } from '../tensor/creation.js';
import { isConvertedCheckpoint, loadInitWeights, trainSnn, type FdgSchedule } from '../train/snn.js';
import { chooseNormalization, intAtLeast, makeLoader, numberAtLeast, oneOf, optimizerOptions, optimizerSettings, report, runOptions, resolveData, subset, type OptimizerFlags, dataSettings, prepareOut, splitValidation } from './common.js';
import { parseAugment } from './train-ann.js';
import { eventLoadOptions, eventOptions, eventSettings, type EventFlags } from './event-flags.js';

interface SnnFlags extends OptimizerFlags, EventFlags {
  dataset: string; data?: string; arch?: string; T?: number; teacher?: string; distillWeight?: number; distillTemperature: number; scaleSurrogate: boolean; neuron: NeuronKind; tau: number; reset: ResetMode; detachReset?: boolean;
  vThreshold: number; learnThreshold?: boolean; spikeAmplitude?: SpikeAmplitude; surrogate: string; loss: string; encoding?: Encoding; spikingOutput?: boolean; init?: string;
  epochs: number; out: string; clipGradNorm?: number;
  augment: string; seed: number; workers: number; resume: boolean; trainLimit?: number; testLimit?: number; testData?: string; valSize?: number;
  fdg?: boolean; fdgEps: number; fdgStep: number; fdgEvery: number; fdgWeights: number; fdgChunk: number; fdgDtype: 'float32' | 'float64';
  download?: boolean; mirror?: string; json?: boolean;
}

function fdgSchedule(f: SnnFlags): FdgSchedule | undefined {
  if (!f.fdg) return undefined;
  return { every: f.fdgEvery, step: f.fdgStep, eps: f.fdgEps, chunk: f.fdgChunk, dtype: f.fdgDtype, weights: f.fdgWeights };
}

function declareOptions(cmd: Command): Command {
  return eventOptions(runOptions(optimizerOptions(cmd, { batchSize: 64, optimizer: 'adam' })
    .requiredOption('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')}`)
    .option('--data <path>', 'where the data is (default: the usual place for the dataset)')
    .option('--arch <name>', `spiking architecture: ${SPIKING_MODEL_NAMES.join(', ')} (none with --init of an SNN checkpoint: hybrid training)`, oneOf(SPIKING_MODEL_NAMES))
    .option('--T <n>', 'time steps (hybrid training: default the T the --init SNN was calibrated for)', intAtLeast(1))
    .requiredOption('--epochs <n>', 'epochs', intAtLeast(1))
    .requiredOption('--out <dir>', 'output folder (an existing last.safetensors there is resumed)')
    .option('--neuron <kind>', 'if, lif or plif (LIF with a learnt decay sigmoid(w) per layer)', oneOf(NEURON_KINDS), 'lif')
    .option('--tau <x>', 'LIF/PLIF (initial) time constant τ > 1: decay 1 − 1/τ', numberAtLeast(1), 2)
    .option('--reset <mode>', 'soft or hard', oneOf(RESET_MODES), 'soft')
    .option('--detach-reset', 'cut the reset from the gradient')
    .option('--v-threshold <x>', 'firing threshold', numberAtLeast(0), 1)
    .option('--learn-threshold', 'learn one threshold per layer (hybrid training: each neuron layer\'s calibrated threshold, a number or per channel)')
    .option('--spike-amplitude <a>', "what a spike carries: one, or threshold (default: threshold when --init is a converted network, else one)", oneOf(SPIKE_AMPLITUDES))
    .option('--surrogate <spec>', 'rectangle|triangle|exponential|sigmoid|atan|dspike, optionally :PARAM (e.g. atan:2, dspike:3)', 'atan:2')
    .option('--loss <spec>', 'mean-ce, rate-ce, rate-mse (spiking output layer), tet or tet:LAMBDA', 'mean-ce')
    .option('--encoding <kind>', `input encoding: ${ENCODINGS.join(', ')} (default: direct; sequence for snn-nmnist)`, oneOf(ENCODINGS))
    .option('--spiking-output', 'end with a spiking layer (implied by the rate losses)')
    .option('--init <file>', 'with --arch: start from a checkpoint of the same layout (e.g. a cifar-resnet20 ANN for snn-cifar-resnet20), or the network snnkit convert made from one (its thresholds too); '
      + 'without --arch (hybrid training): an SNN checkpoint of snnkit convert or calibrate, any model, trained as it is (IF neurons, folded batch norm, calibrated thresholds and potentials)')
    .option('--teacher <file>', 'hybrid training: the ANN whose logits the SNN also learns (default with --distill-weight: the ANN of --init)')
    .option('--distill-weight <x>', 'hybrid training: weight λ of the distillation term λ·τ²·KL(teacher ‖ SNN) added to the loss', numberAtLeast(0))
    .option('--distill-temperature <x>', 'hybrid training: temperature τ of the distillation', numberAtLeast(0), 1)
    .option('--no-scale-surrogate', 'hybrid training: do not scale each layer\'s surrogate to its threshold (g((v − V_th)/V_th) by default)')
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

/** The model to train, the metadata its checkpoints carry besides the run's, and what the data must be. */
interface Built {
  model: StepClassifier;
  meta: CheckpointMeta;
  /** The input [C, H, W] of one step (the spiking zoo's), or undefined when the model says so itself. */
  stepShape?: readonly number[];
  encoding: Encoding;
  T: number;
  title: string;
  teacher?: Module;
}

/** A spiking zoo model (--arch), optionally started from an ANN or a converted network of the same layout (--init). */
function zooModel(f: SnnFlags, surrogate: Surrogate, loss: SnnLoss, numClasses: number): Built {
  const entry = SPIKING_ZOO[f.arch!]!, T = f.T!;
  const encoding = f.encoding ?? entry.encoding ?? 'direct';
  const amplitude = f.spikeAmplitude ?? (f.init && isConvertedCheckpoint(f.init) ? 'threshold' : 'one');
  const neuron = { kind: f.neuron, tau: f.tau, reset: f.reset, detachReset: f.detachReset ?? false, vTh: f.vThreshold, learnThreshold: f.learnThreshold ?? false, amplitude, surrogate };
  const model = createSpikingModel(f.arch!, { T, neuron, encoding, spikingOutput: f.spikingOutput || loss.kind.startsWith('rate'), numClasses, generator: new Generator(f.seed) });
  const fresh = f.init ? loadInitWeights(model, f.init) : [];
  if (f.init) process.stderr.write(`started from ${f.init}${fresh.length ? ` (${fresh.length} neuron parameters at their initial values)` : ''}\n`);
  return { model, stepShape: entry.inputShape, encoding, T, title: `${f.arch} on ${f.dataset}, T = ${T}`,
    meta: { arch: f.arch, input_shape: `N,${entry.inputShape.join(',')}`,
      snn_train: { T, neuron: { ...neuron, surrogate: surrogate.toString() }, encoding: model.encoding, spiking_output: model.spikingOutput, loss, init: f.init } } };
}

/** Hybrid training: the SNN checkpoint given as --init (convert, calibrate, or an earlier hybrid run) as it is. */
async function hybridModel(f: SnnFlags, surrogate: Surrogate, loss: SnnLoss): Promise<Built> {
  const init = f.init!;
  const { model, ann, meta, snnMeta } = await hybridFromCheckpoint(init, { T: f.T, surrogate, scaleSurrogate: f.scaleSurrogate, learnThreshold: f.learnThreshold ?? false });
  const T = model.T;
  if (f.distillWeight !== undefined && !f.teacher) process.stderr.write(`teacher: the ANN of ${init}\n`);
  const teacher = f.teacher ? loadAnn(f.teacher, undefined).model : f.distillWeight !== undefined ? ann : undefined;
  process.stderr.write(`started from ${init}: ${model.neurons().length} IF layers, ${snnMeta.calibration ? `calibrated for T = ${snnMeta.calibration.T} (${snnMeta.calibration.steps.join(', ')})` : 'converted'}; training at T = ${T}\n`);
  return { model, meta: { ...meta, snn_train: { T, hybrid: true, surrogate: surrogate.toString(), scale_surrogate: f.scaleSurrogate, learn_threshold: f.learnThreshold ?? false, loss, init } },
    encoding: 'direct', T, title: `${String(meta.arch)} (hybrid) on ${f.dataset}, T = ${T}`, ...(teacher ? { teacher } : {}) };
}

/** The zoo-only flags: hybrid training uses the network's own neurons and encoding. */
const ZOO_ONLY = ['neuron', 'tau', 'reset', 'detachReset', 'vThreshold', 'spikeAmplitude', 'encoding', 'spikingOutput'] as const;

async function run(f: SnnFlags, cmd: Command): Promise<void> {
  const t0 = performance.now();
  const hybrid = !f.arch;
  const given = ZOO_ONLY.filter((k) => cmd.getOptionValueSource(k) === 'cli');
  if (hybrid && given.length)
    throw new SnnkitError(`${flagList(given)}: hybrid training (--init SNN, no --arch) keeps the network's own IF neurons and direct encoding`, 'INVALID_ARGUMENT');
  const surrogate = parseSurrogate(f.surrogate), loss: SnnLoss = parseSnnLoss(f.loss);
  if (f.fdg && surrogate.name !== 'dspike') throw new SnnkitError(`--fdg searches Dspike's temperature: give --surrogate dspike[:B0], not '${f.surrogate}'`, 'INVALID_ARGUMENT');
  if (hybrid && !(f.init && isConvertedCheckpoint(f.init)))
    throw new SnnkitError(`give --arch (a spiking zoo model), or --init with an SNN checkpoint of snnkit convert or calibrate${f.init ? ` (${f.init} is not one)` : ''}`, 'INVALID_ARGUMENT');
  if (!hybrid && f.T === undefined) throw new SnnkitError('--T: the number of time steps is required with --arch', 'INVALID_ARGUMENT');
  if (!hybrid && (f.teacher || f.distillWeight !== undefined)) throw new SnnkitError('--teacher and --distill-weight go with hybrid training (--init SNN checkpoint, no --arch)', 'INVALID_ARGUMENT');
  if (f.teacher && f.distillWeight === undefined) throw new SnnkitError('--teacher needs --distill-weight', 'INVALID_ARGUMENT');
  prepareOut(f.out);
  const built = hybrid ? await hybridModel(f, surrogate, loss) : zooModel(f, surrogate, loss, DATASETS[f.dataset]?.numClasses ?? 10);
  // Event data in 'sequence' encoding: one frame a step; otherwise the network sees all events summed as an image.
  const events = eventSettings(f.dataset, f, built.encoding === 'sequence' ? built.T : 1, hybrid ? built.meta : undefined), ev = eventLoadOptions(events);
  if (built.encoding === 'sequence' && !events) throw new SnnkitError(`--encoding sequence takes event data (nmnist); '${f.dataset}' holds images: use direct or poisson`, 'INVALID_ARGUMENT');
  const data = await resolveData(f.dataset, f.data, f.download, f.mirror, (l) => process.stderr.write(`${l}\n`));
  const [fullTrain, testSet] = await Promise.all([loadDataset(f.dataset, { data, split: 'train', ...ev }), loadDataset(f.dataset, { data: f.testData ?? data, split: 'test', ...ev })]);
  const stepShape = [fullTrain.shape[0] / (events?.frames ?? 1), fullTrain.shape[1], fullTrain.shape[2]];
  if (built.stepShape && stepShape.join(',') !== built.stepShape.join(','))
    throw new SnnkitError(`${f.arch} takes ${built.stepShape.join('×')} inputs${events ? ' a step' : ''} but ${fullTrain.name} has ${stepShape.join('×')} ${events ? 'frames' : 'images'}`, 'SHAPE_MISMATCH');
  const limited = subset(fullTrain, f.trainLimit);
  const [trainSet, valSet] = splitValidation(limited, f.valSize ?? Math.round(limited.length / 10));
  const norm = chooseNormalization(f.dataset, {}, hybrid ? built.meta : undefined);
  const common = { seed: f.seed, workers: f.workers };
  const train = makeLoader(trainSet, norm, { ...common, batchSize: f.batchSize, shuffle: true, augment: parseAugment(f.augment, trainSet.shape) });
  const val = valSet ? makeLoader(valSet, norm, { ...common, batchSize: 256, shuffle: false }) : undefined;
  const test = makeLoader(subset(testSet, f.testLimit), norm, { ...common, batchSize: 256, shuffle: false });
  try {
    const fdg = fdgSchedule(f), { model, title, teacher } = built;
    const distill = f.distillWeight !== undefined ? { weight: f.distillWeight, temperature: f.distillTemperature } : undefined;
    const res = await trainSnn({
      model, train, val, test, outDir: f.out, resume: f.resume, epochs: f.epochs, ...optimizerSettings(f), clipGradNorm: f.clipGradNorm, seed: f.seed, loss,
      ...(fdg ? { fdg } : {}), ...(distill && teacher ? { distill, teacher } : {}), progress: new TerminalProgress(),
      onEpoch: async (h) => {
        await writeTrainingCurves(join(f.out, 'curves.svg'), [...h], title);
        if (fdg) await writeDspikePlot(join(f.out, 'dspike.svg'), [...h], title);
      },
      meta: { ...built.meta, dataset: f.dataset, mean: norm.mean, std: norm.std, ...(events ? { events } : {}),
        snn_train: { ...(built.meta['snn_train'] as object), fdg: fdg ?? null, ...(distill ? { distill: { ...distill, teacher: f.teacher ?? f.init } } : {}) },
        data: dataSettings(f) },
    });
    const last = res.history.at(-1), b = res.best, seconds = (performance.now() - t0) / 1000;
    report(f.json, { command: 'train-snn', arch: f.arch ?? built.meta.arch, hybrid, dataset: f.dataset, T: built.T, epochs: f.epochs, resumedFrom: res.resumedFrom,
      finalAccuracy: last?.testAccuracy, finalValAccuracy: last?.valAccuracy, bestValAccuracy: b?.valAccuracy, bestEpoch: b?.epoch,
      ...(fdg ? { dspikeB: last?.['dspike_b'] } : {}), bestPath: res.bestPath, lastPath: res.lastPath, seconds }, [
      `final test accuracy ${last ? (100 * last.testAccuracy).toFixed(2) : '-'}% after ${f.epochs} epochs at T = ${built.T}; best validation epoch ${b?.epoch ?? '-'}; ` +
      `${res.bestPath}, ${res.lastPath} (${seconds.toFixed(0)} s)`,
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
