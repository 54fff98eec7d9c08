/**
 * safetensors (https://github.com/huggingface/safetensors), read and written here with strict validation:
 * an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header (space-padded to a multiple of 8), then the data section.
 * Each header entry is `{"dtype", "shape", "data_offsets": [begin, end]}` relative to the data section, row-major,
 * little-endian; the tensors must cover the data section exactly. The optional `"__metadata__"` maps strings to strings.
 * Written as the reference writer does: tensors sorted by dtype alignment (largest first) then name, compact JSON.
 */
import fs from 'node:fs';
import { endianness } from 'node:os';
import { SnnkitError, describeValue, invalidArg } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { writeFileAtomic } from './atomic.js';
import { readError } from './read.js';

/** The largest header accepted, as the reference implementation (guards against absurd lengths). */
export const MAX_HEADER_BYTES = 100_000_000;

interface FileDType { size: number; loadsAs: DType; rank: number }
// rank: position in the reference's Dtype enum (declared in increasing alignment); the writer sorts by it, descending.
const FILE_DTYPES: Record<string, FileDType> = {
  BOOL: { size: 1, loadsAs: 'bool', rank: 0 },
  U8: { size: 1, loadsAs: 'uint8', rank: 1 },
  I8: { size: 1, loadsAs: 'int8', rank: 2 },
  F16: { size: 2, loadsAs: 'float32', rank: 7 },
  BF16: { size: 2, loadsAs: 'float32', rank: 8 },
  I32: { size: 4, loadsAs: 'int32', rank: 9 },
  F32: { size: 4, loadsAs: 'float32', rank: 11 },
  F64: { size: 8, loadsAs: 'float64', rank: 12 },
  I64: { size: 8, loadsAs: 'int64', rank: 13 },
};
const SUPPORTED = 'F64, F32, F16 and BF16 (read as float32), I64, I32, I8, U8, BOOL';
const TO_FILE: Record<DType, string> = { float64: 'F64', float32: 'F32', int64: 'I64', int32: 'I32', int8: 'I8', uint8: 'U8', bool: 'BOOL' };

/** One tensor as described by a safetensors header. */
export interface SafetensorsTensorInfo {
  /** The tensor's name (key in the header). */
  name: string;
  /** The dtype as written in the file, e.g. 'F32' or 'BF16'. */
  dtype: string;
  /** The snnkit dtype it loads as (F16 and BF16 load as float32). */
  loadsAs: DType;
  /** The shape ([] for a scalar). */
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section. */
  dataOffsets: [number, number];
}
/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  /** The tensors in file order (by data offset). */
  tensors: SafetensorsTensorInfo[];
  /** The `__metadata__` strings ({} when absent). */
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + the header length. */
  dataStart: number;
}
/** What loadSafetensors and decodeSafetensors return. The tensors are kept (outside any tidy): dispose them. */
export interface LoadedSafetensors {
  /** The tensors by name, in file order. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings ({} when absent). */
  metadata: Record<string, string>;
}
/** Options of loadSafetensors and decodeSafetensors. */
export interface LoadSafetensorsOptions {
  /** Convert floating-point tensors to this dtype; integer and bool tensors keep theirs (as PyTorch's `module.to`). */
  dtype?: 'float32' | 'float64';
}
/** Tensors to save, by name. */
export type NamedTensors = Record<string, Tensor> | ReadonlyMap<string, Tensor>;

const utf8 = new TextEncoder();
const cmpUtf8 = (a: string, b: string): number => Buffer.compare(utf8.encode(a), utf8.encode(b));
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

function checkHost(fn: string): void {
  // Typed arrays use the host's byte order; safetensors is little-endian.
  if (endianness() !== 'LE') throw new SnnkitError(`${fn}: safetensors needs a little-endian host`, 'IO_ERROR');
}

/** Builds the FILE_FORMAT error: which function, which file, what is wrong. */
function formatError(fn: string, where: string, what: string): SnnkitError {
  return new SnnkitError(`${fn}: ${where} is not a valid safetensors file: ${what}`, 'FILE_FORMAT');
}

