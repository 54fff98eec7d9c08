import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../../src/data/loader.js';
import { horizontalFlip, normalize, randomCrop } from '../../src/data/transforms.js';
import { memory } from '../../src/index.js';
import { syntheticDataset } from './synthetic.js';

/** Sample ids of a batch, read back from the pixel values (pixel = (7 i) mod 256 / 255, i < 37 here). */
const idsOf = (x: Float32Array, per: number) => Array.from({ length: x.length / per }, (_, b) => Math.round(x[b * per]! * 255) / 7);

async function collect(loader: DataLoader, epoch: number): Promise<{ ids: number[]; labels: number[]; sizes: number[] }> {
  const ids: number[] = [], labels: number[] = [], sizes: number[] = [];
  for await (const b of loader.epoch(epoch)) {
    assert.deepEqual(b.x.shape.slice(1), [1, 4, 4]);
    assert.equal(b.x.dtype, 'float32');
    assert.equal(b.y.dtype, 'int64');
    ids.push(...idsOf(b.x.toTypedArray() as Float32Array, 16));
    labels.push(...Array.from(b.y.toTypedArray() as BigInt64Array, Number));
    sizes.push(b.y.shape[0]!);
    b.dispose();
  }
  return { ids, labels, sizes };
}

test('an epoch covers every sample once, in order without shuffle, with the right labels', async () => {
  const ds = syntheticDataset(37);
  const loader = new DataLoader(ds, { batchSize: 8, workers: 0 });
  assert.equal(loader.length, 5);
  const r = await collect(loader, 0);
  assert.deepEqual(r.ids, Array.from({ length: 37 }, (_, i) => i));
  assert.deepEqual(r.labels, r.ids.map((i) => i % 3));
  assert.deepEqual(r.sizes, [8, 8, 8, 8, 5]);
  const dl = new DataLoader(ds, { batchSize: 8, dropLast: true, workers: 0 });
  assert.equal(dl.length, 4);
  assert.deepEqual((await collect(dl, 0)).sizes, [8, 8, 8, 8]);
});

test('shuffling is a seeded permutation that changes with the epoch', async () => {
  const ds = syntheticDataset(37);
  const a = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5, workers: 0 });
  const e0 = await collect(a, 0), e1 = await collect(a, 1);
  assert.deepEqual([...e0.ids].sort((x, y) => x - y), Array.from({ length: 37 }, (_, i) => i));
  assert.notDeepEqual(e0.ids, e1.ids);
  assert.deepEqual(e0.labels, e0.ids.map((i) => i % 3));
  const b = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5, workers: 0 });
  assert.deepEqual((await collect(b, 1)).ids, e1.ids, 'same seed and epoch, same order');
  const c = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 6, workers: 0 });
  assert.notDeepEqual((await collect(c, 1)).ids, e1.ids);
});

test('worker threads give exactly the batches of the main-thread path, augmentation included', async () => {
  const ds = syntheticDataset(50, [3, 8, 8]);
  const ts = [randomCrop(8, 2), horizontalFlip(), normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.2])];
  const main = new DataLoader(ds, { batchSize: 16, shuffle: true, seed: 3, transforms: ts, workers: 0 });
  const two = new DataLoader(ds, { batchSize: 16, shuffle: true, seed: 3, transforms: ts, workers: 2, prefetch: 3 });
  for (const epoch of [0, 1]) {
    const xs: number[][] = [];
    for await (const b of main.epoch(epoch)) { xs.push(Array.from(b.x.toTypedArray() as Float32Array)); b.dispose(); }
    let k = 0;
    for await (const b of two.epoch(epoch)) {
      assert.deepEqual(Array.from(b.x.toTypedArray() as Float32Array), xs[k++], `epoch ${epoch} batch ${b.index}`);
      b.dispose();
    }
    assert.equal(k, xs.length);
  }
  await two.close();
});

test('for await walks successive epochs; batches do not leak tensors', async () => {
  const loader = new DataLoader(syntheticDataset(20), { batchSize: 6, shuffle: true, workers: 1 });
  const live = memory().liveTensors;
  const first: number[] = [], second: number[] = [];
  for await (const b of loader) { first.push(...idsOf(b.x.toTypedArray() as Float32Array, 16)); b.dispose(); }
  for await (const b of loader) { second.push(...idsOf(b.x.toTypedArray() as Float32Array, 16)); b.dispose(); }
  assert.notDeepEqual(first, second);
  assert.equal(memory().liveTensors, live);
  await loader.close();
});

test('bad options are rejected with messages naming them', () => {
  const ds = syntheticDataset(4);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /DataLoader: argument 'batchSize' must be a positive integer, got 0/);
  assert.throws(() => new DataLoader(ds, { batchSize: 2, workers: -1 }), /DataLoader: argument 'workers' must be an integer >= 0, got -1/);
  assert.throws(() => new DataLoader(ds, { batchSize: 2, prefetch: 0 }), /DataLoader: argument 'prefetch' must be an integer >= 1, got 0/);
  assert.throws(() => new DataLoader(ds, { batchSize: 2, transforms: [randomCrop(9)] }), /randomCrop: argument 'size' must be at most the padded image/);
});
