/**
 * N-MNIST as a data set of event frames: every recording binned into T frames of 2 polarity channels (eventsToFrames),
 * optionally denoised first, held as uint8 event counts [2T, 34, 34] per sample (frame-major: channel 2f + p), and
 * cached on disk so the next load reads one file. Two folder layouts are read:
 *
 * - the original: `Train/<digit>/*.bin` and `Test/<digit>/*.bin` (as the N-MNIST archives and tonic's download hold),
 *   held one digit after the other in turn (roundRobinByClass), so that prefixes and the validation split are balanced;
 * - a list layout: event files `<sample>.bs2` (or `.bin`) in one folder with `train*.txt` and `test*.txt` listing
 *   "sample class" per line after a `#` header (as the project's `nmnist-small` archive holds).
 *
 * Either may be the folder given, its only sub-folder, or inside a `.tar.gz` (given, or alone in the folder given).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { invalidArg } from '../errors.js';
import { NMNIST_SIZE, readNmnistFile } from '../formats/events.js';
import { type ImageDataset, type Split, checkSplit, defaultCacheDir, fileError, pathKind, readFileChecked, roundRobinByClass, sharedBytes } from './dataset.js';
import { denoiseEvents, eventsToFrames, type FrameOptions } from './events.js';
import { extractTarGzOnce } from './imagefolder.js';
import { readSampleCache, writeSampleCache } from './sample-cache.js';

/** N-MNIST's classes: the digits. */
export const NMNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** How recordings become samples. */
export interface EventFrameOptions {
  /** Frames per sample (the SNN's time steps; default 1: every event summed into one 2-channel image). */
  frames?: number;
  /** How events are binned into frames: 'count' (default) or 'time'; see {@link FrameOptions.by}. */
  by?: FrameOptions['by'];
  /** Drop isolated events first: the time window of {@link denoiseEvents} in µs (default: keep every event). */
  denoise?: number;
}

/** Options of {@link loadNmnist}. */
export interface NmnistOptions extends EventFrameOptions {
  /** Where extracted archives and frames are cached (default `~/.cache/snnkit`). */
  cacheDir?: string;
  /** Read and write the frame cache (default true). */
  cache?: boolean;
}

/** The files of one split and their labels. */
interface Listing { files: string[]; labels: number[]; root: string }

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const subdirs = (dir: string): string[] => readdirSync(dir).filter((d) => !d.startsWith('.') && pathKind(join(dir, d)) === 'dir').sort(byCodePoint);

/** The original layout: <dir>/Train/<digit>/*.bin (folder names case-insensitive). */
function listClassFolders(dir: string, split: Split): Listing | null {
  const splitDir = subdirs(dir).find((d) => d.toLowerCase() === split);
  if (splitDir === undefined) return null;
  const root = join(dir, splitDir), files: string[] = [], labels: number[] = [];
  const found = subdirs(root);
  const unknown = found.filter((c) => !NMNIST_CLASSES.includes(c));
  if (unknown.length) throw fileError(root, `holds folders [${unknown.join(', ')}]; expected the digit folders 0..9 of N-MNIST`);
  for (const c of found) {
    const names = readdirSync(join(root, c)).filter((n) => /\.(bin|bs2)$/i.test(n)).sort(byCodePoint);
    for (const n of names) { files.push(join(root, c, n)); labels.push(Number(c)); }
  }
  if (files.length === 0) throw fileError(root, 'holds no event files (<digit>/*.bin)');
  const order = roundRobinByClass(labels);
  return { files: order.map((i) => files[i]!), labels: order.map((i) => labels[i]!), root };
}

/** The list layout: <dir>/<split>*.txt naming "sample class" pairs, the samples in <dir>/<sample>.bs2|.bin. */
function listFromList(dir: string, split: Split): Listing | null {
  const lists = readdirSync(dir).filter((f) => f.toLowerCase().startsWith(split) && f.toLowerCase().endsWith('.txt'));
  if (lists.length === 0) return null;
  if (lists.length > 1) throw fileError(dir, `holds ${lists.length} ${split} lists (${lists.join(', ')}); expected one`);
  const list = join(dir, lists[0]!), files: string[] = [], labels: number[] = [];
  const lines = Buffer.from(readFileChecked(list)).toString('utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const s = line.trim();
    if (s === '' || s.startsWith('#')) return;
    const m = /^(\S+)\s+(\d+)$/.exec(s);
    const label = m ? Number(m[2]) : NaN;
    if (!m || !(label < NMNIST_CLASSES.length)) throw fileError(list, `line ${i + 1} is '${s}'; expected "sample class" with a class 0..9`);
    const file = ['.bs2', '.bin', ''].map((e) => join(dir, `${m[1]}${e}`)).find((f) => pathKind(f) === 'file');
    if (file === undefined) throw fileError(list, `line ${i + 1} names sample '${m[1]}', but ${join(dir, m[1]!)}.bs2 (or .bin) does not exist`, 'FILE_NOT_FOUND');
    files.push(file);
    labels.push(label);
  });
  if (files.length === 0) throw fileError(list, 'lists no sample');
  return { files, labels, root: dir };
}