/** Reads and checks the u64 header length N from the first 8 bytes, against the total length. */
function headerLength(fn: string, where: string, first8: Uint8Array, total: number): number {
  if (total < 8) throw formatError(fn, where, `it is ${total} bytes long, shorter than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw formatError(fn, where, `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (n + 8n > BigInt(total)) throw formatError(fn, where, `header length ${n} runs past the end of the file (${total} bytes)`);
  return Number(n);
}

function parseEntry(fail: (what: string) => SnnkitError, name: string, e: unknown, dataLen: number): SafetensorsTensorInfo {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw fail(`entry '${name}' must be an object with dtype, shape and data_offsets, got ${kind(e)}`);
  const { dtype, shape, data_offsets: offs } = e as Record<string, unknown>;
  for (const [key, v] of [['dtype', dtype], ['shape', shape], ['data_offsets', offs]] as const)
    if (v === undefined) throw fail(`tensor '${name}' has no '${key}'`);
  if (typeof dtype !== 'string') throw fail(`tensor '${name}' has dtype of type ${kind(dtype)}; expected a string`);
  const dt = Object.hasOwn(FILE_DTYPES, dtype) ? FILE_DTYPES[dtype] : undefined;
  if (!dt) throw fail(`tensor '${name}' has unsupported dtype '${dtype}'; supported: ${SUPPORTED}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw fail(`tensor '${name}' has shape ${describeValue(shape)}; expected an array of non-negative integers`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1])
    throw fail(`tensor '${name}' has data_offsets ${describeValue(offs)}; expected [begin, end] with integers 0 <= begin <= end`);
  const [begin, end] = offs as [number, number];
  if (end > dataLen) throw fail(`tensor '${name}' has data_offsets [${begin},${end}] past the end of the data section (${dataLen} bytes)`);
  let bytes = dt.size;
  for (const d of shape as number[]) bytes *= d;
  if (bytes !== end - begin)
    throw fail(`tensor '${name}' has data_offsets [${begin},${end}] (${end - begin} bytes) but ${dtype} [${shape.join(',')}] needs ${bytes} bytes`);
  return { name, dtype, loadsAs: dt.loadsAs, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** Parses the JSON header and checks every entry, and that the tensors tile the data section exactly. */
function parseHeader(fn: string, where: string, headerBytes: Uint8Array, total: number): SafetensorsHeader {
  const fail = (what: string): SnnkitError => formatError(fn, where, what);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail('the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(`the header must be a JSON object, got ${kind(json)}`);
  const dataStart = 8 + headerBytes.byteLength;
  const dataLen = total - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key !== '__metadata__') {
      tensors.push(parseEntry(fail, key, value, dataLen));
      continue;
    }
    if (value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw fail(`'__metadata__' must be an object of strings, got ${kind(value)}`);
    for (const [k, v] of Object.entries(value as object)) {
      if (typeof v !== 'string') throw fail(`'__metadata__' value of '${k}' must be a string, got ${kind(v)}`);
      define(metadata, k, v);
    }
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let pos = 0;
  let prev: SafetensorsTensorInfo | undefined;
  for (const t of tensors) {
    const [begin, end] = t.dataOffsets;
    if (begin < pos)
      throw fail(`tensors '${prev!.name}' [${prev!.dataOffsets.join(',')}] and '${t.name}' [${begin},${end}] overlap`);
    if (begin > pos) throw fail(`bytes ${pos}..${begin} of the data section belong to no tensor (a hole before '${t.name}')`);
    pos = end;
    prev = t;
  }
  if (pos !== dataLen) throw fail(`${dataLen - pos} trailing bytes after the last tensor (tensors end at ${pos}, the data section has ${dataLen} bytes)`);
  return { tensors, metadata, dataStart };
}

// Plain assignment would treat a key such as '__proto__' as the prototype.
function define<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The typed array holding one tensor's bytes (a view when aligned, else a copy; F16/BF16 widened to float32). */
function typedData(dtype: string, bytes: Uint8Array): ArrayBufferView {
  const n = bytes.byteLength;
  if (dtype === 'F16' || dtype === 'BF16') {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
    const out = new Float32Array(n / 2);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) {
      const h = dv.getUint16(2 * i, true);
      if (dtype === 'BF16') bits[i] = h << 16;
      else out[i] = halfToFloat(h);
    }
    return out;
  }
  const Ctor = { F64: Float64Array, F32: Float32Array, I64: BigInt64Array, I32: Int32Array, U8: Uint8Array, BOOL: Uint8Array }[dtype]!;
  const src = bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 ? bytes : new Uint8Array(bytes); // a copy, at offset 0
  return new Ctor(src.buffer as ArrayBuffer, src.byteOffset, n / Ctor.BYTES_PER_ELEMENT);
}

function checkLoadOptions(fn: string, opts: LoadSafetensorsOptions): void {
  if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'float64')
    throw invalidArg(fn, 'opts.dtype', "'float32' or 'float64' (it applies to floating-point tensors only)", opts.dtype);
}

/** Creates the tensors of a validated file; on failure frees those already made. */
function buildTensors(bytes: Uint8Array, header: SafetensorsHeader, opts: LoadSafetensorsOptions): LoadedSafetensors {
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const info of header.tensors) {
      const [b, e] = info.dataOffsets;
      const data = typedData(info.dtype, bytes.subarray(header.dataStart + b, header.dataStart + e));
      let t = tensor(data, info.shape, { dtype: info.loadsAs }).keep();
      made.push(t);
      if (opts.dtype && (t.dtype === 'float32' || t.dtype === 'float64') && t.dtype !== opts.dtype) {
        const converted = t.to(opts.dtype).keep();
        made.push(converted);
        t.dispose();
        t = converted;
      }
      define(tensors, info.name, t);
    }
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Decodes safetensors bytes held in memory.
 * @param bytes the whole file's bytes
 * @param opts dtype: convert floating-point tensors to float32 or float64
 * @returns the tensors (kept: the caller disposes them) and the metadata
 * @throws SnnkitError (FILE_FORMAT) naming what is wrong with the bytes; (INVALID_ARGUMENT) for bad options
 * @example
 * const { tensors, metadata } = decodeSafetensors(await fetchBytes());
 */
export function decodeSafetensors(bytes: Uint8Array, opts: LoadSafetensorsOptions = {}): LoadedSafetensors {
  const fn = 'decodeSafetensors';
  checkHost(fn);
  if (!(bytes instanceof Uint8Array)) throw invalidArg(fn, 'bytes', 'a Uint8Array (or Buffer)', bytes);
  checkLoadOptions(fn, opts);
  const n = headerLength(fn, 'the buffer', bytes, bytes.byteLength);
  const header = parseHeader(fn, 'the buffer', bytes.subarray(8, 8 + n), bytes.byteLength);
  return buildTensors(bytes, header, opts);
}

function checkPath(fn: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg(fn, 'path', 'a non-empty file path', path);
  return path;
}

/**
 * Reads a safetensors file into tensors.
 * @param path the .safetensors file
 * @param opts dtype: convert floating-point tensors to float32 or float64 (integer and bool tensors are unchanged)
 * @returns the tensors by name (kept: the caller disposes them) and the metadata
 * @throws SnnkitError (FILE_NOT_FOUND) naming the path; (FILE_FORMAT) naming the file and what is wrong; (IO_ERROR)
 * @example
 * const { tensors, metadata } = loadSafetensors('model.safetensors', { dtype: 'float32' });
 * try { model.loadStateDict(tensors); } finally { dispose(tensors); }
 */
export function loadSafetensors(path: string, opts: LoadSafetensorsOptions = {}): LoadedSafetensors {
  const fn = 'loadSafetensors';
  checkHost(fn);
  checkPath(fn, path);
  checkLoadOptions(fn, opts);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw readError(fn, path, e);
  }
  const where = `'${path}'`;
  const n = headerLength(fn, where, bytes, bytes.byteLength);
  return buildTensors(bytes, parseHeader(fn, where, bytes.subarray(8, 8 + n), bytes.byteLength), opts);
}

/**
 * Reads and validates only the header of a safetensors file: names, dtypes, shapes, offsets and metadata.
 * @param path the .safetensors file
 * @returns the header, tensors in file order
 * @throws SnnkitError (FILE_NOT_FOUND) naming the path; (FILE_FORMAT) naming the file and what is wrong; (IO_ERROR)
 * @example
 * for (const t of readSafetensorsHeader('model.safetensors').tensors) console.log(t.name, t.dtype, t.shape);
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fn = 'readSafetensorsHeader';
  checkPath(fn, path);
  const where = `'${path}'`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
    const total = fs.fstatSync(fd).size;
    const read = (pos: number, len: number): Uint8Array => {
      const buf = Buffer.alloc(len);
      for (let off = 0; off < len; ) {
        const got = fs.readSync(fd!, buf, off, len - off, pos + off);
        if (got === 0) throw new Error(`unexpected end of file at byte ${pos + off}`);
        off += got;
      }
      return buf;
    };
    const n = headerLength(fn, where, read(0, Math.min(8, total)), total);
    return parseHeader(fn, where, read(8, n), total);
  } catch (e) {
    throw e instanceof SnnkitError ? e : readError(fn, path, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Validates the arguments and lays out the file: [length prefix + header, data of each tensor in order]. */
function encodeChunks(fn: string, tensors: NamedTensors, metadata: Record<string, string> | undefined): Uint8Array[] {
  checkHost(fn);
  let entries: [string, unknown][];
  if (tensors instanceof Map) entries = [...tensors.entries()];
  else if (typeof tensors === 'object' && tensors !== null && !Array.isArray(tensors) && !(tensors instanceof Tensor)) entries = Object.entries(tensors);
  else throw invalidArg(fn, 'tensors', 'a Record<string, Tensor> or Map<string, Tensor>', tensors);
  const items = entries.map(([name, t]) => {
    if (typeof name !== 'string' || name.length === 0) throw invalidArg(fn, 'tensors', 'keyed by non-empty names', name);
    if (name === '__metadata__') throw invalidArg(fn, `tensors['${name}']`, 'named otherwise: __metadata__ is reserved by the format', name);
    if (/\p{Cs}/u.test(name)) // a lone surrogate has no UTF-8 form
      throw invalidArg(fn, 'tensors', 'keyed by well-formed Unicode names', name);
    if (!(t instanceof Tensor) || t.isDisposed) throw invalidArg(fn, `tensors['${name}']`, 'a live Tensor', t);
    return { name, t, dtype: TO_FILE[t.dtype] };
  });
  items.sort((a, b) => FILE_DTYPES[b.dtype]!.rank - FILE_DTYPES[a.dtype]!.rank || cmpUtf8(a.name, b.name));
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      throw invalidArg(fn, 'metadata', 'an object of string values', metadata);
    const keys = Object.keys(metadata).sort(cmpUtf8);
    for (const k of keys) if (typeof metadata[k] !== 'string') throw invalidArg(fn, `metadata['${k}']`, 'a string', metadata[k]);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const { name, t, dtype } of items) {
    const ta = t.toTypedArray();
    const bytes = new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength);
    // Built by hand, not JSON.stringify of an object: objects list integer-like keys ('0', '1') first.
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.byteLength}]}`);
    offset += bytes.byteLength;
    data.push(bytes);
  }
  let header = `{${parts.join(',')}}`;
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const headerBytes = Buffer.byteLength(header);
  const head = Buffer.alloc(8 + headerBytes);
  head.writeBigUInt64LE(BigInt(headerBytes), 0);
  head.write(header, 8, 'utf8');
  return [head, ...data];
}

