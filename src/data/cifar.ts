/**
 * CIFAR-10 in its official binary record format: each record is 1 label byte, then 3072 pixel bytes, the 32×32 red
 * plane, then green, then blue. The planes are already channel-first, so records are copied as they are.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArg } from '../errors.js';
import { type ImageDataset, type Split, checkSplit, fileError, pathKind, readFileChecked, sharedBytes } from './dataset.js';

/** The CIFAR-10 class names, in label order (also their sorted order, as an image folder lists them). */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** Bytes in one record: 1 label + 3×32×32 pixels. */
export const CIFAR10_RECORD_BYTES = 3073;

/** The official file names of each split, as in `cifar-10-batches-bin`. */
export const CIFAR10_BIN_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};

/**
 * The `.bin` files of a split in a folder: the official names (also inside a `cifar-10-batches-bin` subfolder), or
 * else every `.bin` file whose name contains the split's name (e.g. `train_first4000.bin`, `test_first1000.bin`).
 * @param dir the folder
 * @param split the split
 * @returns the paths, in order
 * @throws SnnkitError FILE_NOT_FOUND when the folder is missing, some official files are missing, or none fit
 * @example
 * findCifar10BinFiles('cifar-10-batches-bin', 'test'); // ['cifar-10-batches-bin/test_batch.bin']
 */
export function findCifar10BinFiles(dir: string, split: Split): string[] {
  if (pathKind(dir) !== 'dir') throw fileError(dir, 'no such folder (expected CIFAR-10 .bin files in it)', 'FILE_NOT_FOUND');
  const nested = join(dir, 'cifar-10-batches-bin');
  if (pathKind(nested) === 'dir') return findCifar10BinFiles(nested, split);
  const official = CIFAR10_BIN_FILES[split].map((f) => join(dir, f));
  const present = official.filter((f) => pathKind(f) === 'file');
  if (present.length === official.length) return official;
  if (present.length > 0) {
    const missing = official.filter((f) => !present.includes(f)).map((f) => f.slice(dir.length + 1));
    throw fileError(dir, `has some official CIFAR-10 ${split} files but not ${missing.join(', ')}`, 'FILE_NOT_FOUND');
  }
  const other = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.bin') && f.toLowerCase().includes(split))
    .sort()
    .map((f) => join(dir, f));
  if (other.length === 0) {
    const names = CIFAR10_BIN_FILES[split].join(', ');
    throw fileError(dir, `has neither ${names} nor any .bin file whose name contains '${split}'`, 'FILE_NOT_FOUND');
  }
  return other;
}

/**
 * Loads CIFAR-10 records from the official binary format.
 * @param paths a folder (official `data_batch_{1..5}.bin` / `test_batch.bin`, or `.bin` files named after the split),
 *   one `.bin` file, or a list of `.bin` files, read in the order given
 * @param split the split to record (and to pick files by, when `paths` is a folder)
 * @returns the dataset, named 'cifar10', shape [3, 32, 32]
 * @throws SnnkitError FILE_NOT_FOUND naming the missing file or folder; FILE_FORMAT naming the file whose size is
 *   not a positive multiple of 3073 bytes or whose record has a label above 9
 * @example
 * const ds = loadCifar10Binary('/data/cifar10-exact-subset/test_first1000.bin', 'test'); // ds.length === 1000
 */
export function loadCifar10Binary(paths: string | readonly string[], split: Split): ImageDataset {
  const sp = checkSplit('loadCifar10Binary', split);
  let files: string[];
  if (typeof paths === 'string') {
    files = pathKind(paths) === 'dir' ? findCifar10BinFiles(paths, sp) : [paths];
  } else if (Array.isArray(paths) && paths.length > 0 && paths.every((p) => typeof p === 'string')) {
    files = [...paths];
  } else {
    throw invalidArg('loadCifar10Binary', 'paths', 'a folder, a .bin file, or a non-empty list of .bin files', paths);
  }
  const contents = files.map((f) => {
    const bytes = readFileChecked(f);
    if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      throw fileError(f, `size ${bytes.length} bytes is not a positive multiple of the ${CIFAR10_RECORD_BYTES}-byte `
        + 'CIFAR-10 record (1 label byte + 3072 pixel bytes); truncated, or not a CIFAR-10 binary file?');
    }
    return bytes;
  });
  const n = contents.reduce((s, b) => s + b.length / CIFAR10_RECORD_BYTES, 0);
  const px = CIFAR10_RECORD_BYTES - 1;
  const images = sharedBytes(n * px);
  const labels = sharedBytes(n);
  let i = 0;
  contents.forEach((bytes, fi) => {
    for (let off = 0; off < bytes.length; off += CIFAR10_RECORD_BYTES, i++) {
      const label = bytes[off] as number;
      if (label >= CIFAR10_CLASSES.length) {
        throw fileError(files[fi] as string, `record ${off / CIFAR10_RECORD_BYTES} has label ${label}, expected a class index 0..9`);
      }
      labels[i] = label;
      images.set(bytes.subarray(off + 1, off + CIFAR10_RECORD_BYTES), i * px);
    }
  });
  return {
    name: 'cifar10',
    split: sp,
    images,
    labels,
    length: n,
    shape: [3, 32, 32],
    classes: [...CIFAR10_CLASSES],
    source: files,
  };
}
