// Small hostile PyTorch checkpoints that used to hang, allocate gigabytes or throw untyped errors: each must now fail
// fast with a typed FILE_FORMAT error naming the file (the regression tests of issue 12).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { errorOf } from '../helpers.js';
import { loadTorchCheckpoint, torchStateDict } from '../../src/formats/index.js';
import { memory } from '../../src/tensor/system.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'snnkit-pt-hostile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, bytes: Uint8Array): string => (fs.writeFileSync(join(dir, name), bytes), join(dir, name));

/** Pickle opcodes, enough to write checkpoints by hand. */
const P = {
  proto: Buffer.from([0x80, 2]),
  global: (m: string, n: string): Buffer => Buffer.from(`c${m}\n${n}\n`, 'latin1'),
  str: (s: string): Buffer => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(s)]), Buffer.from(s)]),
  int: (n: number): Buffer => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(n, 1); return b; },
  /** LONG1 of 8 bytes: integers past 2^53 arrive as bigints */
  long: (n: bigint): Buffer => { const b = Buffer.alloc(10); b[0] = 0x8a; b[1] = 8; b.writeBigInt64LE(n, 2); return b; },
  mark: Buffer.from('('), tuple: Buffer.from('t'), tuple1: Buffer.from([0x85]), reduce: Buffer.from('R'), persid: Buffer.from('Q'),
  stop: Buffer.from('.'),
};
/** data.pkl of one float32 tensor `_rebuild_tensor(storage '0' of `numel` elements, 0, size, stride)`. */
function tensorPickle(size: Buffer[], stride: Buffer[], numel = 1): Buffer {
  const storage = Buffer.concat([P.mark, P.str('storage'), P.global('torch', 'FloatStorage'), P.str('0'), P.str('cpu'), P.int(numel), P.tuple, P.persid]);
  const tup = (xs: Buffer[]): Buffer => Buffer.concat([P.mark, ...xs, P.tuple]);
  return Buffer.concat([P.proto, P.global('torch._utils', '_rebuild_tensor'), P.mark, storage, P.int(0), tup(size), tup(stride), P.tuple, P.reduce, P.stop]);
}
const ptZip = (pkl: Uint8Array, data: Uint8Array = new Uint8Array(4), level: 0 | 1 = 0): Uint8Array =>
  zipSync({ 'archive/data.pkl': [pkl, { level: 0 }], 'archive/data/0': [data, { level }] });

/** Sets the declared (uncompressed) size of the central-directory entry `name` of a zip. */
function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const b = Buffer.from(zip);
  for (let p = b.indexOf(Buffer.from([0x50, 0x4b, 1, 2])); p >= 0; p = b.indexOf(Buffer.from([0x50, 0x4b, 1, 2]), p + 4)) {
    if (b.subarray(p + 46, p + 46 + b.readUInt16LE(p + 28)).toString() === name) b.writeUInt32LE(size, p + 24);
  }
  return b;
}

/** Inserts a zip64 end record and locator claiming `count` entries before a zip's end record. */
function zip64Count(zip: Uint8Array, count: bigint): Uint8Array {
  const b = Buffer.from(zip);
  const e = b.lastIndexOf(Buffer.from([0x50, 0x4b, 5, 6]));
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0); rec.writeBigUInt64LE(44n, 4);
  rec.writeBigUInt64LE(count, 24); rec.writeBigUInt64LE(count, 32);
  rec.writeBigUInt64LE(BigInt(b.readUInt32LE(e + 12)), 40); rec.writeBigUInt64LE(BigInt(b.readUInt32LE(e + 16)), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0); loc.writeBigUInt64LE(BigInt(e), 8); loc.writeUInt32LE(1, 16);
  return Buffer.concat([b.subarray(0, e), rec, loc, b.subarray(e)]);
}

function fastTypedError(name: string, bytes: Uint8Array, re: RegExp): void {
  const file = write(name, bytes);
  const live = memory().liveTensors;
  const t0 = performance.now();
  const e = errorOf(() => loadTorchCheckpoint(file));
  assert.equal(e.code, 'FILE_FORMAT', `${name}: ${e.message}`);
  assert.match(e.message, new RegExp(`'.*${name.replace(/\./g, '\\.')}' is not a valid PyTorch checkpoint: ${re.source}`));
  assert.ok(performance.now() - t0 < 2000, `${name} took ${performance.now() - t0} ms`);
  assert.equal(memory().liveTensors, live, `${name} leaked tensors`);
}

