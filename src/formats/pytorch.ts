/**
 * Reads PyTorch `torch.save` checkpoints without executing pickle code: only tensors, dicts, ordered dicts, lists,
 * sets and plain values. Two layouts are read:
 * - zip (torch >= 1.6): `<folder>/data.pkl` whose persistent ids `('storage', type, key, location, numel)` name
 *   storages stored raw in `<folder>/data/<key>`;
 * - legacy (older, or `_use_new_zipfile_serialization=False`): pickles of the magic number, the protocol version and
 *   the system info, the main pickle (persistent ids `('storage', type, root_key, location, numel, view_metadata)`), the
 *   list of storage keys, then each storage as an 8-byte little-endian element count followed by its data.
 * Tensors are rebuilt from storage, offset, size and stride as contiguous copies.
 */
import { readFileBytes } from './read.js';
import { endianness } from 'node:os';
import { SnnkitError, describeValue, invalidArg } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { convertPickled, formatError, unpickle, type DictsAs, type UnpickleHooks } from './pickle.js';
import { isZip, zipEntries, zipEntryData } from './zip.js';

/** A loaded checkpoint. Its tensors are kept (outside any tidy): dispose them, e.g. with `dispose()`. */
export interface TorchCheckpoint {
  /** The unpickled value: dicts as plain objects (or Maps), lists and tuples as arrays, tensors as Tensors. */
  value: unknown;
  /** @returns every tensor in `value`, keyed by its dotted path (e.g. 'state_dict.module.conv1.weight') */
  tensors(): Record<string, Tensor>;
  /** Frees every tensor of the checkpoint. */
  dispose(): void;
}
/** Options of loadTorchCheckpoint. */
export interface LoadTorchOptions {
  /** How dicts are returned: 'object' (default; keys become strings) or 'map' (keys and order exactly as pickled). */
  dicts?: DictsAs;
  /**
   * The most bytes loading may allocate for inflated zip entries, and again for the tensors (a strided view with zero
   * or overlapping strides is stored small but copied out whole). Default: 16 × the file's size, at least 256 MiB, so
   * a small hostile file cannot make a multi-GB allocation; raise it for a checkpoint that legitimately expands more.
   */
  maxBytes?: number;
}
/** Options of torchStateDict. */
export interface TorchStateDictOptions {
  /** The top-level entry holding the state dict (default: the top value, or 'state_dict', 'model_state_dict', 'model'). */
  key?: string;
  /** A prefix removed from every key that has it; 'auto' removes `module.` when every key has it (DataParallel). */
  stripPrefix?: string;
  /** As in LoadTorchOptions. */
  maxBytes?: number;
}

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
const STORAGES: Record<string, RawDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', LongStorage: 'int64',
  IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool', UntypedStorage: 'uint8',
};
const ITEM: Record<RawDType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };
const REBUILDS = new Set(['torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state', 'collections.OrderedDict', 'builtins.set', '__builtin__.set']);
const ALLOWED = `${[...REBUILDS].join(', ')}, torch.<Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool>Storage, `
  + 'torch.storage.UntypedStorage, torch.storage.TypedStorage';

type RawDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
/** A persistent-id storage: elements [elemOffset, elemOffset + numel) of the stored data under `key`. */
interface StorageRef { key: string; dtype: RawDType; elemOffset: number; numel: number }
/** A tensor as pickled, before its data is read. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}
/** An allowed Python global, as an inert marker. */
class Global {
  constructor(readonly qualified: string, readonly dtype?: RawDType) {}
}

