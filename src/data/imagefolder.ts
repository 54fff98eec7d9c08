/**
 * Image folders in torchvision's ImageFolder layout, `<root>/<split>/<class>/*.{jpg,jpeg,png}`, decoded once with
 * sharp (libvips + libjpeg-turbo: the same pixels as PIL, hence as torchvision) and cached as one uint8 file; and
 * `.tar.gz` archives extracted once into the cache folder, never next to the archive.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { x as tarExtract } from 'tar';
import { SnnkitError, invalidArg } from '../errors.js';
import { type ImageDataset, type Split, checkSplit, defaultCacheDir, fileError, ioError, pathKind, roundRobinByClass, sharedBytes, sharedDataDir } from './dataset.js';
import { CIFAR10_CLASSES } from './cifar.js';
import { readSampleCache, writeSampleCache } from './sample-cache.js';

/** The file extensions an image folder is read for (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Where the decoded cache file goes (default {@link defaultCacheDir}: `~/.cache/snnkit`, or `$SNNKIT_CACHE_DIR`). */
  cacheDir?: string;
  /** Read and write the decoded cache (default true). */
  cache?: boolean;
  /** The dataset name to record (default: the root folder's name). */
  name?: string;
  /** 3 decodes to RGB, as torchvision's default loader does; 1 to grayscale (default 3). */
  channels?: 1 | 3;
  /** How many images are read and decoded at once (default 16). */
  concurrency?: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface Listing { classes: string[]; files: string[]; labels: Uint8Array; fingerprint: string }

/** Lists classes (sorted folder names) and images (sorted names), and fingerprints names, sizes and mtimes. */
function listImageFolder(root: string, split: Split): Listing {
  const dir = join(root, split);
  if (pathKind(dir) !== 'dir') {
    throw fileError(dir, `no such folder (expected the ImageFolder layout <root>/${split}/<class>/*.jpg|jpeg|png)`, 'FILE_NOT_FOUND');
  }
  const classes = readdirSync(dir, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.') && pathKind(join(dir, d.name)) === 'dir').map((d) => d.name).sort(byCodePoint);
  if (classes.length === 0) throw fileError(dir, 'has no class folders (expected <class>/*.jpg|jpeg|png inside)');
  if (classes.length > 256) throw fileError(dir, `has ${classes.length} class folders; labels are uint8, at most 256 classes`);
  const sortedFiles: string[] = [];
  const sortedLabels: number[] = [];
  const hash = createHash('sha256');
  // The order in memory (and so in the cache) is round-robin by class, not the folders': part of the fingerprint.
  hash.update('order: round-robin by class\n');
  classes.forEach((c, label) => {
    const names = readdirSync(join(dir, c))
      .filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e))).sort(byCodePoint);
    if (names.length === 0) throw fileError(join(dir, c), `class folder has no ${IMAGE_EXTENSIONS.join('/')} image`);
    for (const n of names) {
      const f = join(dir, c, n);
      const st = statSync(f);
      hash.update(`${c}/${n}\t${st.size}\t${st.mtimeMs}\n`);
      sortedFiles.push(f);
      sortedLabels.push(label);
    }
  });
  const order = roundRobinByClass(sortedLabels);
  return { classes, files: order.map((i) => sortedFiles[i]!), labels: Uint8Array.from(order, (i) => sortedLabels[i]!), fingerprint: hash.digest('hex') };
}

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default, (e: unknown) => {
    sharpModule = undefined;
    throw new SnnkitError(`loadImageFolder: image decoding needs the npm package 'sharp', which failed to load (${message(e)}); `
      + 'run `npm install` in the project', 'NATIVE_LOAD_FAILED');
  });
  return sharpModule as Promise<Sharp>;
}

