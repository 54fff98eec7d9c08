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
  return new Unpickler(bytes, start, hooks).run();
}

/** The state of one unpickling: the bytes, the position, the stack and the memo, with one method per opcode group. */
class Unpickler {
  private readonly dv: DataView;
  private readonly stack: unknown[] = [];
  private readonly memo = new Map<number, unknown>();
  private pos: number;

  constructor(private readonly bytes: Uint8Array, start: number, private readonly hooks: UnpickleHooks) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  private fail(what: string): SnnkitError {
    return formatError(this.hooks.fn, this.hooks.where, what);
  }
  private need(n: number): void {
    if (n > this.bytes.length - this.pos) throw this.fail(`it is truncated: a pickle needs ${n} more byte(s) at byte ${this.pos}, but the file ends at ${this.bytes.length}`);
  }
  private take(n: number): Uint8Array {
    this.need(n);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }
  private u8(): number { return this.take(1)[0]!; }
  private u32(): number {
    this.need(4);
    this.pos += 4;
    return this.dv.getUint32(this.pos - 4, true);
  }
  private u64(): number {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.bytes.length)) throw this.fail(`a length of ${v} at byte ${this.pos - 8} runs past the end of the file (${this.bytes.length} bytes)`);
    return Number(v);
  }
  private text(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      throw this.fail(`a string at byte ${this.pos - b.length} is not valid UTF-8`);
    }
  }
  private line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) throw this.fail(`it is truncated: a GLOBAL name at byte ${this.pos} has no terminating newline`);
    const s = latin1.decode(this.bytes.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }
  private pop(): unknown {
    if (this.stack.length === 0 || this.stack[this.stack.length - 1] === MARK) throw this.fail(`the pickle pops an empty stack at byte ${this.pos - 1}`);
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0 || this.stack[this.stack.length - 1] === MARK) throw this.fail(`the pickle reads an empty stack at byte ${this.pos - 1}`);
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) throw this.fail(`an opcode at byte ${this.pos - 1} needs a MARK that was never pushed`);
    const items = this.stack.splice(i + 1);
    this.stack.pop();
    return items;
  }
  private list(op: string): unknown[] {
    const l = this.top();
    if (!Array.isArray(l) || Object.isFrozen(l)) throw this.fail(`${op} at byte ${this.pos - 1} appends to something that is not a list`);
    return l;
  }
  private dict(op: string): Map<unknown, unknown> {
    const d = this.top();
    if (!(d instanceof Map)) throw this.fail(`${op} at byte ${this.pos - 1} sets items on something that is not a dict`);
    return d;
  }
  private setItems(d: Map<unknown, unknown>, kv: unknown[]): void {
    if (kv.length % 2) throw this.fail(`SETITEMS at byte ${this.pos - 1} has an odd number of keys and values`);
    for (let i = 0; i < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  }
  private get(idx: number): void {
    if (!this.memo.has(idx)) throw this.fail(`the pickle refers to memo entry ${idx} at byte ${this.pos - 1}, which was never stored`);
    this.stack.push(this.memo.get(idx));
  }

  run(): Unpickled {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e) return { value: this.pop(), end: this.pos }; // STOP
      if (this.value(op) || this.container(op) || this.control(op)) continue;
      const at = `at byte ${this.pos - 1}`;
      if (CODE_OPS[op]) {
        throw new SnnkitError(`${this.hooks.fn}: ${this.hooks.where} uses the pickle opcode ${CODE_OPS[op]} ${at}, which builds arbitrary `
          + 'Python objects; snnkit does not execute pickle code and reads only tensors, dicts, lists and plain values', 'UNSAFE_PICKLE');
      }
      throw this.fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} ${at} is not supported (snnkit reads the subset of pickle that torch.save writes)`);
    }
  }

  /** Opcodes that push a plain value. @returns whether `op` was one */
  private value(op: number): boolean {
    const { stack, dv } = this;
    switch (op) {
      case 0x58: stack.push(this.text(this.take(this.u32()))); return true; // BINUNICODE
      case 0x8c: stack.push(this.text(this.take(this.u8()))); return true; // SHORT_BINUNICODE
      case 0x8d: stack.push(this.text(this.take(this.u64()))); return true; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(this.take(this.u32()))); return true; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1.decode(this.take(this.u8()))); return true; // SHORT_BINSTRING
      case 0x42: stack.push(new Uint8Array(this.take(this.u32()))); return true; // BINBYTES
      case 0x43: stack.push(new Uint8Array(this.take(this.u8()))); return true; // SHORT_BINBYTES
      case 0x8e: stack.push(new Uint8Array(this.take(this.u64()))); return true; // BINBYTES8
      case 0x4a: this.need(4); stack.push(dv.getInt32(this.pos, true)); this.pos += 4; return true; // BININT
      case 0x4b: stack.push(this.u8()); return true; // BININT1
      case 0x4d: this.need(2); stack.push(dv.getUint16(this.pos, true)); this.pos += 2; return true; // BININT2
      case 0x8a: stack.push(decodeLong(this.take(this.u8()))); return true; // LONG1
      case 0x8b: { // LONG4
        const n = this.u32();
        if (n > 64) throw this.fail(`a LONG4 integer of ${n} bytes at byte ${this.pos} is larger than any checkpoint needs`);
        stack.push(decodeLong(this.take(n)));
        return true;
      }
      case 0x47: this.need(8); stack.push(dv.getFloat64(this.pos, false)); this.pos += 8; return true; // BINFLOAT (big-endian)
      case 0x4e: stack.push(null); return true; // NONE
      case 0x88: stack.push(true); return true; // NEWTRUE
      case 0x89: stack.push(false); return true; // NEWFALSE
      default: return false;
    }
  }

  /** Opcodes that build or fill tuples, lists, dicts and sets. @returns whether `op` was one */
  private container(op: number): boolean {
    const { stack } = this;
    switch (op) {
      case 0x7d: stack.push(new Map()); return true; // EMPTY_DICT
      case 0x5d: stack.push([]); return true; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); return true; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); return true; // EMPTY_SET
      case 0x74: stack.push(Object.freeze(this.popMark())); return true; // TUPLE
      case 0x85: stack.push(Object.freeze([this.pop()])); return true; // TUPLE1
      case 0x86: { const b = this.pop(); stack.push(Object.freeze([this.pop(), b])); return true; } // TUPLE2
      case 0x87: { const c = this.pop(); const b = this.pop(); stack.push(Object.freeze([this.pop(), b, c])); return true; } // TUPLE3
      case 0x6c: stack.push(this.popMark()); return true; // LIST
      case 0x64: { const kv = this.popMark(); const d = new Map(); this.setItems(d, kv); stack.push(d); return true; } // DICT
      case 0x73: { const v = this.pop(); const k = this.pop(); this.dict('SETITEM').set(k, v); return true; } // SETITEM
      case 0x75: { const kv = this.popMark(); this.setItems(this.dict('SETITEMS'), kv); return true; } // SETITEMS
      case 0x61: { const v = this.pop(); this.list('APPEND').push(v); return true; } // APPEND
      case 0x65: { const vs = this.popMark(); const l = this.list('APPENDS'); for (const v of vs) l.push(v); return true; } // APPENDS
      case 0x90: { // ADDITEMS
        const vs = this.popMark();
        const s = this.top();
        if (!(s instanceof Set)) throw this.fail(`ADDITEMS at byte ${this.pos - 1} adds to something that is not a set`);
        for (const v of vs) s.add(v);
        return true;
      }
      default: return false;
    }
  }

  /** Framing, the memo, the stack, and the opcodes handed to the hooks. @returns whether `op` was one */
  private control(op: number): boolean {
    const { stack, hooks } = this;
    switch (op) {
      case 0x80: { // PROTO
        const v = this.u8();
        if (v < 2 || v > 5) throw this.fail(`pickle protocol ${v} is not supported (expected 2 to 5)`);
        return true;
      }
      case 0x95: this.take(8); return true; // FRAME: framing is only a read-ahead hint
      case 0x28: stack.push(MARK); return true; // MARK
      case 0x71: this.memo.set(this.u8(), this.top()); return true; // BINPUT
      case 0x72: this.memo.set(this.u32(), this.top()); return true; // LONG_BINPUT
      case 0x94: this.memo.set(this.memo.size, this.top()); return true; // MEMOIZE
      case 0x68: this.get(this.u8()); return true; // BINGET
      case 0x6a: this.get(this.u32()); return true; // LONG_BINGET
      case 0x30: if (stack[stack.length - 1] === MARK) stack.pop(); else this.pop(); return true; // POP
      case 0x31: this.popMark(); return true; // POP_MARK
      case 0x32: stack.push(this.top()); return true; // DUP
      case 0x63: { const module = this.line(); stack.push(hooks.global(module, this.line())); return true; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw this.fail(`STACK_GLOBAL at byte ${this.pos - 1} needs two strings`);
        stack.push(hooks.global(module, name));
        return true;
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        const callable = this.pop();
        if (!Array.isArray(args)) throw this.fail(`REDUCE at byte ${this.pos - 1} has arguments that are not a tuple`);
        stack.push(hooks.reduce(callable, args));
        return true;
      }
      case 0x62: { const state = this.pop(); hooks.build(this.top(), state); return true; } // BUILD
      case 0x51: stack.push(hooks.persistentLoad(this.pop())); return true; // BINPERSID
      default: return false;
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

/**
 * How converted dicts are returned: plain objects (keys as strings) or Maps (keys and order as pickled).
 * @inline
 */
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
