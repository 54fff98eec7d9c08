/**
 * SNN checkpoints: the ANN's weights (as they came, batch norm unfolded, so any weights reader understands them) plus
 * the conversion in metadata (`snn`: thresholds in network order, shift, statistic, samples). Loading converts again
 * with the saved thresholds, which reproduces the SNN exactly.
 */
import { SnnkitError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { createModel } from '../nn/zoo/index.js';
import { loadOnnx } from '../io/onnx.js';
import { loadCheckpoint, saveModel, type CheckpointMeta } from '../train/checkpoint.js';
import { convertToSnn, type ConvertedSnn, type ShiftMode } from './converter.js';

/** What the `snn` metadata entry holds. */
export interface SnnMeta {
  thresholds: number[];
  layers: string[];
  shift: ShiftMode;
  threshold: string;
  samples: number;
}

/**
 * Saves an SNN checkpoint atomically.
 * @param path the .safetensors file
 * @param ann the source ANN (its weights are stored)
 * @param converted what convertToSnn returned
 */
export function saveSnn(path: string, ann: Module, converted: ConvertedSnn, meta: CheckpointMeta & { shift: ShiftMode; threshold: string }): void {
  const snn: SnnMeta = { thresholds: converted.thresholds.map((t) => t.vTh), layers: converted.thresholds.map((t) => t.layer), shift: meta.shift, threshold: meta.threshold, samples: converted.samples };
  saveModel(path, ann, { ...meta, snn });
}

/** True when a checkpoint's metadata describes an SNN. */
export function isSnnMeta(meta: CheckpointMeta): boolean {
  return typeof meta['snn'] === 'object' && meta['snn'] !== null && Array.isArray((meta['snn'] as SnnMeta).thresholds);
}

/**
 * Loads an SNN checkpoint: the ANN and the SNN rebuilt from it.
 * @param arch architecture, when the metadata has none
 * @throws SnnkitError when the file is not an SNN checkpoint or names no architecture
 */
export async function loadSnn(path: string, arch?: string): Promise<{ ann: Module; converted: ConvertedSnn; meta: CheckpointMeta; snnMeta: SnnMeta }> {
  const ck = loadCheckpoint(path);
  try {
    if (!isSnnMeta(ck.meta)) throw new SnnkitError(`${path} is not an SNN checkpoint (no "snn" metadata): convert it with snnkit convert`, 'FILE_FORMAT');
    const name = arch ?? (typeof ck.meta.arch === 'string' ? ck.meta.arch : undefined);
    if (!name) throw new SnnkitError(`${path} has no "arch" metadata: pass --arch`, 'INVALID_ARGUMENT');
    // A graph imported from ONNX is rebuilt from its file; zoo models from their name.
    const ann = name === 'onnx' && typeof ck.meta['onnx_path'] === 'string' ? loadOnnx(ck.meta['onnx_path'])
      : createModel(name, ck.meta['clip_relu'] ? { clipRelu: ck.meta['clip_relu'] as { max: number; learnable?: boolean } } : {});
    ann.loadStateDict(ck.weights);
    const snnMeta = ck.meta['snn'] as SnnMeta;
    const converted = await convertToSnn(ann, { thresholds: snnMeta.thresholds, shift: snnMeta.shift });
    return { ann, converted: { ...converted, samples: snnMeta.samples }, meta: ck.meta, snnMeta };
  } finally {
    ck.dispose();
  }
}
