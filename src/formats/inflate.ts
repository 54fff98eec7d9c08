/**
 * Decompression with a limit: a deflate or gzip stream is inflated in slices, and inflating stops with a typed error as
 * soon as the output passes a limit the caller derived from the file's header (a zip entry's declared size, an IDX
 * header's dimensions). A small corrupt or hostile file (a "decompression bomb" expands about 1000-fold) then costs at
 * most the memory its header announced, and the caller checks that announcement against the file's size first.
 * Uses fflate's streaming inflater: Node's zlib has `maxOutputLength`, but only for a limit known before the first
 * byte, while an IDX limit comes out of the decompressed header.
 */
import { Gunzip, Inflate } from 'fflate';

/** The limit of {@link inflateBounded}: a number of bytes, or a function of the first decompressed bytes. */
export type InflateLimit = number | ((head: Uint8Array) => number | undefined);

/** Input slice pushed at a time: at most ~16 MiB of output (deflate expands at most 1032-fold) before a check. */
const SLICE = 16 * 1024;
/** A limit function that has not decided after this many bytes is treated as "no header". */
const MAX_HEAD = 1 << 16;

class TooLarge extends Error {}
/** An error thrown by the limit function, carried out of the inflater unchanged. */
class Abort {
  constructor(readonly error: unknown) {}
}

/**
 * Inflates `data`, stopping once the output passes the limit.
 * @param data the compressed bytes
 * @param format 'deflate-raw' (zip entries) or 'gzip'
 * @param limit the most bytes the output may have, or a function given the first output bytes (called again with
 *   more until it returns a number; a function that returns undefined for 64 KiB counts as a limit of 64 KiB)
 * @param fail builds the caller's typed error (naming the file) from what went wrong
 * @returns the inflated bytes
 * @throws what the limit function throws; what `fail` builds when the stream is corrupt or truncated, or its output passes the limit
 * @example
 * const bytes = inflateBounded(gz, 'gzip', (head) => headerSize(head), (what) => fileError(path, what));
 */
export function inflateBounded(data: Uint8Array, format: 'deflate-raw' | 'gzip', limit: InflateLimit, fail: (what: string) => Error): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let max = typeof limit === 'number' ? limit : undefined;
  const onData = (chunk: Uint8Array): void => {
    chunks.push(chunk);
    total += chunk.length;
    if (max === undefined && typeof limit === 'function') {
      try {
        max = limit(concat(chunks, Math.min(total, MAX_HEAD)));
      } catch (e) {
        throw new Abort(e);
      }
      if (max === undefined && total >= MAX_HEAD) max = MAX_HEAD;
    }
    if (max !== undefined && total > max) throw new TooLarge();
  };
  const stream = format === 'gzip' ? new Gunzip(onData) : new Inflate(onData);
  try {
    if (data.length === 0) stream.push(data, true);
    for (let off = 0; off < data.length; off += SLICE) stream.push(data.subarray(off, off + SLICE), off + SLICE >= data.length);
  } catch (e) {
    if (e instanceof Abort) throw e.error;
    if (e instanceof TooLarge) throw fail(`its compressed data expands past the ${max} bytes its header announces (corrupt, or a decompression bomb)`);
    throw fail(`its compressed data cannot be decompressed (truncated or corrupt?): ${(e as Error).message}`);
  }
  return concat(chunks, total);
}

/** The first `n` bytes of the concatenated chunks. */
function concat(chunks: readonly Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === n) return chunks[0]!;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    if (at >= n) break;
    const part = c.subarray(0, n - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}
