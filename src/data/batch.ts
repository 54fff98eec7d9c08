/** Building one batch's arrays from a dataset: shared by the main-thread path and the worker threads. */
import { applyTransforms, outputShape, sampleRng, type Transform } from './transforms.js';

/** What a batch builder needs of a dataset (transferable to a worker: typed arrays over SharedArrayBuffers). */
export interface BatchSource {
  images: Uint8Array;
  labels: Uint8Array;
  shape: [number, number, number];
}

/** A batch as plain arrays, before it becomes tensors. */
export interface RawBatch {
  x: Float32Array;
  y: BigInt64Array;
  shape: [number, number, number, number];
}

/**
 * Gathers, converts and transforms the samples `indices` of `src`.
 * @param src the dataset's arrays
 * @param indices sample indices
 * @param transforms per-sample transforms
 * @param seed the loader's seed
 * @param epoch the epoch (part of each sample's random seed)
 * @returns the batch's float images [B, C, H', W'] and int64 labels [B]
 */
export function buildBatch(src: BatchSource, indices: ArrayLike<number>, transforms: readonly Transform[], seed: number, epoch: number): RawBatch {
  const [c, h, w] = src.shape;
  const [oc, oh, ow] = outputShape(src.shape, transforms);
  const per = c * h * w, outPer = oc * oh * ow;
  const x = new Float32Array(indices.length * outPer);
  const y = new BigInt64Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b]!;
    applyTransforms(src.images.subarray(i * per, (i + 1) * per), src.shape, transforms, sampleRng(seed, epoch, i), x, b * outPer);
    y[b] = BigInt(src.labels[i]!);
  }
  return { x, y, shape: [indices.length, oc, oh, ow] };
}
