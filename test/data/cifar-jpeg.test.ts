/**
 * The whole CIFAR-10 (JPEG) tarball from ../shared/data: extracted once and decoded once into the snnkit cache
 * (`$SNNKIT_CACHE_DIR` or ~/.cache/snnkit), so only the first run is slow (about 35 s on 2 cores; later runs about
 * 1 s). Set SNNKIT_SKIP_JPEG_TEST=1 to skip it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelMeans, labelCounts } from '../../src/data/dataset.js';
import { CIFAR10_CLASSES } from '../../src/data/cifar.js';
import { cifar10JpegDefaultArchive, loadCifar10Jpeg } from '../../src/data/imagefolder.js';

const skip = process.env['SNNKIT_SKIP_JPEG_TEST'] ? 'SNNKIT_SKIP_JPEG_TEST is set' : false;

test('CIFAR-10 (JPEG): 50000/10000 images, 5000/1000 a class, sorted classes, means near the real ones', { skip, timeout: 600_000 }, async (t) => {
  let start = Date.now();
  const train = await loadCifar10Jpeg({ split: 'train' });
  t.diagnostic(`train split loaded in ${Date.now() - start} ms (${train.source.length > 3 ? 'decoded' : 'from cache'})`);
  start = Date.now();
  const test = await loadCifar10Jpeg({ split: 'test' });
  t.diagnostic(`test split loaded in ${Date.now() - start} ms (${test.source.length > 3 ? 'decoded' : 'from cache'})`);
  assert.equal(train.name, 'cifar10-jpeg');
  assert.equal(train.source[0], cifar10JpegDefaultArchive());
  assert.equal(train.length, 50000);
  assert.equal(test.length, 10000);
  assert.deepEqual(train.shape, [3, 32, 32]);
  assert.equal(train.images.length, 50000 * 3072);
  assert.deepEqual(train.classes, [...CIFAR10_CLASSES]);
  assert.deepEqual(labelCounts(train), new Array(10).fill(5000));
  assert.deepEqual(labelCounts(test), new Array(10).fill(1000));
  // One class after the other in turn: the first 10 are one of each, and so is any 10 % at either end.
  assert.deepEqual([...train.labels.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(labelCounts({ ...train, labels: train.labels.subarray(45000), length: 5000 }), new Array(10).fill(500));
  const means = channelMeans(train);
  [0.4914, 0.4822, 0.4465].forEach((m, c) => assert.ok(Math.abs((means[c] as number) - m) < 0.01, `channel ${c}: ${means[c]} vs ${m}`));
});
