/** IDX loading on the real MNIST / Fashion-MNIST files, and every malformed-file error. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { errorOf } from '../helpers.js';
import { SnnkitError } from '../../src/errors.js';
import { channelMeans, labelCounts } from '../../src/data/dataset.js';
import { FASHION_MNIST_CLASSES, findIdxFiles, loadFashionMnist, loadIdx, loadMnist, readIdx } from '../../src/data/idx.js';

const tmp = mkdtempSync(join(tmpdir(), 'snnkit-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An IDX uint8 file: magic 0x0000 08 ndim, big-endian dims, data. */
function idx(dims: number[], data: number[], magic?: number): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic ?? (0x0800 | dims.length), 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
function put(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}
const pixels = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 7) % 256);

test('MNIST train: 60000 1×28×28 images, the known first labels, shared memory, mean 0.1307', () => {
  const ds = loadMnist({ split: 'train' });
  assert.equal(ds.name, 'mnist');
  assert.equal(ds.split, 'train');
  assert.equal(ds.length, 60000);
  assert.deepEqual(ds.shape, [1, 28, 28]);
  assert.equal(ds.images.length, 60000 * 784);
  assert.equal(ds.labels.length, 60000);
  assert.ok(ds.images.buffer instanceof SharedArrayBuffer && ds.labels.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...ds.labels.subarray(0, 10)], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.deepEqual(ds.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(ds.source.length, 2);
  assert.ok(Math.abs((channelMeans(ds)[0] as number) - 0.1307) < 5e-4);
});

test('MNIST test: 10000 images with the known label counts', () => {
  const ds = loadMnist({ split: 'test' });
  assert.equal(ds.length, 10000);
  assert.deepEqual(labelCounts(ds), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});

test('Fashion-MNIST (.gz files): sizes, first labels, 6000/1000 per class, mean 0.2860', () => {
  const train = loadFashionMnist({ split: 'train' });
  assert.equal(train.name, 'fashion-mnist');
  assert.equal(train.length, 60000);
  assert.deepEqual(train.shape, [1, 28, 28]);
  assert.deepEqual([...train.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.deepEqual(labelCounts(train), new Array(10).fill(6000));
  assert.deepEqual(train.classes, [...FASHION_MNIST_CLASSES]);
  assert.ok(Math.abs((channelMeans(train)[0] as number) - 0.2860) < 5e-4);
  const test = loadFashionMnist({ split: 'test' });
  assert.equal(test.length, 10000);
  assert.deepEqual(labelCounts(test), new Array(10).fill(1000));
});

test('gzip is detected by its magic bytes, not by the file name', () => {
  const images = idx([3, 2, 2], pixels(12));
  const labels = idx([3], [2, 0, 9]);
  const raw = loadIdx(put('raw-named.gz', images), put('raw-labels.gz', labels));
  const gz = loadIdx(put('gz-named.idx', gzipSync(images)), put('gz-labels', gzipSync(labels)), { split: 'test', name: 'tiny' });
  assert.deepEqual([...gz.images], pixels(12));
  assert.deepEqual([...gz.images], [...raw.images]);
  assert.deepEqual([...gz.labels], [2, 0, 9]);
  assert.deepEqual(gz.shape, [1, 2, 2]);
  assert.equal(gz.name, 'tiny');
  assert.equal(gz.split, 'test');
});

test('a gzip IDX file stops inflating at the size its header announces, and a header announcing too much is refused', () => {
  // A decompression bomb: the header says 3 images of 2×2, the stream inflates to 64 MB (it reached 5 GB before).
  const header = idx([3, 2, 2], pixels(12));
  const bomb = put('bomb.gz', gzipSync(Buffer.concat([header, Buffer.alloc(64 << 20)]), { level: 1 }));
  const before = process.memoryUsage().rss;
  const e = errorOf(() => readIdx(bomb));
  assert.equal(e.code, 'FILE_FORMAT');
  assert.match(e.message, /bomb\.gz: gzip-compressed: its compressed data expands past the 28 bytes its header announces \(corrupt, or a decompression bomb\)/);
  assert.ok(process.memoryUsage().rss - before < 40e6, 'the bomb was not inflated whole');
  // A small file whose header claims 60000 images of 10000×10000 pixels (6e12 bytes).
  const claim = Buffer.alloc(16);
  claim.writeUInt32BE(0x803, 0); claim.writeUInt32BE(60000, 4); claim.writeUInt32BE(10000, 8); claim.writeUInt32BE(10000, 12);
  const huge = errorOf(() => readIdx(put('claims.gz', gzipSync(Buffer.concat([claim, Buffer.alloc(1000)])))));
  assert.match(huge.message, /claims\.gz: its IDX header announces 6000000000016 bytes, more than 64 times the \d+-byte compressed file/);
});

test('malformed IDX files give errors that name the file and what is wrong', () => {
  const labels = put('ok-labels', idx([3], [1, 2, 3]));
  const images = put('ok-images', idx([3, 2, 2], pixels(12)));
  const truncated = put('truncated-images', idx([3, 2, 2], pixels(7)));
  assert.throws(() => loadIdx(truncated, labels),
    (e: SnnkitError) => e.code === 'FILE_FORMAT' && /truncated-images: truncated: dims \[3, 2, 2\] need 12 data bytes after the header, found 7/.test(e.message));
  const trailing = put('trailing', idx([3, 2, 2], pixels(13)));
  assert.throws(() => readIdx(trailing), /trailing: 1 unexpected bytes after the data of dims \[3, 2, 2\]/);
  const badMagic = put('bad-magic', idx([3, 2, 2], pixels(12), 0x12345678));
  assert.throws(() => loadIdx(badMagic, labels), /bad-magic: wrong magic number 0x12345678, expected 0x00000801 .* or 0x00000803/);
  const floats = put('float-idx', idx([3], [0, 0, 0], 0x0d01));
  assert.throws(() => readIdx(floats), /float-idx: wrong magic number 0x00000d01/);
  assert.throws(() => readIdx(put('tiny-file', Buffer.from([0, 0]))), /tiny-file: truncated: 2 bytes, expected at least a 4-byte IDX header/);
  const gz = gzipSync(idx([3, 2, 2], pixels(12)));
  const badGz = put('cut.gz', gz.subarray(0, gz.length - 10));
  assert.throws(() => readIdx(badGz), /cut\.gz: gzip-compressed: its compressed data cannot be decompressed \(truncated or corrupt\?\)/);
  assert.throws(() => loadIdx(labels, labels), /ok-labels: expected 3 dimensions \(N, H, W\) for IDX images, found 1: \[3\]/);
  assert.throws(() => loadIdx(images, images), /ok-images: expected 1 dimension \(N\) for IDX labels, found 3/);
  const fewer = put('two-labels', idx([2], [1, 2]));
  assert.throws(() => loadIdx(images, fewer), /two-labels: holds 2 labels but .*ok-images holds 3 images; the counts must match/);
  const bigLabel = put('label-12', idx([3], [1, 12, 3]));
  assert.throws(() => loadIdx(images, bigLabel), /label-12: label 1 has label 12, expected a class index 0\.\.9/);
  assert.throws(() => loadIdx(join(tmp, 'nope'), labels),
    (e: SnnkitError) => e instanceof SnnkitError && e.code === 'FILE_NOT_FOUND' && /nope: no such file or folder/.test(e.message));
});

test('a folder without the standard names, and a bad split, are rejected clearly', () => {
  assert.throws(() => findIdxFiles(tmp, 'test'),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /has no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte\.gz/.test(e.message));
  assert.throws(() => loadMnist({ dir: join(tmp, 'missing'), split: 'train' }), /missing: path \(no such folder\) has no train-images-idx3-ubyte/);
  assert.throws(() => loadMnist({ split: 'val' as 'train' }),
    (e: SnnkitError) => e.code === 'INVALID_ARGUMENT' && /loadMnist: argument 'split' must be one of 'train', 'test', got 'val'/.test(e.message));
});
