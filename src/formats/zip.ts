/**
 * A zip reader that trusts no number in the file: the end-of-central-directory record (and its zip64 form), every
 * central entry and every local header are checked against the file's size before use, the entry count against the
 * central directory's size (so a count of 2^32 cannot make a long loop), and deflated entries are inflated with their
 * declared size as the limit, within a byte budget for the whole archive. Stored entries are views into the file.
 * Only what PyTorch checkpoints need: no encryption, no multi-disk archives, compression 0 (stored) or 8 (deflate).
 */
import { inflateBounded } from './inflate.js';

/** One central-directory entry. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header. */
  localOffset: number;
}

const CENTRAL_MIN = 46;
const LOCAL_MIN = 30;
const EOCD_MIN = 22;
const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
/** A little-endian u64 as a number; values past 2^53 become Infinity, which every bound check then rejects. */
const u64 = (b: Uint8Array, at: number): number => {
  const v = u32(b, at) + u32(b, at + 4) * 0x100000000;
  return Number.isSafeInteger(v) ? v : Infinity;
};
const utf8 = new TextDecoder('utf-8');

/** True when the bytes start like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && u32(bytes, 0) === 0x04034b50;
}

/**
 * Lists the entries of a zip archive.
 * @param bytes the whole file
 * @param fail builds the caller's typed error from what is wrong
 * @returns the central-directory entries, in order
 * @throws what `fail` builds for a missing or inconsistent directory, or a number that points outside the file
 */
export function zipEntries(bytes: Uint8Array, fail: (what: string) => Error): ZipEntry[] {
  let e = bytes.length - EOCD_MIN;
  const stop = Math.max(0, bytes.length - EOCD_MIN - 0xffff);
  while (e >= stop && u32(bytes, e) !== 0x06054b50) e--;
  if (e < stop || e < 0) throw fail('it is not a readable zip archive: no end-of-central-directory record');
  let count = u16(bytes, e + 10), cdSize = u32(bytes, e + 12), cdOffset = u32(bytes, e + 16), cdEnd = e;
  if (e >= 20 && u32(bytes, e - 20) === 0x07064b50) {
    const z = u64(bytes, e - 12);
    if (!(z + 56 <= e - 20) || u32(bytes, z) !== 0x06064b50) throw fail(`its zip64 end-of-directory locator points to byte ${z}, where no zip64 record is`);
    count = u64(bytes, z + 32); cdSize = u64(bytes, z + 40); cdOffset = u64(bytes, z + 48); cdEnd = z;
  }
  if (!(cdOffset + cdSize <= cdEnd)) throw fail(`its central directory (${cdSize} bytes at byte ${cdOffset}) does not fit before the end record at byte ${cdEnd}`);
  if (!(count * CENTRAL_MIN <= cdSize)) throw fail(`it claims ${count} entries, but its central directory has room for at most ${Math.floor(cdSize / CENTRAL_MIN)}`);
  const out: ZipEntry[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_MIN > end || u32(bytes, p) !== 0x02014b50) throw fail(`central directory entry ${i} at byte ${p} is missing or broken`);
    const nameLen = u16(bytes, p + 28), extraLen = u16(bytes, p + 30), commentLen = u16(bytes, p + 32);
    const next = p + CENTRAL_MIN + nameLen + extraLen + commentLen;
    if (next > end) throw fail(`central directory entry ${i} at byte ${p} runs past the directory's end`);
    const entry: ZipEntry = {
      name: utf8.decode(bytes.subarray(p + CENTRAL_MIN, p + CENTRAL_MIN + nameLen)),
      method: u16(bytes, p + 10), compressedSize: u32(bytes, p + 20), size: u32(bytes, p + 24), localOffset: u32(bytes, p + 42),
    };
    readZip64Extra(bytes, p + CENTRAL_MIN + nameLen, extraLen, entry);
    out.push(entry);
    p = next;
  }
  return out;
}

/** Replaces the 0xFFFFFFFF fields of an entry with the values of its zip64 extra field (id 1), in the fixed order. */
function readZip64Extra(bytes: Uint8Array, at: number, len: number, entry: ZipEntry): void {
  const FULL = 0xffffffff;
  for (let q = at; q + 4 <= at + len;) {
    const id = u16(bytes, q), size = u16(bytes, q + 2);
    const body = q + 4, bodyEnd = Math.min(body + size, at + len);
    if (id === 1) {
      let r = body;
      const take = (): number => { const v = r + 8 <= bodyEnd ? u64(bytes, r) : Infinity; r += 8; return v; };
      if (entry.size === FULL) entry.size = take();
      if (entry.compressedSize === FULL) entry.compressedSize = take();
      if (entry.localOffset === FULL) entry.localOffset = take();
      return;
    }
    q = body + size;
  }
}

/**
 * The contents of one entry: a view for a stored entry, a new buffer for a deflated one.
 * @param bytes the whole file
 * @param entry the entry, from {@link zipEntries}
 * @param fail builds the caller's typed error
 * @returns the entry's bytes, exactly `entry.size` of them
 * @throws what `fail` builds when the entry's data lies outside the file, its method is unknown, or its data does not
 *   inflate to its declared size
 */
export function zipEntryData(bytes: Uint8Array, entry: ZipEntry, fail: (what: string) => Error): Uint8Array {
  const at = entry.localOffset;
  if (!(at + LOCAL_MIN <= bytes.length) || u32(bytes, at) !== 0x04034b50) throw fail(`entry '${entry.name}' has no local header at byte ${at}`);
  const start = at + LOCAL_MIN + u16(bytes, at + 26) + u16(bytes, at + 28);
  if (!(start + entry.compressedSize <= bytes.length)) {
    throw fail(`entry '${entry.name}' needs ${entry.compressedSize} bytes at byte ${start}, but the file ends at ${bytes.length}`);
  }
  const raw = bytes.subarray(start, start + entry.compressedSize);
  const entryFail = (what: string): Error => fail(`entry '${entry.name}': ${what}`);
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize) throw entryFail(`it is stored uncompressed but declares ${entry.size} bytes for ${entry.compressedSize}`);
    return raw;
  }
  if (entry.method !== 8) throw entryFail(`compression method ${entry.method} is not supported (only stored and deflate)`);
  const out = inflateBounded(raw, 'deflate-raw', entry.size, entryFail);
  if (out.length !== entry.size) throw entryFail(`it inflates to ${out.length} bytes, but declares ${entry.size}`);
  return out;
}
