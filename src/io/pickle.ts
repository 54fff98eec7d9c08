/**
 * A restricted reader for Python pickles (protocols 2–5), enough for PyTorch checkpoints. It never imports or calls
 * anything: GLOBAL, REDUCE, BUILD and BINPERSID are handed to hooks, which turn the few allowed globals into inert
 * data and reject everything else. Opcodes that build arbitrary objects (INST, OBJ, NEWOBJ, EXT*) are refused.
 * Dicts become Maps, lists arrays, tuples frozen arrays, sets Sets, bytes Uint8Arrays, integers numbers (bigint
 * beyond 2^53), None null.
 */
import { SnnkitError } from '../errors.js';

/** How the unpickler asks the caller about the parts of a pickle that could run code. */
export interface UnpickleHooks {
  /** The public function, for error messages, e.g. 'loadTorchCheckpoint'. */
  fn: string;
  /** The file, quoted, for error messages. */
  where: string;
  /** GLOBAL / STACK_GLOBAL: an inert marker for an allowed global; throws for any other. */
  global(module: string, name: string): unknown;
  /** REDUCE: the value of calling an allowed marker with `args`; throws for anything else. */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** BUILD: apply `state` to `obj` (in place); throws when not allowed. */
  build(obj: unknown, state: unknown): void;
  /** BINPERSID: the object a persistent id refers to. */
  persistentLoad(pid: unknown): unknown;
}

/** What one pickle decodes to, and where the next byte after its STOP is. */
export interface Unpickled {
  value: unknown;
  end: number;
}

const MARK = Symbol('pickle mark');
const CODE_OPS: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x50: 'PERSID',
};
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/**
 * Builds the FILE_FORMAT error of a malformed checkpoint.
 * @param fn the public function
 * @param where the file, quoted
 * @param what what is wrong
 * @returns the error
 */
export function formatError(fn: string, where: string, what: string): SnnkitError {
  return new SnnkitError(`${fn}: ${where} is not a valid PyTorch checkpoint: ${what}`, 'FILE_FORMAT');
}

/**
 * Decodes one pickle starting at `start`, up to and including its STOP opcode.
 * @param bytes the buffer holding the pickle
 * @param start the offset of its first opcode
 * @param hooks the policy for globals, REDUCE, BUILD and persistent ids
 * @returns the value and the offset just after STOP
 * @throws SnnkitError (FILE_FORMAT) for truncated or malformed pickles and unsupported opcodes; (UNSAFE_PICKLE) for
 *   opcodes that build arbitrary objects, and whatever the hooks throw
 * @example
 * const { value, end } = unpickle(bytes, 0, hooks);
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: UnpickleHooks): Unpickled {
  const fail = (what: string): SnnkitError => formatError(hooks.fn, hooks.where, what);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  const need = (n: number): void => {
    if (n > bytes.length - pos) throw fail(`it is truncated: a pickle needs ${n} more byte(s) at byte ${pos}, but the file ends at ${bytes.length}`);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = (): number => take(1)[0]!;
  const u32 = (): number => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw fail(`a length of ${v} at byte ${pos - 8} runs past the end of the file (${bytes.length} bytes)`);
    return Number(v);
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      throw fail(`a string at byte ${pos - b.length} is not valid UTF-8`);
    }
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) throw fail(`it is truncated: a GLOBAL name at byte ${pos} has no terminating newline`);
    const s = latin1.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) throw fail(`the pickle pops an empty stack at byte ${pos - 1}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) throw fail(`the pickle reads an empty stack at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw fail(`an opcode at byte ${pos - 1} needs a MARK that was never pushed`);
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const list = (op: string): unknown[] => {
    const l = top();
    if (!Array.isArray(l) || Object.isFrozen(l)) throw fail(`${op} at byte ${pos - 1} appends to something that is not a list`);
    return l;
  };
  const dict = (op: string): Map<unknown, unknown> => {
    const d = top();
    if (!(d instanceof Map)) throw fail(`${op} at byte ${pos - 1} sets items on something that is not a dict`);
    return d;
  };
  const setItems = (d: Map<unknown, unknown>, kv: unknown[]): void => {
    if (kv.length % 2) throw fail(`SETITEMS at byte ${pos - 1} has an odd number of keys and values`);
    for (let i = 0; i < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  const put = (idx: number): void => void memo.set(idx, top());
  const get = (idx: number): void => {
    if (!memo.has(idx)) throw fail(`the pickle refers to memo entry ${idx} at byte ${pos - 1}, which was never stored`);
    stack.push(memo.get(idx));
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v < 2 || v > 5) throw fail(`pickle protocol ${v} is not supported (expected 2 to 5)`);
        break;
      }
      case 0x95: take(8); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x28: stack.push(MARK); break; // MARK
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(take(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(take(u32()))); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(new Uint8Array(take(u32()))); break; // BINBYTES
      case 0x43: stack.push(new Uint8Array(take(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(new Uint8Array(take(u64()))); break; // BINBYTES8
      case 0x4a: need(4); stack.push(dv.getInt32(pos, true)); pos += 4; break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: need(2); stack.push(dv.getUint16(pos, true)); pos += 2; break; // BININT2
      case 0x8a: stack.push(decodeLong(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = u32();
        if (n > 64) throw fail(`a LONG4 integer of ${n} bytes at byte ${pos} is larger than any checkpoint needs`);
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x47: need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push(Object.freeze([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push(Object.freeze([pop(), b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const kv = popMark(); const d = new Map(); setItems(d, kv); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); dict('SETITEM').set(k, v); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(dict('SETITEMS'), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); list('APPEND').push(v); break; } // APPEND
      case 0x65: { const vs = popMark(); const l = list('APPENDS'); for (const v of vs) l.push(v); break; } // APPENDS
      case 0x90: { // ADDITEMS
        const vs = popMark();
        const s = top();
        if (!(s instanceof Set)) throw fail(`ADDITEMS at byte ${pos - 1} adds to something that is not a set`);
        for (const v of vs) s.add(v);
        break;
      }
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x30: if (stack[stack.length - 1] === MARK) stack.pop(); else pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x63: { const module = line(); stack.push(hooks.global(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail(`STACK_GLOBAL at byte ${pos - 1} needs two strings`);
        stack.push(hooks.global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) throw fail(`REDUCE at byte ${pos - 1} has arguments that are not a tuple`);
        stack.push(hooks.reduce(callable, args));
        break;
      }
      case 0x62: { const state = pop(); hooks.build(top(), state); break; } // BUILD
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      default: {
        const at = `at byte ${pos - 1}`;
        if (CODE_OPS[op]) {
          throw new SnnkitError(`${hooks.fn}: ${hooks.where} uses the pickle opcode ${CODE_OPS[op]} ${at}, which builds arbitrary `
            + 'Python objects; snnkit does not execute pickle code and reads only tensors, dicts, lists and plain values', 'UNSAFE_PICKLE');
        }
        throw fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} ${at} is not supported (snnkit reads the subset of pickle that torch.save writes)`);
      }
    }
  }
}

/** A little-endian two's-complement integer: a number when it is safe, else a bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** How converted dicts are returned: plain objects (keys as strings) or Maps (keys and order as pickled). */
export type DictsAs = 'object' | 'map';

