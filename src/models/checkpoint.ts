/**
 * snnkit's checkpoints, the one place their format is written and read: safetensors files, written atomically, with
 * model weights under their state-dict names (so a checkpoint is also a plain weights file any safetensors reader
 * understands), optimizer state under `optimizer.state.*`, and everything else (architecture, epoch, accuracy,
 * normalisation, options, history) as string metadata.
 *
 * SNN checkpoints (saveSnn, loadSnn) are the ANN's weights (as they came, batch norm unfolded, so any weights reader
 * understands them) plus the conversion in metadata (`snn`: thresholds in network order, shift, statistic, samples).
 * Loading converts again with the saved thresholds, which reproduces the SNN exactly. A calibrated SNN also stores
 * what calibration changed, under the prefix `snn.`: the SNN's own (folded, corrected) weights and each neuron's
 * initial potential and threshold tensors (`snn.<layer>.v0`, `snn.<layer>.vTh`); loading puts them back.
 */
import { SnnkitError } from '../errors.js';
import { loadSafetensors, saveSafetensors } from '../formats/safetensors.js';
import { convertToSnn, type ConvertedSnn, type ShiftMode } from '../convert/converter.js';
import { createModel } from '../nn/zoo/index.js';
import { SignedIF, SpikingNeuron } from '../neurons/neuron.js';
import { full } from '../tensor/creation.js';
import { loadOnnx } from './onnx.js';
import type { Module, StateDict } from '../nn/module.js';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import { dispose, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

const OPT_PREFIX = 'optimizer.state.';

/** Metadata snnkit writes (all values are strings in the file). */
export interface CheckpointMeta {
  arch?: string;
  dataset?: string;
  /** Completed epochs. */
  epoch?: number;
  /** Test accuracy of these weights, in [0, 1]. */
  accuracy?: number;
  mean?: number[];
  std?: number[];
  [key: string]: unknown;
}

/**
 * Metadata as the file stores it: strings (mean and std as comma-separated numbers, the rest as JSON).
 * @example
 * models.encodeMeta({ arch: 'mnist-cnn', epoch: 3, mean: [0.1307], std: [0.3081] });
 * // { format: 'snnkit-checkpoint-1', arch: 'mnist-cnn', epoch: '3', mean: '0.1307', std: '0.3081' }
 */
export function encodeMeta(meta: CheckpointMeta): Record<string, string> {
  const out: Record<string, string> = { format: 'snnkit-checkpoint-1' };
  for (const [k, v] of Object.entries(meta)) {
    if (v === undefined) continue;
    if (k === 'mean' || k === 'std') out[k] = (v as number[]).join(',');
    else out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Parses metadata written by snnkit or by others (the shared ResNet-20 carries `arch`, `mean`, `std` as text).
 * @returns typed metadata (unknown keys kept as strings)
 * @example
 * models.decodeMeta({ arch: 'cifar-resnet20', epoch: '200', mean: '0.4914,0.4822,0.4465' });
 * // { arch: 'cifar-resnet20', epoch: 200, mean: [0.4914, 0.4822, 0.4465] }
 */
export function decodeMeta(raw: Record<string, string>): CheckpointMeta {
  const out: CheckpointMeta = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'mean' || k === 'std') {
      const nums = v.split(',').map(Number);
      if (nums.length && nums.every(Number.isFinite)) out[k] = nums;
    } else if (k === 'epoch' || k === 'accuracy') {
      if (Number.isFinite(Number(v))) out[k] = Number(v);
    } else {
      try {
        out[k] = k === 'arch' || k === 'dataset' || k === 'format' ? v : JSON.parse(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

/**
 * Saves a model's weights and metadata, atomically.
 * @param path the .safetensors file
 * @example
 * saveModel('best.safetensors', model, { arch: 'mnist-cnn', dataset: 'mnist', epoch: 10, accuracy: 0.991 });
 */
export function saveModel(path: string, model: Module, meta: CheckpointMeta): void {
  tidy(() => saveSafetensors(path, model.stateDict(), encodeMeta(meta)));
}

/**
 * Saves model, optimizer state and metadata, atomically (a kill during the write leaves the previous file whole).
 * @param path the .safetensors file
 * @example
 * saveTrainingCheckpoint('last.safetensors', model, optimizer, { arch: 'mnist-cnn', epoch: 5 });
 */
export function saveTrainingCheckpoint(path: string, model: Module, optimizer: Optimizer, meta: CheckpointMeta): void {
  tidy(() => {
    const tensors: Record<string, Tensor> = model.stateDict();
    const sd = optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [idx, st] of Object.entries(sd.state)) {
      for (const [key, v] of Object.entries(st)) {
        if (typeof v === 'number') (scalars[idx] ??= {})[key] = v;
        else tensors[`${OPT_PREFIX}${idx}.${key}`] = v;
      }
    }
    saveSafetensors(path, tensors, encodeMeta({ ...meta, optimizer: { paramGroups: sd.paramGroups, scalars } }));
  });
}

/** A checkpoint read back: model weights (without optimizer entries), optimizer state if present, metadata. */
export interface LoadedCheckpoint {
  weights: StateDict;
  optimizer: OptimizerStateDict | undefined;
  meta: CheckpointMeta;
  /** Frees the tensors read. */
  dispose(): void;
}

/**
 * Reads a checkpoint (snnkit's or any safetensors weights file).
 * @param path the file
 * @returns weights, optimizer state (snnkit training checkpoints only) and metadata
 * @throws SnnkitError when the file is missing or malformed, or its optimizer entries are inconsistent
 * @example
 * const ck = loadCheckpoint('best.safetensors');
 * const model = nn.createModel(ck.meta.arch ?? 'mnist-cnn');
 * model.loadStateDict(ck.weights);
 * ck.dispose();
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const { tensors, metadata } = loadSafetensors(path);
  const meta = decodeMeta(metadata);
  const weights: StateDict = {};
  const state: Record<number, ParamState> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith(OPT_PREFIX)) {
      weights[k] = t;
      continue;
    }
    const m = /^(\d+)\.(.+)$/.exec(k.slice(OPT_PREFIX.length));
    if (!m) throw new SnnkitError(`loadCheckpoint: ${path}: malformed optimizer entry '${k}'`, 'FILE_FORMAT');
    (state[Number(m[1])] ??= {})[m[2]!] = t;
  }
  let optimizer: OptimizerStateDict | undefined;
  const o = meta['optimizer'] as { paramGroups?: OptimizerStateDict['paramGroups']; scalars?: Record<string, Record<string, number>> } | undefined;
  if (o?.paramGroups) {
    for (const [idx, sc] of Object.entries(o.scalars ?? {})) Object.assign((state[Number(idx)] ??= {}), sc);
    optimizer = { state, paramGroups: o.paramGroups };
  }
  delete meta['optimizer'];
  return { weights, optimizer, meta, dispose: () => dispose(tensors) };
}

// ---- SNN checkpoints ---------------------------------------------------------------------------------------------

/** What the `snn` metadata entry holds. */
export interface SnnMeta {
  thresholds: number[];
  layers: string[];
  shift: ShiftMode;
  threshold: string;
  samples: number;
  /** Signed IF neurons (absent: IF). */
  signed?: boolean;
  /** Present for a calibrated SNN: the T it was calibrated for and the steps applied. */
  calibration?: { T: number; steps: string[]; pipeline?: string };
}

/** Prefix of the calibrated SNN's own tensors in a checkpoint. */
const SNN_PREFIX = 'snn.';

/**
 * Saves an SNN checkpoint atomically.
 * @param path the .safetensors file
 * @param ann the source ANN (its weights are stored)
 * @param converted what convertToSnn returned
 * @example
 * const converted = await convert.convertToSnn(ann, { calibration: trainLoader, shift: 'potential' });
 * models.saveSnn('snn.safetensors', ann, converted, { arch: 'mnist-cnn', shift: 'potential', threshold: 'max' });
 */
export function saveSnn(path: string, ann: Module, converted: ConvertedSnn, meta: CheckpointMeta & { shift: ShiftMode; threshold: string; calibration?: SnnMeta['calibration'] }): void {
  const { calibration, ...rest } = meta;
  const snn: SnnMeta = { ...snnMetaOf(converted), shift: meta.shift, threshold: meta.threshold, ...(calibration ? { calibration } : {}) };
  tidy(() => saveSafetensors(path, snnTensors(ann, calibration ? converted.snn : undefined), encodeMeta({ ...rest, snn })));
}

/** The thresholds, layer names, samples and signedness of a converted network, as its `snn` metadata records them. */
function snnMetaOf(converted: ConvertedSnn): Pick<SnnMeta, 'thresholds' | 'layers' | 'samples' | 'signed'> {
  const signed = converted.snn.modules().some((m) => m instanceof SignedIF);
  return { thresholds: converted.thresholds.map((t) => t.vTh), layers: converted.thresholds.map((t) => t.layer), samples: converted.samples, ...(signed ? { signed } : {}) };
}

/**
 * The tensors of an SNN checkpoint: the ANN's weights, and with `snn` (a calibrated or fine-tuned network) its own
 * tensors under `snn.`, including each neuron's initial potential (`snn.<layer>.v0`) and tensor threshold
 * (`snn.<layer>.vTh`). New handles: dispose them, or call inside tidy().
 * @param ann the source ANN
 * @param snn the SNN whose own state is stored (omit for a plainly converted network: thresholds alone rebuild it)
 * @returns name → tensor, as {@link loadSnn} reads them
 * @example
 * tidy(() => formats.saveSafetensors(path, models.snnTensors(ann, converted.snn), encodeMeta(meta)));
 */
export function snnTensors(ann: Module, snn?: Module): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = ann.stateDict();
  if (!snn) return tensors;
  for (const [k, t] of Object.entries(snn.stateDict())) tensors[SNN_PREFIX + k] = t;
  for (const [name, m] of snn.namedModules()) {
    if (!(m instanceof SpikingNeuron)) continue;
    const v0 = m.v0, th = m.thresholdParam ?? m.vTh;
    if (v0 !== undefined) tensors[`${SNN_PREFIX}${name}.v0`] = typeof v0 === 'number' ? full([], v0) : v0.detach();
    if (typeof th !== 'number') tensors[`${SNN_PREFIX}${name}.vTh`] = th.detach();
  }
  return tensors;
}

/**
 * True when a checkpoint's metadata describes an SNN.
 * @example
 * const ck = loadCheckpoint('model.safetensors');
 * const isSnn = models.isSnnMeta(ck.meta); // then read it with models.loadSnn
 * ck.dispose();
 */
export function isSnnMeta(meta: CheckpointMeta): boolean {
  return typeof meta['snn'] === 'object' && meta['snn'] !== null && Array.isArray((meta['snn'] as SnnMeta).thresholds);
}

/**
 * Loads an SNN checkpoint: the ANN and the SNN rebuilt from it.
 * @param arch architecture, when the metadata has none
 * @throws SnnkitError when the file is not an SNN checkpoint or names no architecture
 * @example
 * const { ann, converted, snnMeta } = await models.loadSnn('snn.safetensors');
 * const r = await convert.simulate(converted.snn, testLoader, { T: [snnMeta.calibration?.T ?? 32], ann });
 */
export async function loadSnn(path: string, arch?: string): Promise<{ ann: Module; converted: ConvertedSnn; meta: CheckpointMeta; snnMeta: SnnMeta }> {
  const ck = loadCheckpoint(path);
  try {
    if (!isSnnMeta(ck.meta)) throw new SnnkitError(`${path} is not an SNN checkpoint (no "snn" metadata): convert it with snnkit convert`, 'FILE_FORMAT');
    const name = arch ?? (typeof ck.meta.arch === 'string' ? ck.meta.arch : undefined);
    if (!name) throw new SnnkitError(`${path} has no "arch" metadata: pass --arch`, 'INVALID_ARGUMENT');
    // A graph imported from ONNX is rebuilt from its file; zoo models from their name.
    const ann = name === 'onnx' && typeof ck.meta['onnx_path'] === 'string' ? loadOnnx(ck.meta['onnx_path'], { substituteMaxPool: ck.meta['maxpool_as_avg'] === true })
      : createModel(name, ck.meta['clip_relu'] ? { clipRelu: ck.meta['clip_relu'] as { max: number; learnable?: boolean } } : {});
    const annWeights = Object.fromEntries(Object.entries(ck.weights).filter(([k]) => !k.startsWith(SNN_PREFIX)));
    ann.loadStateDict(annWeights);
    const snnMeta = ck.meta['snn'] as SnnMeta;
    const converted = await convertToSnn(ann, { thresholds: snnMeta.thresholds, shift: snnMeta.shift, signed: snnMeta.signed === true });
    if (snnMeta.calibration) restoreSnnTensors(path, converted.snn, ck.weights);
    return { ann, converted: { ...converted, samples: snnMeta.samples }, meta: ck.meta, snnMeta };
  } finally {
    ck.dispose();
  }
}

/**
 * Puts an SNN's own tensors back (those {@link snnTensors} stored under `snn.`): weights, initial potentials,
 * threshold tensors. Other entries (the ANN's) are ignored.
 * @param path the file they came from, for messages
 * @throws SnnkitError (STATE_DICT_MISMATCH) naming the file when they do not fit the network
 * @example
 * models.restoreSnnTensors('snn.safetensors', converted.snn, loadCheckpoint('snn.safetensors').weights);
 */
export function restoreSnnTensors(path: string, snn: Module, weights: Record<string, Tensor>): void {
  const own: Record<string, Tensor> = {};
  const neurons = new Map(snn.namedModules().filter(([, m]) => m instanceof SpikingNeuron) as [string, SpikingNeuron][]);
  for (const [k, t] of Object.entries(weights)) {
    if (!k.startsWith(SNN_PREFIX)) continue;
    const key = k.slice(SNN_PREFIX.length), dot = key.lastIndexOf('.');
    const neuron = neurons.get(key.slice(0, dot)), field = key.slice(dot + 1);
    if (neuron && field === 'v0') neuron.setInitialPotential(t.ndim === 0 ? t.item() : t.clone());
    // A learnt threshold is a parameter (loaded below with the weights); a fixed one is set on the neuron, which owns it.
    else if (neuron && field === 'vTh' && !neuron.thresholdParam) neuron.setThreshold(t.clone().keep());
    else own[key] = t;
  }
  try {
    snn.loadStateDict(own);
  } catch (e) {
    if (e instanceof SnnkitError) e.message = `${path}: the calibrated SNN's weights do not fit the rebuilt network: ${e.message}`;
    throw e;
  }
}
