/**
 * One file holding a whole decoded split (labels and uint8 samples) so the next load skips decoding: what image
 * folders (decoded JPEG/PNG) and event data sets (events binned into frames) keep in the cache folder.
 *
 * Layout: the 8 bytes `SNNKITIF`, a uint32 (little-endian) header length, the header as JSON, N labels, the samples.
 * The header's `fingerprint` says what the file was made from (file names, sizes, mtimes, and any option that
 * changes the samples); a file with another fingerprint, another version or a wrong size is a miss, never an error.
 */
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { sharedBytes } from './dataset.js';

const CACHE_MAGIC = 'SNNKITIF';
const CACHE_VERSION = 1;

/** What a cache file's header records. */
export interface SampleCacheHeader {
  /** The format version (set by {@link writeSampleCache}). */
  version?: number;
  /** Identifies the source: a hash of file names, sizes, mtimes and sample-changing options. */
  fingerprint: string;
  /** [C, H, W] of one sample. */
  shape: [number, number, number];
  /** N, the number of samples. */
  length: number;
  /** Class names, index = label. */
  classes: string[];
  /** The folder the samples came from. */
  root: string;
}

/** A cache file's content. */
export interface SampleCacheContent { header: SampleCacheHeader; labels: Uint8Array; images: Uint8Array }

/**
 * Reads a cache file; any problem (absent, other version, other fingerprint, wrong size) is a miss. The samples land
 * in shared memory, as every loader's do.
 * @param path the cache file
 * @param fingerprint what the caller's source hashes to now
 * @returns the content, or null on a miss
 * @example
 * const hit = readSampleCache(file, listing.fingerprint) ?? decodeEverything();
 */
export function readSampleCache(path: string, fingerprint: string): SampleCacheContent | null {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  try {
    const readFully = (buf: Uint8Array, pos: number): void => {
      for (let off = 0; off < buf.length;) {
        const got = readSync(fd, buf, off, buf.length - off, pos + off);
        if (got === 0) throw new Error('short read');
        off += got;
      }
    };
    const head = new Uint8Array(12);
    readFully(head, 0);
    if (Buffer.from(head.subarray(0, 8)).toString('latin1') !== CACHE_MAGIC) return null;
    const len = new DataView(head.buffer).getUint32(8, true);
    if (len > statSync(path).size - 12) return null; // a corrupt header length: never allocate past the file
    const json = new Uint8Array(len);
    readFully(json, 12);
    const header = JSON.parse(Buffer.from(json).toString('utf8')) as SampleCacheHeader;
    if (header.version !== CACHE_VERSION || header.fingerprint !== fingerprint) return null;
    const n = header.length;
    const size = header.shape.reduce((a, b) => a * b, 1) * n;
    if (statSync(path).size !== 12 + len + n + size) return null;
    const labels = sharedBytes(n);
    const images = sharedBytes(size);
    readFully(labels, 12 + len);
    readFully(images, 12 + len + n);
    return { header, labels, images };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a cache file atomically (temp file + rename). A cache that cannot be written only costs speed: it warns.
 * @param path the cache file
 * @param header what the samples are
 * @param labels N labels
 * @param images the N samples, uint8
 * @example
 * writeSampleCache(file, { fingerprint, shape, length: n, classes, root }, labels, images);
 */
export function writeSampleCache(path: string, header: SampleCacheHeader, labels: Uint8Array, images: Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const json = Buffer.from(JSON.stringify({ ...header, version: CACHE_VERSION }), 'utf8');
    const head = Buffer.alloc(12);
    head.write(CACHE_MAGIC, 0, 'latin1');
    head.writeUInt32LE(json.length, 8);
    const fd = openSync(tmp, 'w');
    try {
      for (const part of [head, json, labels, images]) {
        for (let off = 0; off < part.length;) off += writeSync(fd, part, off, part.length - off);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    process.emitWarning(`snnkit: could not write the cache file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
