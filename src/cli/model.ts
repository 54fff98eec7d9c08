/** Loading the ANN a user brings: snnkit/safetensors checkpoints, ONNX graphs, PyTorch checkpoints. */
import { extname } from 'node:path';
import { SnnkitError } from '../errors.js';
import { loadOnnx } from '../models/onnx.js';
import { torchStateDict } from '../formats/pytorch.js';
import type { Module } from '../nn/module.js';
import { createModel, MODEL_NAMES } from '../nn/zoo/index.js';
import { loadCheckpoint, type CheckpointMeta } from '../models/checkpoint.js';
import { dispose } from '../tensor/scope.js';
import type { Encoding } from '../neurons/classifier.js';
import { createSpikingModel, type NeuronSpec } from '../neurons/zoo.js';
import { parseSurrogate, surrogateNames } from '../surrogate/parse.js';
import type { Surrogate } from '../surrogate/surrogate.js';

/** A loaded ANN, the architecture name it was built from ('onnx' for graphs), and its metadata. */
export interface LoadedAnn {
  model: Module;
  arch: string;
  meta: CheckpointMeta;
  format: 'safetensors' | 'onnx' | 'pytorch';
}

/** What train-snn writes into its checkpoints' metadata (snn_train). */
interface TrainedSnnMeta {
  T: number;
  encoding: Encoding;
  spiking_output: boolean;
  neuron: Omit<NeuronSpec, 'surrogate'> & { surrogate: string };
}

/**
 * Loads an ANN (or a model trained by train-snn) by file type: `.onnx` (an imported graph; no --arch needed), `.th`/`.pt`/`.pth` (a PyTorch state dict,
 * read without executing pickle code; needs --arch; a DataParallel `module.` prefix is removed), anything else as
 * safetensors (architecture from --arch or the "arch" metadata).
 * @throws SnnkitError when the architecture is missing or unknown, or the weights do not fit it
 */
export function loadAnn(path: string, arch: string | undefined, opts: { maxpoolAsAvg?: boolean } = {}): LoadedAnn {
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') {
    const model = loadOnnx(path, { substituteMaxPool: opts.maxpoolAsAvg ?? false, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
    return { model, arch: arch ?? 'onnx', meta: {}, format: 'onnx' };
  }
  const need = (a: string | undefined, why: string): string => {
    if (!a) throw new SnnkitError(`${path}: ${why}: pass --arch (one of ${MODEL_NAMES.join(', ')})`, 'INVALID_ARGUMENT');
    return a;
  };
  if (ext === '.th' || ext === '.pt' || ext === '.pth') {
    const name = need(arch, 'a PyTorch checkpoint holds weights only');
    const sd = torchStateDict(path, { stripPrefix: 'auto' });
    const model = createModel(name);
    try {
      model.loadStateDict(sd);
    } finally {
      dispose(sd);
    }
    return { model, arch: name, meta: {}, format: 'pytorch' };
  }
  const ck = loadCheckpoint(path);
  try {
    const name = need(arch ?? (typeof ck.meta.arch === 'string' ? ck.meta.arch : undefined), 'it has no "arch" metadata');
    const trained = ck.meta['snn_train'] as TrainedSnnMeta | undefined;
    if (trained) {
      const model = createSpikingModel(name, { T: trained.T, encoding: trained.encoding, spikingOutput: trained.spiking_output,
        neuron: { ...trained.neuron, surrogate: storedSurrogate(path, trained.neuron.surrogate) } });
      model.loadStateDict(ck.weights);
      return { model, arch: name, meta: ck.meta, format: 'safetensors' };
    }
    const clip = ck.meta['clip_relu'] as { max: number; learnable?: boolean } | undefined;
    const model = createModel(name, clip ? { clipRelu: clip } : {});
    model.loadStateDict(ck.weights);
    return { model, arch: name, meta: ck.meta, format: 'safetensors' };
  } finally {
    ck.dispose();
  }
}

/**
 * The surrogate a checkpoint names as its toString() ('atan(sharpness=2)'; older ones 'atan(alpha=2)').
 * @throws SnnkitError naming the file and the surrogate when it is neither built in nor registered (by a --plugin)
 */
function storedSurrogate(path: string, stored: string): Surrogate {
  const spec = stored.replace(/^(\w+)\(\w+=([^)]+)\)$/, '$1:$2');
  if (!surrogateNames().includes(spec.split(':')[0]!))
    throw new SnnkitError(`${path}: the model was trained with the surrogate ${stored}, which is neither built in nor registered: ` +
      'give the module that registers it with --plugin', 'INVALID_ARGUMENT');
  return parseSurrogate(spec);
}