function unsafe(fn: string, where: string, what: string): SnnkitError {
  return new SnnkitError(`${fn}: ${where} ${what}, which snnkit will not load: snnkit does not execute pickle code and reads only `
    + `tensors, dicts, ordered dicts, lists and plain values (allowed globals: ${ALLOWED})`, 'UNSAFE_PICKLE');
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

/** The policy: which globals exist, what REDUCE and BUILD may do, and how storages are named. */
function torchHooks(fn: string, where: string, storages: Map<string, { dtype: RawDType; numel: number }>): UnpickleHooks {
  const fail = (what: string): SnnkitError => formatError(fn, where, what);
  return {
    fn, where,
    global(module, name) {
      const q = `${module}.${name}`;
      if (REBUILDS.has(q)) return new Global(q);
      if (module === 'torch' && Object.hasOwn(STORAGES, name)) return new Global(q, STORAGES[name]);
      if (module === 'torch.storage' && name === 'UntypedStorage') return new Global(q, 'uint8');
      if (module === 'torch.storage' && name === 'TypedStorage') return new Global(q);
      throw unsafe(fn, where, `refers to the Python global '${q}'`);
    },
    reduce(callable, args) {
      if (!(callable instanceof Global)) throw unsafe(fn, where, 'calls (REDUCE) a value that is not a global');
      const q = callable.qualified;
      if (q === 'collections.OrderedDict') {
        const pairs = args[0] ?? [];
        if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2)) throw fail('OrderedDict(...) has arguments that are not (key, value) pairs');
        return new Map(pairs as [unknown, unknown][]);
      }
      if (q === 'builtins.set' || q === '__builtin__.set') {
        if (args.length > 0 && !Array.isArray(args[0])) throw fail('set(...) has an argument that is not a list');
        return new Set((args[0] as unknown[] | undefined) ?? []);
      }
      if (q === 'torch._utils._rebuild_parameter' || q === 'torch._utils._rebuild_parameter_with_state') {
        if (!(args[0] instanceof TensorRef)) throw fail(`${q}(...) has a first argument that is not a tensor`);
        return args[0];
      }
      if (q === 'torch._utils._rebuild_tensor' || q === 'torch._utils._rebuild_tensor_v2') {
        const [storage, offset, size, stride] = args;
        if (typeof storage !== 'object' || storage === null || !('key' in storage)) throw fail(`${q}(...) has a first argument that is not a storage`);
        if (!isInt(offset) || !isInts(size) || !isInts(stride) || size.length !== stride.length)
          throw fail(`${q}(...) needs an integer offset and size and stride tuples of one length, got offset ${describeValue(offset)}, size ${describeValue(size)}, stride ${describeValue(stride)}`);
        return new TensorRef(storage as StorageRef, offset, [...size], [...stride]);
      }
      throw unsafe(fn, where, `calls (REDUCE) the global '${q}'`);
    },
    build(obj, state) {
      // OrderedDict state is a state dict's `_metadata` (module versions): not needed to read the tensors.
      if (obj instanceof Map) return;
      throw unsafe(fn, where, `sets the state (BUILD) of ${obj instanceof Global ? `'${obj.qualified}'` : 'a value'} to ${typeof state}`);
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw fail(`persistent id ${describeValue(pid)} is not ('storage', type, key, location, numel)`);
      const [, type, key, , numel, view] = pid as unknown[];
      if (!(type instanceof Global) || (type.dtype === undefined)) throw fail(`storage '${String(key)}' has no known storage type (a TypedStorage without dtype?)`);
      if (typeof key !== 'string' || !isInt(numel)) throw fail(`storage persistent id has key ${String(key)} and numel ${String(numel)}; expected a string and an integer`);
      const known = storages.get(key);
      if (known && known.dtype !== type.dtype) throw fail(`storage '${key}' is used as both ${known.dtype} and ${type.dtype}`);
      storages.set(key, { dtype: type.dtype, numel: Math.max(numel, known?.numel ?? 0) });
      if (view !== undefined && view !== null) {
        if (!Array.isArray(view) || view.length !== 3 || !isInt(view[1]) || !isInt(view[2])) throw fail(`storage '${key}' has view metadata ${describeValue(view)}; expected (key, offset, size)`);
        return { key, dtype: type.dtype, elemOffset: view[1], numel: view[2] } satisfies StorageRef;
      }
      return { key, dtype: type.dtype, elemOffset: 0, numel } satisfies StorageRef;
    },
  };
}