/**
 * Encodes tensors as safetensors bytes, laid out exactly as the reference writer does.
 * @param tensors the tensors by name (non-empty names; `__metadata__` is reserved)
 * @param metadata string → string metadata, stored as `__metadata__` (keys sorted)
 * @returns the file's bytes
 * @throws SnnkitError (INVALID_ARGUMENT) naming the bad name, tensor or metadata value
 * @example
 * const bytes = encodeSafetensors({ w: tensor([1, 2]) }, { format: 'pt' });
 */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  return Buffer.concat(encodeChunks('encodeSafetensors', tensors, metadata));
}

/**
 * Saves tensors to a safetensors file, atomically (a crash never leaves a half-written file; see writeFileAtomic).
 * @param path the file to write (replaced if it exists; parent directories are created)
 * @param tensors the tensors by name (non-empty names; `__metadata__` is reserved)
 * @param metadata string → string metadata
 * @throws SnnkitError (INVALID_ARGUMENT) naming the bad name, tensor or metadata value; (IO_ERROR) naming the path
 * @example
 * saveSafetensors('ckpt/model.safetensors', model.stateDict(), { epoch: '3' });
 */
export function saveSafetensors(path: string, tensors: NamedTensors, metadata?: Record<string, string>): void {
  const fn = 'saveSafetensors';
  checkPath(fn, path);
  writeFileAtomic(path, encodeChunks(fn, tensors, metadata));
}
