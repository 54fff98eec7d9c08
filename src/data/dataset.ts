/**
 * The in-memory image dataset every loader in `src/data` returns, and the small helpers the loaders share: shared
 * byte arrays, file reading with errors that name the file, label checks and the cache folder.
 *
 * Pixels and labels live in `SharedArrayBuffer`s so a DataLoader can hand them to worker threads without copying.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnnkitError, invalidArg } from '../errors.js';

/** The two splits every loader knows. */
export type Split = 'train' | 'test';

/** The valid values of {@link Split}, for validation messages. */
export const SPLITS: readonly Split[] = ['train', 'test'];

/**
 * A whole image classification split, in memory, as uint8.
 * Sample `i` occupies `images.subarray(i * C * H * W, (i + 1) * C * H * W)`, laid out channel-first (C×H×W).
 */
export interface ImageDataset {
  /** 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar10-jpeg' | the image folder's name. */
  name: string;
  /** Which split this is. */
  split: Split;
  /** N*C*H*W bytes, each sample C×H×W (channel-first), backed by a SharedArrayBuffer. */
  images: Uint8Array;
  /** N class indices, backed by a SharedArrayBuffer. */
  labels: Uint8Array;
  /** N, the number of samples. */
  length: number;
  /** [C, H, W] of one sample. */
  shape: [number, number, number];
  /** Class names; the index is the label. */
  classes: string[];
  /** The files read (an image folder lists its cache file, or every image when it decoded them). */
  source: string[];
}

/**
 * Checks a split argument.
 * @param fn the public function name, for the message
 * @param split the value to check
 * @returns the split, typed
 * @throws SnnkitError INVALID_ARGUMENT when it is neither 'train' nor 'test'
 * @example
 * const s = checkSplit('loadMnist', opts.split);
 */
export function checkSplit(fn: string, split: unknown): Split {
  if (split === 'train' || split === 'test') return split;
  throw invalidArg(fn, 'split', `one of ${SPLITS.map((s) => `'${s}'`).join(', ')}`, split);
}

/**
 * A zero-filled Uint8Array over a new SharedArrayBuffer.
 * @param n the number of bytes
 * @returns the array
 * @example
 * const labels = sharedBytes(10000);
 */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

/**
 * Copies bytes into a new SharedArrayBuffer-backed array.
 * @param src the bytes to copy
 * @returns a shared copy
 * @example
 * const shared = toShared(fileBytes.subarray(8));
 */
export function toShared(src: Uint8Array): Uint8Array {
  const out = sharedBytes(src.length);
  out.set(src);
  return out;
}

/**
 * An error about a data file: the message starts with the file, then says what is wrong.
 * @param file the file (or folder) concerned
 * @param what what is wrong, and what was expected
 * @param code FILE_FORMAT unless given
 * @returns the error, to throw
 * @example
 * throw fileError(path, 'wrong magic number 0x00000802, expected 0x00000803 (IDX images)');
 */
export function fileError(file: string, what: string, code: 'FILE_FORMAT' | 'FILE_NOT_FOUND' | 'IO_ERROR' = 'FILE_FORMAT'): SnnkitError {
  return new SnnkitError(`${file}: ${what}`, code);
}

/**
 * Turns a Node.js file-system error into an SnnkitError that names the file and what was being done.
 * @param file the file concerned
 * @param doing what was being done, e.g. 'cannot read the file'
 * @param err the caught error
 * @returns FILE_NOT_FOUND for ENOENT/ENOTDIR, IO_ERROR otherwise
 * @example
 * try { readFileSync(p); } catch (e) { throw ioError(p, 'cannot read the file', e); }
 */
export function ioError(file: string, doing: string, err: unknown): SnnkitError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return fileError(file, 'no such file or folder', 'FILE_NOT_FOUND');
  const msg = err instanceof Error ? err.message : String(err);
  return fileError(file, `${doing}: ${msg}`, 'IO_ERROR');
}

/**
 * Reads a whole file.
 * @param file the path
 * @returns its bytes
 * @throws SnnkitError FILE_NOT_FOUND when it does not exist, IO_ERROR when it cannot be read
 * @example
 * const bytes = readFileChecked('/data/test_batch.bin');
 */
export function readFileChecked(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw ioError(file, 'cannot read the file', e);
  }
}