interface Parsed { value: unknown; data: Map<string, Uint8Array> }

function readLegacy(fn: string, where: string, bytes: Uint8Array): Parsed {
  const fail = (what: string): SnnkitError => formatError(fn, where, what);
  if (bytes[0] !== 0x80) throw fail(`it is neither a zip archive nor a legacy torch.save file (it starts with bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  const storages = new Map<string, { dtype: RawDType; numel: number }>();
  const hooks = torchHooks(fn, where, storages);
  const magic = unpickle(bytes, 0, hooks);
  if (magic.value !== MAGIC) throw fail(`wrong magic number ${typeof magic.value === 'bigint' ? `0x${magic.value.toString(16)}` : describeValue(magic.value)}; expected 0x${MAGIC.toString(16)}`);
  const proto = unpickle(bytes, magic.end, hooks);
  if (proto.value !== PROTOCOL_VERSION) throw fail(`protocol version ${String(proto.value)} is not supported (expected ${PROTOCOL_VERSION})`);
  const sys = unpickle(bytes, proto.end, hooks);
  if (sys.value instanceof Map && sys.value.get('little_endian') === false) throw fail('it was written on a big-endian machine, which snnkit does not read');
  const main = unpickle(bytes, sys.end, hooks);
  const keys = unpickle(bytes, main.end, hooks);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw fail('the list of storage keys after the main pickle is not a list of strings');
  const data = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const info = storages.get(key);
    if (!info) throw fail(`storage '${key}' is listed but never used by a tensor`);
    if (bytes.length - pos < 8) throw fail(`it is truncated: the size of storage '${key}' at byte ${pos} is missing`);
    const count = Buffer.from(bytes.buffer, bytes.byteOffset + pos, 8).readBigUInt64LE();
    const len = count * BigInt(ITEM[info.dtype]);
    if (len > BigInt(bytes.length - pos - 8)) throw fail(`it is truncated: storage '${key}' needs ${len} bytes at byte ${pos + 8}, but the file ends at ${bytes.length}`);
    data.set(key, bytes.subarray(pos + 8, pos + 8 + Number(len)));
    pos += 8 + Number(len);
  }
  for (const key of storages.keys()) if (!data.has(key)) throw fail(`storage '${key}' is used by a tensor but its data is missing`);
  return { value: main.value, data };
}

function readZip(fn: string, where: string, bytes: Uint8Array, maxBytes: number): Parsed {
  const fail = (what: string): SnnkitError => formatError(fn, where, what);
  const entries = zipEntries(bytes, fail);
  const names = entries.map((e) => e.name);
  const pkl = entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) throw fail(`the zip archive has no '<folder>/data.pkl' (entries: ${names.slice(0, 8).join(', ') || 'none'}${names.length > 8 ? ', ...' : ''})`);
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  let inflated = 0;
  const read = (name: string): Uint8Array | undefined => {
    const e = byName.get(name);
    if (!e) return undefined;
    if (e.method !== 0 && (inflated += e.size) > maxBytes) {
      throw fail(`its compressed entries would expand to more than ${maxBytes} bytes (opts.maxBytes); at '${name}'`);
    }
    return zipEntryData(bytes, e, fail);
  };
  const order = read(`${prefix}byteorder`);
  if (order && Buffer.from(order).toString() !== 'little') throw fail(`its byteorder is '${Buffer.from(order).toString()}'; snnkit reads little-endian checkpoints only`);
  const storages = new Map<string, { dtype: RawDType; numel: number }>();
  const { value } = unpickle(read(pkl.name)!, 0, torchHooks(fn, where, storages));
  const data = new Map<string, Uint8Array>();
  for (const [key, info] of storages) {
    const d = read(`${prefix}data/${key}`);
    if (!d) throw fail(`storage '${key}' has no entry '${prefix}data/${key}'`);
    if (d.length < info.numel * ITEM[info.dtype]) throw fail(`'${prefix}data/${key}' has ${d.length} bytes; ${info.numel} ${info.dtype} elements need ${info.numel * ITEM[info.dtype]}`);
    data.set(key, d);
  }
  return { value, data };
}

/**
 * Copies a (possibly strided) tensor out of its storage into a new contiguous snnkit tensor: the storage's used
 * elements become a 1-D tensor, and libtorch copies the strided view of it (zero and overlapping strides included).
 * `budget.left` (bytes) bounds the total size of the tensors made.
 */
function materialize(fn: string, where: string, ref: TensorRef, data: Map<string, Uint8Array>, budget: { left: number; max: number }): Tensor {
  const { storage, size, stride } = ref;
  const s = ITEM[storage.dtype];
  const raw = data.get(storage.key)!;
  const n = size.reduce((a, b) => a * b, 1);
  const avail = Math.min(Math.floor(raw.length / s) - storage.elemOffset, storage.numel);
  const last = n === 0 ? -1 : ref.offset + size.reduce((a, d, i) => a + (d - 1) * stride[i]!, 0);
  const shape = `size [${size.join(',')}], stride [${stride.join(',')}] and offset ${ref.offset}`;
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(last) || last >= avail) throw formatError(fn, where, `a tensor of ${shape} reaches past the end of storage '${storage.key}'`);
  const outBytes = n * (storage.dtype === 'float16' || storage.dtype === 'bfloat16' || storage.dtype === 'int16' || storage.dtype === 'int8' ? 4 : s);
  if (outBytes > budget.left) {
    throw formatError(fn, where, `a tensor of ${shape} needs ${outBytes} bytes, and the file's tensors may take at most ${budget.max} in all `
      + '(opts.maxBytes; a view with zero or overlapping strides is stored small but copied out whole)');
  }
  budget.left -= outBytes;
  const start = storage.elemOffset * s;
  const flat = fromStorage(new Uint8Array(raw.subarray(start, start + (last + 1) * s)), storage.dtype);
  const view = flat.asStrided(size, stride, ref.offset);
  try {
    return view.contiguous();
  } finally {
    view.dispose();
    flat.dispose();
  }
}

