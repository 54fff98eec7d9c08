// Byte-level mutations of a seed file, as a generic fuzzer makes them (AFL's havoc stage in small): bit flips,
// interesting bytes and integers written over the data (both byte orders), truncation, deletion, duplication and
// insertion of chunks. Deterministic for a given random source.

/** A seeded 32-bit PRNG (mulberry32). @returns a function giving floats in [0, 1) */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random helpers over a PRNG. */
export function dice(r) {
  const int = (n) => Math.floor(r() * n);
  return { r, int, pick: (xs) => xs[int(xs.length)], chance: (p) => r() < p };
}

/** Integers that break parsers: zero, one, signs, powers of two around type limits, sizes near common buffers. */
export const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 32, 64, 100, 127, 128, 255, 256, 1000, 1024, 4096, 32767, 32768, 65535, 65536,
  100000, 1 << 20, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 600_000_000, -1, -2, -128, -32768, -(2 ** 31)];

function writeInt(b, at, v, width, little) {
  for (let i = 0; i < width && at + i < b.length; i++) {
    const byte = Number((BigInt.asUintN(64, BigInt(v)) >> BigInt(8 * (little ? i : width - 1 - i))) & 0xffn);
    b[at + i] = byte;
  }
}

/**
 * One to eight stacked byte-level mutations of `seed`.
 * @param seed the seed file's bytes
 * @param d dice (see dice())
 * @returns a new buffer
 */
export function mutateBytes(seed, d) {
  let b = Uint8Array.from(seed);
  const n = 1 + d.int(8);
  for (let k = 0; k < n; k++) {
    const at = b.length ? d.int(b.length) : 0;
    switch (d.int(9)) {
      case 0: if (b.length) b[at] ^= 1 << d.int(8); break;
      case 1: if (b.length) b[at] = d.pick([0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x2e]); break;
      case 2: writeInt(b, at, d.pick(INTERESTING), d.pick([1, 2, 4, 8]), d.chance(0.7)); break;
      case 3: if (b.length) b[at] = d.int(256); break;
      case 4: b = b.subarray(0, d.int(b.length + 1)).slice(); break; // truncate
      case 5: { // delete a chunk
        const len = 1 + d.int(Math.min(64, Math.max(1, b.length - at)));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 6: { // duplicate a chunk in place
        const len = 1 + d.int(Math.min(256, Math.max(1, b.length - at)));
        b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
      case 7: { // insert random or zero bytes
        const len = 1 + d.int(64);
        const ins = d.chance(0.5) ? new Uint8Array(len) : Uint8Array.from({ length: len }, () => d.int(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      default: { // copy a chunk over another place
        if (b.length < 2) break;
        const from = d.int(b.length), len = 1 + d.int(Math.min(32, b.length - from));
        b.set(b.subarray(from, from + len).slice(0, Math.max(0, b.length - at)), at);
      }
    }
  }
  return b;
}

/** Concatenates byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
