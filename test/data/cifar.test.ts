/** CIFAR-10 binary records: the exact subset in ../shared/data, official folder layouts, and malformed files. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnnkitError } from '../../src/errors.js';
import { channelMeans, labelCounts, sharedDataDir } from '../../src/data/dataset.js';
import { CIFAR10_CLASSES, loadCifar10Binary } from '../../src/data/cifar.js';

const subset = join(sharedDataDir(), 'cifar10-exact-subset');
const tmp = mkdtempSync(join(tmpdir(), 'snnkit-cifar-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Records whose label is `labels[i]` and whose pixels all equal 10 * i + 1. */
function records(labels: number[]): Buffer {
  return Buffer.concat(labels.map((l, i) => Buffer.concat([Buffer.from([l]), Buffer.alloc(3072, 10 * i + 1)])));
}

test('exact training subset: 4000 records, first labels, channel means near the CIFAR-10 ones', () => {
  const ds = loadCifar10Binary(join(subset, 'train_first4000.bin'), 'train');
  assert.equal(ds.name, 'cifar10');
  assert.equal(ds.length, 4000);
  assert.deepEqual(ds.shape, [3, 32, 32]);
  assert.equal(ds.images.length, 4000 * 3072);
  assert.ok(ds.images.buffer instanceof SharedArrayBuffer && ds.labels.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...ds.labels.subarray(0, 10)], [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
  assert.deepEqual(ds.classes, [...CIFAR10_CLASSES]);
  const means = channelMeans(ds);
  [0.4914, 0.4822, 0.4465].forEach((m, c) => assert.ok(Math.abs((means[c] as number) - m) < 0.01, `channel ${c}: ${means[c]} vs ${m}`));
});

test('exact test subset, from its folder: the split picks the file; records are copied as R, G, B planes', () => {
  const ds = loadCifar10Binary(subset, 'test');
  assert.equal(ds.length, 1000);
  assert.deepEqual(ds.source, [join(subset, 'test_first1000.bin')]);
  assert.deepEqual([...ds.labels.subarray(0, 10)], [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  assert.equal(labelCounts(ds).reduce((a, b) => a + b, 0), 1000);
  const file = readFileSync(join(subset, 'test_first1000.bin'));
  assert.deepEqual(ds.images.subarray(3072, 2 * 3072), new Uint8Array(file.subarray(3073 + 1, 2 * 3073)));
  assert.equal(loadCifar10Binary(subset, 'train').length, 4000);
});

test('official folder layout (also nested in cifar-10-batches-bin) and explicit file lists', () => {
  const dir = join(tmp, 'official', 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), records([b, b + 1]));
  writeFileSync(join(dir, 'test_batch.bin'), records([9]));
  const train = loadCifar10Binary(join(tmp, 'official'), 'train');
  assert.equal(train.length, 10);
  assert.deepEqual([...train.labels], [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
  assert.equal(train.images[3072], 11);
  assert.equal(train.source.length, 5);
  assert.deepEqual([...loadCifar10Binary(dir, 'test').labels], [9]);
  const listed = loadCifar10Binary([join(dir, 'test_batch.bin'), join(dir, 'data_batch_1.bin')], 'test');
  assert.deepEqual([...listed.labels], [9, 1, 2]);
  rmSync(join(dir, 'data_batch_3.bin'));
  assert.throws(() => loadCifar10Binary(dir, 'train'),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /has some official CIFAR-10 train files but not data_batch_3\.bin/.test(e.message));
});

test('malformed CIFAR-10 files give errors naming the file', () => {
  const short = join(tmp, 'short.bin');
  writeFileSync(short, records([1, 2]).subarray(0, 2 * 3073 - 1));
  assert.throws(() => loadCifar10Binary(short, 'test'),
    (e: SnnkitError) => e.code === 'FILE_FORMAT' && /short\.bin: size 6145 bytes is not a positive multiple of the 3073-byte CIFAR-10 record/.test(e.message));
  const empty = join(tmp, 'empty.bin');
  writeFileSync(empty, Buffer.alloc(0));
  assert.throws(() => loadCifar10Binary(empty, 'test'), /empty\.bin: size 0 bytes is not a positive multiple/);
  const badLabel = join(tmp, 'label10.bin');
  writeFileSync(badLabel, records([3, 10]));
  assert.throws(() => loadCifar10Binary(badLabel, 'train'), /label10\.bin: record 1 has label 10, expected a class index 0\.\.9/);
  assert.throws(() => loadCifar10Binary(join(tmp, 'absent.bin'), 'test'),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /absent\.bin: no such file or folder/.test(e.message));
  const none = join(tmp, 'no-bins');
  mkdirSync(none);
  assert.throws(() => loadCifar10Binary(none, 'test'), /no-bins: has neither test_batch\.bin nor any \.bin file whose name contains 'test'/);
  assert.throws(() => loadCifar10Binary([], 'test'), /loadCifar10Binary: argument 'paths' must be a folder, a \.bin file, or a non-empty list/);
});
