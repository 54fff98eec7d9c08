/** A small in-memory ImageDataset for loader and trainer tests (not a test file itself). */
import type { ImageDataset } from '../../src/data/dataset.js';

/**
 * n samples of shape [c, h, w]: sample i has every pixel equal to (i * 7 + channel) % 256 and label i % classes,
 * so a batch's content tells which samples it holds.
 */
export function syntheticDataset(n: number, shape: [number, number, number] = [1, 4, 4], classes = 3): ImageDataset {
  const per = shape[0] * shape[1] * shape[2];
  const images = new Uint8Array(new SharedArrayBuffer(n * per));
  const labels = new Uint8Array(new SharedArrayBuffer(n));
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < shape[0]; c++) images.fill((i * 7 + c) % 256, i * per + c * shape[1] * shape[2], i * per + (c + 1) * shape[1] * shape[2]);
    labels[i] = i % classes;
  }
  return { name: 'synthetic', split: 'train', images, labels, length: n, shape, classes: Array.from({ length: classes }, (_, k) => `c${k}`), source: [] };
}