/**
 * What kind of thing lies at a path.
 * @param p the path
 * @returns 'file', 'dir', or null when nothing is there
 * @example
 * if (pathKind(dir) !== 'dir') throw ...
 */
export function pathKind(p: string): 'file' | 'dir' | null {
  try {
    const st = statSync(p);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/**
 * The order in which a data set stored class by class (an image folder, N-MNIST's `Train/<digit>/`) is held in
 * memory: one sample of each class in turn (class 0's first, class 1's first, ..., class 0's second, ...), classes
 * that run out dropping out. Then every prefix (`--train-limit`) and every suffix (the validation split) holds the
 * classes in proportion, as they do in MNIST's and CIFAR-10's own files; sorted by class, the last 10 % would be one
 * class.
 * @param labels the class of each sample, in stored order
 * @returns the stored indices in the new order
 * @example
 * roundRobinByClass([0, 0, 0, 1, 1, 2]); // [0, 3, 5, 1, 4, 2]
 */
export function roundRobinByClass(labels: ArrayLike<number>): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    let list = byClass.get(l);
    if (!list) byClass.set(l, (list = []));
    list.push(i);
  }
  const lists = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  const out: number[] = [];
  for (let k = 0; out.length < labels.length; k++) for (const list of lists) if (k < list.length) out.push(list[k]!);
  return out;
}

/**
 * Checks that every label is a valid class index.
 * @param labels the labels
 * @param numClasses the number of classes
 * @param file the file they came from, for the message
 * @param recordName what one sample is called in the message ('label', 'record')
 * @throws SnnkitError FILE_FORMAT naming the first sample whose label is out of range
 * @example
 * checkLabels(labels, 10, labelsPath);
 */
export function checkLabels(labels: Uint8Array, numClasses: number, file: string, recordName = 'label'): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (l >= numClasses) {
      throw fileError(file, `${recordName} ${i} has label ${l}, expected a class index 0..${numClasses - 1}`);
    }
  }
}

/**
 * Counts the samples of each class.
 * @param ds the dataset
 * @returns one count per class, index = label
 * @example
 * labelCounts(await loadDataset('mnist', { split: 'test' }))[0]; // 980
 */
export function labelCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  for (const l of ds.labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

/**
 * The mean of each channel over all samples, in [0, 1] (pixel / 255): what a normalisation's `mean` is.
 * @param ds the dataset
 * @returns C means
 * @example
 * channelMeans(cifarTrain); // ≈ [0.4914, 0.4822, 0.4465]
 */
export function channelMeans(ds: ImageDataset): number[] {
  const [c, h, w] = ds.shape;
  const plane = h * w;
  const sums = new Array<number>(c).fill(0);
  for (let i = 0; i < ds.length; i++) {
    for (let ch = 0; ch < c; ch++) {
      const start = (i * c + ch) * plane;
      let s = 0;
      for (let k = start; k < start + plane; k++) s += ds.images[k] as number;
      sums[ch] = (sums[ch] as number) + s;
    }
  }
  return sums.map((s) => s / (255 * plane * Math.max(ds.length, 1)));
}

/**
 * The folder snnkit keeps caches in: `$SNNKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/snnkit`, else `~/.cache/snnkit`.
 * Used for decoded image folders, extracted archives and downloads, so read-only data folders stay untouched.
 * @returns the absolute path (not created here)
 * @example
 * defaultCacheDir(); // '/home/me/.cache/snnkit'
 */
export function defaultCacheDir(): string {
  const env = process.env['SNNKIT_CACHE_DIR'];
  if (env) return env;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(homedir(), '.cache'), 'snnkit');
}

/**
 * The project's shared data folder (see the project's data README): `$SNNKIT_DATA_DIR`, else `../shared/data`
 * next to the snnkit package root (the nearest folder above this module holding a package.json).
 * @returns the absolute path (it may not exist)
 * @example
 * join(sharedDataDir(), 'cifar10-exact-subset', 'test_first1000.bin');
 */
export function sharedDataDir(): string {
  const env = process.env['SNNKIT_DATA_DIR'];
  if (env) return resolve(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (pathKind(join(dir, 'package.json')) === 'file') return resolve(dir, '..', 'shared', 'data');
    const up = dirname(dir);
    if (up === dir) return resolve(process.cwd(), '..', 'shared', 'data');
    dir = up;
  }
}