/** Finds the split in `dir` or its only sub-folder, or in the one .tar.gz `dir` holds. */
async function findSplit(path: string, split: Split, cacheDir: string | undefined): Promise<Listing> {
  const kind = pathKind(path);
  if (kind === null) throw fileError(path, 'no such file or folder (the N-MNIST data)', 'FILE_NOT_FOUND');
  if (kind === 'file') {
    if (!/\.(tar\.gz|tgz)$/i.test(path)) throw fileError(path, 'is not a .tar.gz archive; give the archive or the folder holding Train/ and Test/ or the sample lists');
    return findSplit(await extractTarGzOnce(path, { cacheDir }), split, cacheDir);
  }
  const subs = subdirs(path);
  for (const dir of [path, ...(subs.length === 1 ? [join(path, subs[0]!)] : [])]) {
    const found = listClassFolders(dir, split) ?? listFromList(dir, split);
    if (found) return found;
  }
  const archives = readdirSync(path).filter((f) => /\.(tar\.gz|tgz)$/i.test(f));
  if (archives.length === 1) return findSplit(join(path, archives[0]!), split, cacheDir);
  throw fileError(path, `holds no N-MNIST ${split} split: expected ${split === 'train' ? 'Train' : 'Test'}/<digit>/*.bin, `
    + `${split}*.txt with <sample>.bs2 files, or one .tar.gz holding either`, 'FILE_FORMAT');
}

/** Checks the frame options. */
function checkFrameOptions(fn: string, o: EventFrameOptions): Required<Pick<EventFrameOptions, 'frames' | 'by'>> & { denoise?: number } {
  const frames = o.frames ?? 1, by = o.by ?? 'count';
  if (!(Number.isInteger(frames) && frames >= 1 && frames <= 127)) throw invalidArg(fn, 'frames', 'an integer 1..127 (2 channels a frame, 254 channels at most)', frames);
  if (by !== 'count' && by !== 'time') throw invalidArg(fn, 'by', "'count' or 'time'", by);
  if (o.denoise !== undefined && !(Number.isFinite(o.denoise) && o.denoise > 0)) throw invalidArg(fn, 'denoise', 'a positive number of µs', o.denoise);
  return { frames, by, ...(o.denoise !== undefined ? { denoise: o.denoise } : {}) };
}

/**
 * Loads one split of N-MNIST as event frames. The first load reads and bins every recording and writes a cache
 * file `<cacheDir>/events/nmnist-<split>-T<frames>-<by>[-dn<µs>]-<hash>.bin`; later loads read it while the event
 * files (names, sizes, mtimes) and the options are unchanged.
 * @param path the folder (original or list layout), a `.tar.gz` holding it, or a folder holding that archive
 * @param split the split
 * @param opts frames per sample (default 1), binning, denoising, cache folder, caching on/off
 * @returns the dataset 'nmnist': shape [2·frames, 34, 34], event counts (a count above 255 in one pixel of one frame
 *   is stored as 255), classes '0'..'9'
 * @throws SnnkitError FILE_NOT_FOUND for a missing path or listed sample; FILE_FORMAT for a folder holding neither
 *   layout, a bad list line, or a malformed event file (naming it and the byte offset); INVALID_ARGUMENT for bad options
 * @example
 * const train = await data.loadNmnist('../shared/data/nmnist-small', 'train', { frames: 8 }); // 1000 × [16, 34, 34]
 */
export async function loadNmnist(path: string, split: Split, opts: NmnistOptions = {}): Promise<ImageDataset> {
  const sp = checkSplit('loadNmnist', split);
  const fo = checkFrameOptions('loadNmnist', opts);
  const listing = await findSplit(path, sp, opts.cacheDir);
  const hash = createHash('sha256').update(JSON.stringify(fo));
  listing.files.forEach((f, i) => { const st = statSync(f); hash.update(`${basename(f)}\t${listing.labels[i]}\t${st.size}\t${st.mtimeMs}\n`); });
  const fingerprint = hash.digest('hex');
  const root = resolve(listing.root);
  const tag = `T${fo.frames}-${fo.by}${fo.denoise !== undefined ? `-dn${fo.denoise}` : ''}`;
  const cacheFile = join(opts.cacheDir ?? defaultCacheDir(), 'events', `nmnist-${sp}-${tag}-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.bin`);
  const shape: [number, number, number] = [2 * fo.frames, NMNIST_SIZE, NMNIST_SIZE];
  const base = { name: 'nmnist', split: sp, classes: [...NMNIST_CLASSES], shape };
  const useCache = opts.cache ?? true;
  const hit = useCache ? readSampleCache(cacheFile, fingerprint) : null;
  if (hit) return { ...base, images: hit.images, labels: hit.labels, length: hit.header.length, source: [cacheFile] };
  const per = shape[0] * shape[1] * shape[2], n = listing.files.length;
  const images = sharedBytes(n * per), labels = sharedBytes(n);
  listing.files.forEach((f, i) => {
    const raw = readNmnistFile(f);
    const ev = fo.denoise !== undefined ? denoiseEvents(raw, fo.denoise) : raw;
    const frames = eventsToFrames(ev, { T: fo.frames, by: fo.by });
    const out = images.subarray(i * per, (i + 1) * per);
    for (let k = 0; k < per; k++) out[k] = Math.min(255, frames[k]!);
    labels[i] = listing.labels[i]!;
  });
  if (useCache) writeSampleCache(cacheFile, { fingerprint, shape, length: n, classes: base.classes, root }, labels, images);
  return { ...base, images, labels, length: n, source: listing.files };
}
