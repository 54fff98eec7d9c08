import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTransforms, cutout, horizontalFlip, normalize, outputShape, randomCrop, sampleRng, type Transform } from '../../src/data/transforms.js';

const W = 5, H = 4;
// One channel, pixel (y, x) = 10 * y + x + 1 (so 0 only appears as padding).
const src = Uint8Array.from({ length: H * W }, (_, i) => 10 * Math.floor(i / W) + (i % W) + 1);
const run = (ts: Transform[], seed = 1, shape: [number, number, number] = [1, H, W]) => {
  const [c, h, w] = outputShape(shape, ts);
  const out = new Float32Array(c * h * w);
  applyTransforms(src, shape, ts, sampleRng(seed, 0, 0), out, 0);
  return Array.from(out, (v) => Math.round(v * 255));
};

test('no transform gives the pixels divided by 255', () => {
  assert.deepEqual(run([]), Array.from(src));
});

test('randomCrop takes a window of the zero-padded image, at a seeded offset', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const out = run([randomCrop(3, 1)], seed);
    // Find the offset (top, left) in [-1, 1] x [-1, 3] that explains every output pixel.
    let found = '';
    for (let t = -1; t <= H + 1 - 3; t++)
      for (let l = -1; l <= W + 1 - 3; l++) {
        const ok = out.every((v, k) => {
          const y = Math.floor(k / 3) + t, x = (k % 3) + l;
          return v === (y < 0 || y >= H || x < 0 || x >= W ? 0 : src[y * W + x]);
        });
        if (ok) found = `${t},${l}`;
      }
    assert.notEqual(found, '', `seed ${seed}: output is no window of the padded image: ${out}`);
    seen.add(found);
    assert.deepEqual(run([randomCrop(3, 1)], seed), out, 'same seed, same crop');
  }
  assert.ok(seen.size >= 10, `crops should vary with the seed (saw ${seen.size} offsets)`);
});

test('horizontalFlip mirrors rows with probability p', () => {
  const mirrored = Array.from({ length: H * W }, (_, i) => src[Math.floor(i / W) * W + (W - 1 - (i % W))]);
  assert.deepEqual(run([horizontalFlip(1)]), mirrored);
  assert.deepEqual(run([horizontalFlip(0)]), Array.from(src));
  let flips = 0;
  for (let s = 0; s < 400; s++) if (run([horizontalFlip(0.5)], s).join() === mirrored.join()) flips++;
  assert.ok(flips > 150 && flips < 250, `about half should flip, got ${flips}/400`);
});

test('cutout zeroes one square of at most size×size pixels and nothing else', () => {
  for (let s = 0; s < 30; s++) {
    const out = run([cutout(2)], s);
    const zeros = out.map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0);
    assert.ok(zeros.length >= 1 && zeros.length <= 4, `seed ${s}: ${zeros.length} zeros`);
    const ys = zeros.map((i) => Math.floor(i / W)), xs = zeros.map((i) => i % W);
    assert.ok(Math.max(...ys) - Math.min(...ys) <= 1 && Math.max(...xs) - Math.min(...xs) <= 1, 'the zeros form one square');
    out.forEach((v, i) => { if (v !== 0) assert.equal(v, src[i]); });
  }
});

test('normalize applies (x - mean) / std per channel, after the other transforms', () => {
  const [c, h, w] = [2, 1, 2];
  const two = Uint8Array.from([0, 255, 51, 102]);
  const out = new Float32Array(4);
  applyTransforms(two, [c, h, w], [normalize([0.5, 0.2], [0.5, 0.1])], sampleRng(0, 0, 0), out, 0);
  const expect = [(0 - 0.5) / 0.5, (1 - 0.5) / 0.5, (0.2 - 0.2) / 0.1, (0.4 - 0.2) / 0.1];
  out.forEach((v, i) => assert.ok(Math.abs(v - expect[i]!) < 1e-6, `${v} vs ${expect[i]}`));
});

test('the per-sample generator depends on seed, epoch and index only', () => {
  const a = sampleRng(1, 2, 3), b = sampleRng(1, 2, 3), c = sampleRng(1, 3, 3);
  const xs = [a(), a(), a()];
  assert.deepEqual(xs, [b(), b(), b()]);
  assert.notDeepEqual(xs, [c(), c(), c()]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('transform arguments and shapes are validated', () => {
  assert.throws(() => randomCrop(0), /randomCrop: argument 'size' must be a positive integer, got 0/);
  assert.throws(() => randomCrop(3, -1), /randomCrop: argument 'padding' must be a non-negative integer, got -1/);
  assert.throws(() => horizontalFlip(2), /horizontalFlip: argument 'p' must be a probability in \[0, 1\], got 2/);
  assert.throws(() => cutout(1.5), /cutout: argument 'size' must be a positive integer, got 1.5/);
  assert.throws(() => normalize([0.5, 0.5], [1]), /normalize: argument 'std' must be 2 values, as many as mean/);
  assert.throws(() => normalize([0.5], [0]), /normalize: argument 'std' must be positive numbers/);
  assert.throws(() => outputShape([1, 4, 5], [randomCrop(8, 1)]), /randomCrop: argument 'size' must be at most the padded image \(6×7\), got 8/);
  assert.throws(() => outputShape([3, 4, 4], [normalize([0.1, 0.2], [1, 1])]), /normalize: argument 'mean' must be 1 or 3 values \(the images have 3 channels\)/);
});