/** Containers nested deeper than this are refused: no checkpoint needs it, and the walkers recurse. */
export const MAX_PICKLE_NESTING = 256;

/**
 * Converts unpickled data to plain JavaScript values: dicts to objects or Maps, tuples to (unfrozen) arrays. Shared
 * references stay shared; each object is converted once. Cycles (a container inside itself) and nesting deeper than
 * MAX_PICKLE_NESTING are refused, so every later walk of the result ends.
 * @param value the unpickled value
 * @param dicts 'object' or 'map'
 * @param leaf replaces a non-container object (e.g. a tensor reference); returns undefined to keep it as it is
 * @param fail builds the caller's typed error
 * @returns the converted value
 * @throws what `fail` builds for a cycle or too deep a nesting
 * @example
 * const plain = convertPickled(value, 'object', (v) => (v instanceof Ref ? load(v) : undefined), fail);
 */
export function convertPickled(value: unknown, dicts: DictsAs, leaf: (v: object) => unknown, fail: (what: string) => Error): unknown {
  const done = new Map<object, unknown>();
  const open = new Set<object>();
  const conv = (v: unknown, depth: number): unknown => {
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
    if (done.has(v)) return done.get(v);
    if (open.has(v)) throw fail('the pickle holds a container inside itself (a cycle), which no checkpoint needs');
    if (depth > MAX_PICKLE_NESTING) throw fail(`the pickle nests containers more than ${MAX_PICKLE_NESTING} deep`);
    open.add(v);
    const out = convContainer(v, dicts, (x) => conv(x, depth + 1)) ?? leaf(v) ?? v;
    open.delete(v);
    done.set(v, out);
    return out;
  };
  return conv(value, 0);
}

/** One container converted with `conv` for its items; undefined for a non-container. */
function convContainer(v: object, dicts: DictsAs, conv: (x: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map(conv);
  if (v instanceof Set) return new Set([...v].map(conv));
  if (!(v instanceof Map)) return undefined;
  if (dicts === 'map') return new Map([...v].map(([k, x]) => [conv(k), conv(x)]));
  const out: Record<string, unknown> = {};
  // defineProperty: plain assignment would treat a key such as '__proto__' as the prototype.
  for (const [k, x] of v) Object.defineProperty(out, String(k), { value: conv(x), enumerable: true, writable: true, configurable: true });
  return out;
}