/** A 1-D tensor of the storage bytes (a fresh, aligned copy), widened to a dtype snnkit has. */
function fromStorage(bytes: Uint8Array, dtype: RawDType): Tensor {
  const buf = bytes.buffer as ArrayBuffer;
  switch (dtype) {
    case 'float32': return tensor(new Float32Array(buf), { dtype: 'float32' });
    case 'float64': return tensor(new Float64Array(buf), { dtype: 'float64' });
    case 'int64': return tensor(new BigInt64Array(buf), { dtype: 'int64' });
    case 'int32': return tensor(new Int32Array(buf), { dtype: 'int32' });
    case 'int16': return tensor(Int32Array.from(new Int16Array(buf)), { dtype: 'int32' });
    case 'int8': return tensor(Int32Array.from(new Int8Array(buf)), { dtype: 'int32' });
    case 'uint8': return tensor(bytes, { dtype: 'uint8' });
    case 'bool': return tensor(bytes, { dtype: 'bool' });
    case 'float16': case 'bfloat16': return tensor(widenHalf(new Uint16Array(buf), dtype), { dtype: 'float32' });
  }
}

function widenHalf(h: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  const out = new Float32Array(h.length);
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
    return out;
  }
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!, sign = v & 0x8000 ? -1 : 1, exp = (v >> 10) & 0x1f, mant = v & 0x3ff;
    out[i] = exp === 0 ? sign * mant * 2 ** -24 : exp === 31 ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/**
 * Reads a `torch.save` checkpoint (zip or legacy format) without executing any pickle code.
 * @param path the checkpoint file (.pt, .pth, .th, .ckpt)
 * @param opts dicts: 'object' (default) or 'map'
 * @returns the value (tensors kept: dispose them, e.g. with `ckpt.dispose()`) and an accessor for all its tensors
 * @throws SnnkitError (FILE_NOT_FOUND) naming the path; (UNSAFE_PICKLE) naming a global or opcode that would run
 *   code; (FILE_FORMAT) naming the file and what is malformed or truncated; (INVALID_ARGUMENT) for bad options
 * @example
 * const ckpt = loadTorchCheckpoint('resnet20.th');
 * console.log((ckpt.value as { best_prec1: number }).best_prec1); ckpt.dispose();
 */