/** Decodes every file into one channel-first array; all images must share the first image's size. */
async function decodeAll(files: string[], channels: 1 | 3, concurrency: number): Promise<{ images: Uint8Array; h: number; w: number }> {
  const sharp = await loadSharp();
  const decode = async (file: string) => {
    let buf: Buffer;
    try { buf = await readFile(file); } catch (e) { throw ioError(file, 'cannot read the image', e); }
    try {
      return await sharp(buf).removeAlpha().toColourspace(channels === 1 ? 'b-w' : 'srgb').raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
    } catch (e) {
      throw fileError(file, `cannot decode the image: ${message(e)}`);
    }
  };
  const first = await decode(files[0] as string);
  const { height: h, width: w } = first.info;
  const plane = h * w;
  const images = sharedBytes(files.length * channels * plane);
  const put = (i: number, data: Buffer): void => {
    const base = i * channels * plane;
    if (channels === 1) { images.set(data, base); return; }
    for (let p = 0; p < plane; p++) {
      images[base + p] = data[3 * p] as number;
      images[base + plane + p] = data[3 * p + 1] as number;
      images[base + 2 * plane + p] = data[3 * p + 2] as number;
    }
  };
  put(0, first.data);
  // Indices are taken in order, so the smallest failing index is the first bad file in sorted order.
  let next = 1;
  let failure: { index: number; error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < files.length && (failure === undefined || next < failure.index)) {
      const i = next++;
      const file = files[i] as string;
      try {
        const r = await decode(file);
        if (r.info.width !== w || r.info.height !== h || r.info.channels !== channels) {
          throw fileError(file, `is ${r.info.width}×${r.info.height}×${r.info.channels} but ${files[0]} is ${w}×${h}×${channels}; `
            + 'all images of an image folder must have one size (width×height×channels)');
        }
        put(i, r.data);
      } catch (error) {
        if (failure === undefined || i < failure.index) failure = { index: i, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  if (failure) throw failure.error;
  return { images, h, w };
}

/**
 * Loads one split of an image folder (torchvision ImageFolder layout): classes are the sorted sub-folder names,
 * images their sorted `.jpg`/`.jpeg`/`.png` files, held one class after the other in turn (roundRobinByClass: the
 * first image of each class, then the second of each, ...), so that any prefix or suffix holds every class. The first load decodes every image and writes a cache file
 * `<cacheDir>/imagefolder/<name>-<split>-c<C>-<hash of root>.bin`; later loads read it while the fingerprint of the
 * folder (file names, sizes, mtimes) is unchanged.
 * @param root the folder holding `train/` and `test/`
 * @param split the split
 * @param opts cache folder, caching on/off, name, channels (3 = RGB, like torchvision), decode concurrency
 * @returns the dataset; `source` is the cache file when read from cache, else the image files
 * @throws SnnkitError FILE_NOT_FOUND for a missing split folder; FILE_FORMAT for no classes, an empty class, an image
 *   that cannot be decoded, or (naming the first such file) an image whose size differs from the first
 * @example
 * const test = await loadImageFolder('/data/cifar10-jpg', 'test'); // shape [3, 32, 32]
 */
export async function loadImageFolder(root: string, split: Split, opts: ImageFolderOptions = {}): Promise<ImageDataset> {
  const sp = checkSplit('loadImageFolder', split);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw invalidArg('loadImageFolder', 'opts.channels', '1 or 3', channels);
  const concurrency = opts.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalidArg('loadImageFolder', 'opts.concurrency', 'a positive integer', concurrency);
  const absRoot = resolve(root);
  const name = opts.name ?? basename(absRoot);
  const listing = listImageFolder(absRoot, sp);
  const useCache = opts.cache ?? true;
  const cacheFile = join(opts.cacheDir ?? defaultCacheDir(), 'imagefolder',
    `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${sp}-c${channels}-${sha256(absRoot).slice(0, 12)}.bin`);
  const base = { name, split: sp, classes: listing.classes };
  const hit = useCache ? readSampleCache(cacheFile, listing.fingerprint) : null;
  if (hit) {
    return { ...base, images: hit.images, labels: hit.labels, length: hit.header.length, shape: hit.header.shape, source: [cacheFile] };
  }
  const { images, h, w } = await decodeAll(listing.files, channels, concurrency);
  const labels = sharedBytes(listing.files.length);
  labels.set(listing.labels);
  const shape: [number, number, number] = [channels, h, w];
  if (useCache) {
    const header = { fingerprint: listing.fingerprint, shape, length: labels.length, classes: listing.classes, root: absRoot };
    writeSampleCache(cacheFile, header, labels, images);
  }
  return { ...base, images, labels, length: labels.length, shape, source: listing.files };
}

/**
 * Extracts a `.tar.gz` once into `<cacheDir>/extracted/<archive name>-<hash of path, size, mtime>/`: into a temp
 * folder first, then renamed, so a half-extracted folder is never used. Later calls return the folder at once.
 * @param archive the `.tar.gz` (may lie in a read-only folder)
 * @param opts `cacheDir` (default {@link defaultCacheDir})
 * @returns the folder holding the archive's contents
 * @throws SnnkitError FILE_NOT_FOUND for a missing archive; FILE_FORMAT when it cannot be extracted
 * @example
 * const dir = await extractTarGzOnce('/data/cifar10-jpg/CIFAR-10-images-jpg.tar.gz');
 */
export async function extractTarGzOnce(archive: string, opts: { cacheDir?: string } = {}): Promise<string> {
  const key = `${resolve(opts.cacheDir ?? defaultCacheDir())}\n${resolve(archive)}`;
  let job = extracting.get(key);
  if (!job) {
    job = extractOnce(archive, opts.cacheDir).finally(() => extracting.delete(key));
    extracting.set(key, job);
  }
  return job;
}

/** Extractions in progress in this process, so that loading both splits at once extracts once. */
const extracting = new Map<string, Promise<string>>();

async function extractOnce(archive: string, cacheDir: string | undefined): Promise<string> {
  let st;
  try { st = statSync(archive); } catch (e) { throw ioError(archive, 'cannot read the archive', e); }
  const abs = resolve(archive);
  const stem = basename(abs).replace(/\.(tar\.gz|tgz)$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
  const dest = join(cacheDir ?? defaultCacheDir(), 'extracted', `${stem}-${sha256(`${abs}\n${st.size}\n${st.mtimeMs}`).slice(0, 12)}`);
  const marker = join(dest, '.snnkit-extracted');
  if (pathKind(marker) === 'file') return dest;
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(tmp, { recursive: true });
    await tarExtract({ file: abs, cwd: tmp, strict: true });
    writeFileSync(join(tmp, '.snnkit-extracted'), JSON.stringify({ archive: abs, size: st.size, mtimeMs: st.mtimeMs }));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof SnnkitError) throw e;
    throw fileError(abs, `cannot extract the .tar.gz archive into ${dirname(dest)}: ${message(e)}`);
  }
  try {
    if (pathKind(dest) === 'dir' && pathKind(marker) !== 'file') rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (pathKind(marker) !== 'file') throw ioError(dest, 'cannot move the extracted archive into place', e);
  }
  return dest;
}

/**
 * The folder under `dir` that holds `<split>/`: `dir` itself, or its only sub-folder (archives often wrap one).
 * @param dir the folder to look in
 * @param split the split folder to find
 * @returns the image-folder root, or null when there is none
 * @example
 * findImageFolderRoot(extracted, 'train'); // extracted, or extracted/cifar10
 */
export function findImageFolderRoot(dir: string, split: Split): string | null {
  if (pathKind(join(dir, split)) === 'dir') return dir;
  if (pathKind(dir) !== 'dir') return null;
  const subs = readdirSync(dir).filter((d) => !d.startsWith('.') && pathKind(join(dir, d)) === 'dir');
  return subs.length === 1 && pathKind(join(dir, subs[0] as string, split)) === 'dir' ? join(dir, subs[0] as string) : null;
}

/**
 * The JPEG copy of CIFAR-10 in the project's shared data folder (`$SNNKIT_DATA_DIR` or `../shared/data`).
 * @returns the path of `cifar10-jpg/CIFAR-10-images-jpg.tar.gz` there (it may not exist)
 * @example
 * await loadCifar10Jpeg({ archive: cifar10JpegDefaultArchive(), split: 'test' });
 */
export function cifar10JpegDefaultArchive(): string {
  return join(sharedDataDir(), 'cifar10-jpg', 'CIFAR-10-images-jpg.tar.gz');
}

/**
 * Loads CIFAR-10 (JPEG): the whole set as one JPEG per image in a `.tar.gz` (`train/<class>/*.jpg`,
 * `test/<class>/*.jpg`). Extracted once into the cache folder, decoded once, then read from the cache.
 * JPEG is lossy: report results on it as "CIFAR-10 (JPEG)", not CIFAR-10.
 * @param opts `split`; `archive` (default: `<shared data>/cifar10-jpg/CIFAR-10-images-jpg.tar.gz`); `cacheDir`
 * @returns the dataset, named 'cifar10-jpeg', shape [3, 32, 32], classes in CIFAR-10 label order
 * @throws SnnkitError as {@link extractTarGzOnce} and {@link loadImageFolder}; FILE_FORMAT when the archive has no
 *   `<split>/` folder or its classes are not CIFAR-10's ten
 * @example
 * const train = await loadCifar10Jpeg({ split: 'train' }); // train.length === 50000
 */
export async function loadCifar10Jpeg(opts: { archive?: string; cacheDir?: string; split: Split }): Promise<ImageDataset> {
  const split = checkSplit('loadCifar10Jpeg', opts?.split);
  const archive = opts.archive ?? cifar10JpegDefaultArchive();
  const dir = await extractTarGzOnce(archive, { cacheDir: opts.cacheDir });
  const root = findImageFolderRoot(dir, split);
  if (root === null) throw fileError(archive, `has no ${split}/<class>/*.jpg folder (extracted into ${dir})`);
  const ds = await loadImageFolder(root, split, { cacheDir: opts.cacheDir, name: 'cifar10-jpeg' });
  if (ds.classes.join(',') !== CIFAR10_CLASSES.join(',')) {
    throw fileError(archive, `classes [${ds.classes.join(', ')}] are not CIFAR-10's [${CIFAR10_CLASSES.join(', ')}]`);
  }
  return { ...ds, source: [archive, ...ds.source] };
}