test('a 1-element storage viewed with stride 0 as 6e8 elements is refused before copying (it hung, then needed 2.4 GB)', () => {
  const pkl = tensorPickle([P.int(600_000_000)], [P.int(0)]);
  const bytes = ptZip(pkl);
  assert.ok(bytes.length < 600);
  fastTypedError('stride0.pt', bytes, /a tensor of size \[600000000\], stride \[0\] and offset 0 needs 2400000000 bytes, and the file's tensors may take at most 268435456 in all \(opts\.maxBytes/);
  // The same view within the budget is copied out whole (the fixtures test values; this one the size).
  const ok = loadTorchCheckpoint(write('stride0-small.pt', ptZip(tensorPickle([P.int(1000), P.int(3)], [P.int(0), P.int(0)]))));
  assert.deepEqual((ok.value as { shape: number[] }).shape, [1000, 3]);
  ok.dispose();
});

test('overlapping strides that reach past the storage, and sizes past 2^53 (bigints), are typed errors', () => {
  fastTypedError('past-end.pt', ptZip(tensorPickle([P.int(2), P.int(2)], [P.int(1), P.int(1)])), /a tensor of size \[2,2\], stride \[1,1\] and offset 0 reaches past the end of storage '0'/);
  fastTypedError('bigint.pt', ptZip(tensorPickle([P.long(1n << 60n)], [P.int(1)])),
    /torch\._utils\._rebuild_tensor\(\.\.\.\) needs an integer offset and size and stride tuples of one length, got offset 0, size \[1152921504606846976\], stride \[1\]/);
});

test('a zip64 record claiming 2^32 - 1 entries is refused at once (it made a 4-billion-step loop)', () => {
  const zip = ptZip(tensorPickle([P.int(1)], [P.int(1)]));
  fastTypedError('zip64-count.pt', zip64Count(zip, 0xffffffffn), /it claims 4294967295 entries, but its central directory has room for at most 2/);
  fastTypedError('zip64-huge.pt', zip64Count(zip, 1n << 62n), /it claims Infinity entries/);
});

test('deflate bombs: a declared size past the budget is refused before inflating, a lying one stops at its declared size', () => {
  const zeros = new Uint8Array(64 << 20);
  const bomb = ptZip(tensorPickle([P.int(16 << 20)], [P.int(1)], 16 << 20), zeros, 1);
  assert.ok(bomb.length < 200_000, String(bomb.length));
  // Declared 2.8 GB (the deflated entry would fill it): refused from the directory alone.
  fastTypedError('bomb-declared.pt', declareSize(bomb, 'archive/data/0', 2_800_000_000), /its compressed entries would expand to more than 268435456 bytes \(opts\.maxBytes\); at 'archive\/data\/0'/);
  // Declared 4 bytes: inflating stops right after them.
  const before = process.memoryUsage().rss;
  fastTypedError('bomb-lying.pt', declareSize(bomb, 'archive/data/0', 4), /entry 'archive\/data\/0': its compressed data expands past the 4 bytes its header announces/);
  assert.ok(process.memoryUsage().rss - before < 40e6, 'the bomb was not inflated whole');
  // opts.maxBytes lowers the budget: the honest 64 MB entry is refused with 1 MB, and read with the default.
  const honest = write('bomb-honest.pt', bomb);
  assert.match(errorOf(() => loadTorchCheckpoint(honest, { maxBytes: 1 << 20 })).message, /would expand to more than 1048576 bytes/);
  const ck = loadTorchCheckpoint(honest);
  assert.deepEqual((ck.value as { shape: number[] }).shape, [16 << 20]);
  ck.dispose();
});

test('cyclic and very deep pickles, and 300 000 items in one APPENDS, are handled without recursion errors', () => {
  const cyclic = Buffer.concat([P.proto, Buffer.from([0x5d, 0x71, 0, 0x68, 0, 0x61]), P.stop]); // [] PUT 0, GET 0, APPEND
  fastTypedError('cyclic.pt', ptZip(cyclic), /the pickle holds a container inside itself \(a cycle\)/);
  const depth = 100_000; // EMPTY_LIST × depth, APPEND × (depth - 1)
  const deep = Buffer.concat([P.proto, Buffer.alloc(depth, 0x5d), Buffer.alloc(depth - 1, 0x61), P.stop]);
  fastTypedError('deep.pt', ptZip(deep), /the pickle nests containers more than 256 deep/);
  const n = 300_000; // EMPTY_LIST, MARK, NONE × n, APPENDS
  const wide = Buffer.concat([P.proto, Buffer.from([0x5d, 0x28]), Buffer.alloc(n, 0x4e), Buffer.from([0x65]), P.stop]);
  const ck = loadTorchCheckpoint(write('wide.pt', ptZip(wide)));
  assert.equal((ck.value as unknown[]).length, n);
  ck.dispose();
});

test('a state dict whose sub-dicts are shared (a 2^60-path DAG) is refused, not walked', () => {
  // d0 = {a: d1, b: d1}, d1 = {a: d2, b: d2}, ... d60 = {w: tensor}
  const parts: Buffer[] = [P.proto];
  const levels = 60;
  parts.push(Buffer.from([0x7d]), P.str('w'), tensorPickle([P.int(1)], [P.int(1)]).subarray(2, -1), Buffer.from([0x73])); // {w: t}
  for (let i = 0; i < levels; i++) {
    parts.push(Buffer.from([0x94]), Buffer.from([0x7d, 0x28]), P.str('a'), Buffer.from([0x6a]), uint32(i), P.str('b'), Buffer.from([0x6a]), uint32(i), Buffer.from([0x75]));
  }
  parts.push(P.stop);
  const file = write('dag.pt', ptZip(Buffer.concat(parts)));
  const t0 = performance.now();
  const e = errorOf(() => torchStateDict(file));
  assert.match(e.message, /state dict entry '[ab.]+' is the same dict as another entry/);
  assert.ok(performance.now() - t0 < 2000);
});

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
