/**
 * Per-sample image transforms, as plain serialisable descriptions (so that worker threads can run them) and the pure
 * functions that apply them to one channel-first float sample. Randomness comes from a generator seeded by
 * (seed, epoch, sample index): a sample gets the same augmentation whatever the worker count or timing.
 */
import { invalidArg } from '../errors.js';

/** One transform. Applied in the order given, to values in [0, 1] (uint8 / 255) until `normalize`. */
export type Transform =
  | { kind: 'randomCrop'; size: number; padding: number }
  | { kind: 'horizontalFlip'; p: number }
  | { kind: 'cutout'; size: number }
  | { kind: 'normalize'; mean: number[]; std: number[] };

/**
 * Zero-pads by `padding` on every side, then crops a random `size`×`size` window (torchvision's RandomCrop).
 * @example randomCrop(32, 4)
 */
export function randomCrop(size: number, padding = 0): Transform {
  if (!Number.isInteger(size) || size < 1) throw invalidArg('randomCrop', 'size', 'a positive integer', size);
  if (!Number.isInteger(padding) || padding < 0) throw invalidArg('randomCrop', 'padding', 'a non-negative integer', padding);
  return { kind: 'randomCrop', size, padding };
}
/**
 * Mirrors left-right with probability p.
 * @example horizontalFlip() // p = 0.5
 */
export function horizontalFlip(p = 0.5): Transform {
  if (!(p >= 0 && p <= 1)) throw invalidArg('horizontalFlip', 'p', 'a probability in [0, 1]', p);
  return { kind: 'horizontalFlip', p };
}
/**
 * Zeroes one `size`×`size` square at a random centre (may overlap the border), DeVries & Taylor 2017.
 * @example cutout(16) // for 32×32 CIFAR images
 */
export function cutout(size: number): Transform {
  if (!Number.isInteger(size) || size < 1) throw invalidArg('cutout', 'size', 'a positive integer', size);
  return { kind: 'cutout', size };
}
/**
 * (x - mean[c]) / std[c] per channel.
 * @example normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]) // CIFAR-10
 */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (mean.length === 0 || mean.length !== std.length) throw invalidArg('normalize', 'std', `${mean.length} values, as many as mean`, std);
  if (!std.every((s) => Number.isFinite(s) && s > 0)) throw invalidArg('normalize', 'std', 'positive numbers', std);
  return { kind: 'normalize', mean: [...mean], std: [...std] };
}

/**
 * A small, fast PRNG (mulberry32) seeded from (seed, epoch, index) through an integer hash.
 * @returns a function giving uniform numbers in [0, 1)
 * @example
 * const rng = sampleRng(seed, epoch, i); const u = rng(); // the same u for the same (seed, epoch, i)
 */
export function sampleRng(seed: number, epoch: number, index: number): () => number {
  let s = hash(hash(hash(seed >>> 0) ^ (epoch >>> 0)) ^ (index >>> 0));
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function hash(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The [C, H, W] a sample has after the transforms.
 * @throws SnnkitError when a crop is larger than the padded image or normalize has the wrong channel count
 * @example
 * outputShape([3, 32, 32], [randomCrop(28), horizontalFlip()]); // [3, 28, 28]
 */
export function outputShape(shape: readonly [number, number, number], transforms: readonly Transform[]): [number, number, number] {
  let [c, h, w] = shape;
  for (const t of transforms) {
    if (t.kind === 'randomCrop') {
      if (t.size > h + 2 * t.padding || t.size > w + 2 * t.padding)
        throw invalidArg('randomCrop', 'size', `at most the padded image (${h + 2 * t.padding}×${w + 2 * t.padding})`, t.size);
      h = t.size;
      w = t.size;
    }
    if (t.kind === 'normalize' && t.mean.length !== c && t.mean.length !== 1)
      throw invalidArg('normalize', 'mean', `1 or ${c} values (the images have ${c} channels)`, t.mean);
  }
  return [c, h, w];
}

/**
 * Converts one uint8 sample to float and applies the transforms, writing the result into `out` at `offset`.
 * @param src the sample's bytes (C×H×W)
 * @param shape its [C, H, W]
 * @param transforms what to apply
 * @param rng the sample's generator
 * @param out destination (outputShape(shape) elements from offset)
 * @example
 * const per = 3 * 32 * 32, out = new Float32Array(outputShape(ds.shape, ts).reduce((a, b) => a * b));
 * applyTransforms(ds.images.subarray(i * per, (i + 1) * per), ds.shape, ts, sampleRng(seed, epoch, i), out, 0);
 */
export function applyTransforms(src: Uint8Array, shape: readonly [number, number, number], transforms: readonly Transform[],
  rng: () => number, out: Float32Array, offset: number): void {
  let [c, h, w] = shape;
  let cur = new Float32Array(c * h * w);
  for (let i = 0; i < cur.length; i++) cur[i] = src[i]! / 255;
  for (const t of transforms) {
    if (t.kind === 'randomCrop') {
      const p = t.padding, s = t.size;
      const top = Math.floor(rng() * (h + 2 * p - s + 1)) - p, left = Math.floor(rng() * (w + 2 * p - s + 1)) - p;
      const next = new Float32Array(c * s * s);
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < s; y++) {
          const sy = y + top;
          if (sy < 0 || sy >= h) continue;
          for (let x = 0; x < s; x++) {
            const sx = x + left;
            if (sx >= 0 && sx < w) next[(ch * s + y) * s + x] = cur[(ch * h + sy) * w + sx]!;
          }
        }
      cur = next;
      h = s;
      w = s;
    } else if (t.kind === 'horizontalFlip') {
      if (rng() < t.p)
        for (let row = 0; row < c * h; row++) {
          const b = row * w;
          for (let x = 0; x < w >> 1; x++) {
            const tmp = cur[b + x]!;
            cur[b + x] = cur[b + w - 1 - x]!;
            cur[b + w - 1 - x] = tmp;
          }
        }
    } else if (t.kind === 'cutout') {
      const cy = Math.floor(rng() * h), cx = Math.floor(rng() * w), half = t.size >> 1;
      const y0 = Math.max(0, cy - half), y1 = Math.min(h, cy - half + t.size);
      const x0 = Math.max(0, cx - half), x1 = Math.min(w, cx - half + t.size);
      for (let ch = 0; ch < c; ch++) for (let y = y0; y < y1; y++) cur.fill(0, (ch * h + y) * w + x0, (ch * h + y) * w + x1);
    } else {
      const plane = h * w;
      for (let ch = 0; ch < c; ch++) {
        const m = t.mean.length === 1 ? t.mean[0]! : t.mean[ch]!, sd = t.std.length === 1 ? t.std[0]! : t.std[ch]!;
        for (let i = ch * plane; i < (ch + 1) * plane; i++) cur[i] = (cur[i]! - m) / sd;
      }
    }
  }
  out.set(cur, offset);
}