export function loadTorchCheckpoint(path: string, opts: LoadTorchOptions = {}): TorchCheckpoint {
  return load('loadTorchCheckpoint', path, opts);
}

function load(fn: string, path: string, opts: LoadTorchOptions): TorchCheckpoint {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg(fn, 'path', 'a non-empty file path', path);
  if (opts.dicts !== undefined && opts.dicts !== 'object' && opts.dicts !== 'map') throw invalidArg(fn, 'opts.dicts', "'object' or 'map'", opts.dicts);
  if (opts.maxBytes !== undefined && !(Number.isSafeInteger(opts.maxBytes) && opts.maxBytes >= 0)) throw invalidArg(fn, 'opts.maxBytes', 'a non-negative integer', opts.maxBytes);
  if (endianness() !== 'LE') throw new SnnkitError(`${fn}: PyTorch checkpoints are read on little-endian hosts only`, 'IO_ERROR');
  const bytes = readFileBytes(fn, path);
  const where = `'${path}'`;
  if (bytes.length === 0) throw formatError(fn, where, 'the file is empty');
  const maxBytes = opts.maxBytes ?? Math.max(256 * 2 ** 20, 16 * bytes.length);
  const { value, data } = isZip(bytes) ? readZip(fn, where, bytes, maxBytes) : readLegacy(fn, where, bytes);
  const budget = { left: maxBytes, max: maxBytes };
  const made: Tensor[] = [];
  try {
    const converted = convertPickled(value, opts.dicts ?? 'object', (v) => {
      // A bare storage (not a tensor) becomes the 1-D tensor of its elements.
      const ref = v instanceof TensorRef ? v : 'key' in v && 'elemOffset' in v ? new TensorRef(v as StorageRef, 0, [(v as StorageRef).numel], [1]) : undefined;
      if (!ref) return undefined;
      const t = materialize(fn, where, ref, data, budget).keep();
      made.push(t);
      return t;
    }, (what) => formatError(fn, where, what));
    return { value: converted, tensors: () => collectTensors(converted), dispose: () => made.forEach((t) => t.dispose()) };
  } catch (e) {
    made.forEach((t) => t.dispose());
    throw e;
  }
}

/**
 * Reads the state dict of a `torch.save` checkpoint: the top value when it is a dict of tensors, else the entry
 * `opts.key`, 'state_dict', 'model_state_dict' or 'model'. Nested dicts are flattened with dots.
 * @param path the checkpoint file
 * @param opts key: the entry holding the state dict; stripPrefix: a key prefix to remove, or 'auto' for `module.`
 * @returns the tensors by name (kept: the caller disposes them); every other tensor of the file is freed
 * @throws SnnkitError as loadTorchCheckpoint; (FILE_FORMAT) when no state dict is found or it holds non-tensors
 * @example
 * const sd = torchStateDict('resnet20.th', { stripPrefix: 'auto' });
 * model.loadStateDict(sd, { strict: true }); dispose(sd);
 */
export function torchStateDict(path: string, opts: TorchStateDictOptions = {}): Record<string, Tensor> {
  const fn = 'torchStateDict';
  if (opts.key !== undefined && typeof opts.key !== 'string') throw invalidArg(fn, 'opts.key', 'a string', opts.key);
  if (opts.stripPrefix !== undefined && typeof opts.stripPrefix !== 'string') throw invalidArg(fn, 'opts.stripPrefix', "a string or 'auto'", opts.stripPrefix);
  const ckpt = load(fn, path, { dicts: 'map', ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }) });
  try {
    const sd = findStateDict(fn, `'${path}'`, ckpt.value, opts.key, opts.stripPrefix);
    const keep = new Set(Object.values(sd));
    for (const t of Object.values(ckpt.tensors())) if (!keep.has(t)) t.dispose();
    return sd;
  } catch (e) {
    ckpt.dispose();
    throw e;
  }
}

