/**
 * Checkpoints as safetensors files, written atomically: model weights under their state-dict names (so a checkpoint
 * is also a plain weights file any safetensors reader understands), optimizer state under `optimizer.state.*`, and
 * everything else (architecture, epoch, accuracy, normalisation, options, history) as string metadata.
 */
import { SnnkitError } from '../errors.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
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
 */
export function saveModel(path: string, model: Module, meta: CheckpointMeta): void {
  tidy(() => saveSafetensors(path, model.stateDict(), encodeMeta(meta)));
}

/**
 * Saves model, optimizer state and metadata, atomically (a kill during the write leaves the previous file whole).
 * @param path the .safetensors file
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