/** Every tensor under `value`, keyed by its dotted path; a tensor reached twice is listed under its first path. */
function collectTensors(value: unknown): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    const at = (k: unknown): string => (path ? `${path}.${String(k)}` : String(k));
    if (v instanceof Tensor) Object.defineProperty(out, path, { value: v, enumerable: true, writable: true, configurable: true });
    else if (v instanceof Map) for (const [k, x] of v) walk(x, at(k));
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, at(i)));
    else if (!(v instanceof Set) && !(v instanceof Uint8Array)) for (const [k, x] of Object.entries(v)) walk(x, at(k));
  };
  walk(value, '');
  return out;
}

/** True for a non-empty dict whose leaves (through nested dicts) are all tensors; each dict is judged once. */
function isTensorDict(v: unknown, known = new Map<unknown, boolean>()): boolean {
  if (!(v instanceof Map)) return false;
  let yes = known.get(v);
  if (yes === undefined) {
    yes = v.size > 0 && [...v.values()].every((x) => x instanceof Tensor || isTensorDict(x, known));
    known.set(v, yes);
  }
  return yes;
}

/** The first keys of a dict, for a message. */
function listKeys(m: Map<unknown, unknown>): string {
  const keys = [...m.keys()].slice(0, 10).map((k) => (typeof k === 'string' ? k.slice(0, 60) : describeValue(k)));
  return `${keys.join(', ')}${m.size > 10 ? `, ... (${m.size} keys)` : ''}`;
}

/** Finds the state dict in a checkpoint loaded with dicts as Maps, flattens it with dots and strips the prefix. */
function findStateDict(fn: string, where: string, value: unknown, key: string | undefined, strip: string | undefined): Record<string, Tensor> {
  const top = value instanceof Map ? value : undefined;
  let sd: unknown;
  if (key !== undefined) {
    if (!top?.has(key)) throw invalidArg(fn, 'opts.key', `a top-level key of ${where} (${top ? listKeys(top) : 'its top value is not a dict'})`, key);
    sd = top.get(key);
  } else if (isTensorDict(top)) sd = top;
  else sd = ['state_dict', 'model_state_dict', 'model'].map((k) => top?.get(k)).find((x) => isTensorDict(x));
  if (!(sd instanceof Map)) {
    const keys = top ? `top-level keys: ${listKeys(top)}` : 'the top value is not a dict';
    throw formatError(fn, where, `no state dict found (${keys}); pass opts.key to name the entry that holds it`);
  }
  const flat: [string, Tensor][] = [];
  const seen = new Set<Map<unknown, unknown>>();
  const walk = (m: Map<unknown, unknown>, path: string): void => {
    if (seen.has(m)) throw formatError(fn, where, `state dict entry '${path.slice(0, -1)}' is the same dict as another entry`);
    seen.add(m);
    for (const [k, x] of m) {
      const name = path + String(k);
      if (x instanceof Tensor) flat.push([name, x]);
      else if (x instanceof Map) walk(x, `${name}.`);
      else throw formatError(fn, where, `state dict entry '${name}' is ${x === null ? 'None' : typeof x}, not a tensor`);
    }
  };
  walk(sd, '');
  const prefix = strip === 'auto' ? (flat.length > 0 && flat.every(([k]) => k.startsWith('module.')) ? 'module.' : '') : strip ?? '';
  const out: Record<string, Tensor> = {};
  for (const [k, t] of flat) {
    const name = prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (Object.hasOwn(out, name)) throw formatError(fn, where, `two entries are named '${name}' after removing the prefix '${prefix}'`);
    Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
