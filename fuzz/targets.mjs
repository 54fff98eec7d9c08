// The parsers the fuzzer attacks: for each, seed files (small, valid, written here or read from the committed
// fixtures), a structure-aware mutation that keeps the container valid and breaks one field, and the parse call that
// runs in the child process. Byte-level mutation (mutate.mjs) applies to every target as well.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, gzipSync } from 'node:zlib';
import { unzipSync, zipSync } from 'fflate';
import { INTERESTING, concat } from './mutate.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(repo, 'dist/src', p);
const sk = () => import(dist('index.js'));
const io = () => import(dist('formats/index.js'));
const models = () => import(dist('models/index.js'));
const data = () => import(dist('data/index.js'));

// ---- ONNX ------------------------------------------------------------------------------------------------------------
const ONNX_OPS = ['Conv', 'Gemm', 'MatMul', 'Add', 'Mul', 'BatchNormalization', 'Relu', 'Clip', 'AveragePool', 'GlobalAveragePool', 'MaxPool',
  'Flatten', 'Reshape', 'Slice', 'Pad', 'Concat', 'Identity', 'Dropout', 'Constant', 'ConstantOfShape', 'Transpose', 'Cast', 'Unsqueeze', 'Squeeze', 'Shape'];
const f32 = (name, dims, v) => ({ name, dims, dataType: 1, floatData: v });
const i64 = (name, dims, v) => ({ name, dims, dataType: 7, int64Data: v });
const node = (opType, name, input, output, attribute = []) => ({ opType, name, input, output, attribute });
const model = (nodes, initializer) => ({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
  graph: { node: nodes, initializer, input: [{ name: 'x' }], output: [{ name: 'y' }] } });

async function onnxSeeds() {
  const { onnxSchema } = await io();
  const M = onnxSchema().lookupType('onnx.ModelProto');
  const enc = (m) => M.encode(M.fromObject(m)).finish();
  const convNet = model([
    node('Conv', '/c/Conv', ['x', 'c.weight', 'c.bias'], ['h'], [{ name: 'pads', ints: [1, 1, 1, 1] }, { name: 'strides', ints: [1, 1] }]),
    node('BatchNormalization', '/bn/BN', ['h', 'bn.weight', 'bn.bias', 'bn.mean', 'bn.var'], ['b']), node('Relu', 'r', ['b'], ['a']),
    node('Pad', 'p', ['a', 'pads'], ['q']), node('AveragePool', 'pool', ['q'], ['o'], [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [2, 2] }]),
    node('Flatten', 'f', ['o'], ['z']), node('Gemm', 'fc', ['z', 'fc.weight', 'fc.bias'], ['y'], [{ name: 'transB', i: 1 }]),
  ], [f32('c.weight', [2, 1, 3, 3], Array(18).fill(0.1)), f32('c.bias', [2], [0, 1]), ...['weight', 'bias', 'mean', 'var'].map((k) => f32(`bn.${k}`, [2], [1, 0.5])),
    i64('pads', [8], [0, 0, 0, 0, 0, 0, 1, 1]), f32('fc.weight', [3, 8], Array(24).fill(0.05)), f32('fc.bias', [3], [0, 0, 0])]);
  const folding = model([
    node('Constant', 'k', [], ['shape'], [{ name: 'value', t: i64('shape', [1], [2]) }]),
    node('ConstantOfShape', 'cos', ['shape'], ['zeros'], [{ name: 'value', t: i64('v', [1], [0]) }]),
    node('Concat', 'cat', ['zeros', 'pads2'], ['pads'], [{ name: 'axis', i: 0 }]),
    node('Transpose', 'tr', ['w'], ['wt'], [{ name: 'perm', ints: [1, 0] }]), node('Unsqueeze', 'un', ['wt', 'ax'], ['w3']),
    node('Squeeze', 'sq', ['w3', 'ax'], ['w2']), node('Cast', 'cast', ['w2'], ['w1'], [{ name: 'to', i: 1 }]),
    node('Slice', 'sl', ['w1', 'st', 'en'], ['ws']), node('Mul', 'mul', ['ws', 'two'], ['wm']),
    node('Pad', 'p', ['x', 'pads'], ['xp']), node('Flatten', 'f', ['xp'], ['xf']), node('MatMul', 'mm', ['xf', 'wm'], ['h']),
    node('Clip', 'clip', ['h', 'lo', 'hi'], ['y']),
  ], [i64('pads2', [2], [1, 1]), f32('w', [2, 6], Array(12).fill(0.5)), i64('ax', [1], [0]), i64('st', [1], [0]), i64('en', [1], [6]),
    f32('two', [], [2]), f32('lo', [], [0]), f32('hi', [], [1])]);
  const seeds = [enc(convNet), enc(folding)];
  const resnet = join(repo, '..', 'shared/models/cifar10-resnet20/cifar10-resnet20.onnx');
  if (existsSync(resnet)) seeds.push(readFileSync(resnet));
  return { seeds, M };
}

function onnxStructured(bytes, d, ctx) {
  const M = ctx.M;
  const m = M.toObject(M.decode(bytes), { longs: Number, arrays: true });
  const g = m.graph;
  const nodes = g.node, inits = g.initializer;
  const value = () => d.pick(INTERESTING);
  switch (d.int(8)) {
    case 0: { const n = d.pick(nodes); const a = n.attribute.length ? d.pick(n.attribute) : undefined; if (a) { if (a.ints?.length) a.ints[d.int(a.ints.length)] = value(); else a.i = value(); } break; }
    case 1: { const t = inits.length ? d.pick(inits) : undefined; if (t) t.dims[d.int(Math.max(1, t.dims.length))] = value(); break; }
    case 2: { const t = inits.length ? d.pick(inits) : undefined; if (t) t.dataType = d.pick([0, 1, 2, 3, 6, 7, 9, 10, 11, 16, 99]); break; }
    case 3: { const n = d.pick(nodes); if (n.input.length) n.input[d.int(n.input.length)] = d.pick(['', 'nope', 'x', 'y', ...nodes.flatMap((k) => k.output)]); break; }
    case 4: d.pick(nodes).opType = d.pick(ONNX_OPS); break;
    case 5: nodes.splice(d.int(nodes.length), 1); break;
    case 6: { const n = d.pick(nodes); nodes.splice(d.int(nodes.length + 1), 0, structuredClone(n)); break; }
    default: { const n = d.pick(nodes); n.attribute.push({ name: d.pick(['perm', 'pads', 'axis', 'kernel_shape', 'strides', 'to', 'value']), ints: Array.from({ length: d.pick([1, 4, 70, 5000]) }, value) }); }
  }
  return M.encode(M.fromObject(m)).finish();
}

// ---- PyTorch checkpoints ------------------------------------------------------------------------------------------------
function ptSeeds(kind) {
  const dir = join(repo, 'test/fixtures/torch-gen'); // written by scripts/test-fixtures.sh (npm test / npm run fuzz)
  const names = kind === 'zip' ? ['zip.pt', 'protocol4.pt', 'deflated.pt'] : ['legacy.pt'];
  return { seeds: names.map((n) => readFileSync(join(dir, n))) };
}

/** Writes an interesting integer over the operand of a random BININT / BININT1 / BININT2 / LONG1 opcode of a pickle. */
function mutatePickleInts(pkl, d) {
  const out = Uint8Array.from(pkl);
  const at = [];
  for (let i = 0; i < out.length - 1; i++) if (out[i] === 0x4a || out[i] === 0x4b || out[i] === 0x4d || out[i] === 0x8a) at.push(i);
  if (!at.length) return out;
  const i = d.pick(at), v = BigInt(d.pick(INTERESTING)) * (d.chance(0.1) ? 1n << 40n : 1n);
  const width = { 0x4a: 4, 0x4b: 1, 0x4d: 2, 0x8a: Math.min(8, out[i + 1] ?? 0) }[out[i]];
  const start = out[i] === 0x8a ? i + 2 : i + 1;
  for (let k = 0; k < width && start + k < out.length; k++) out[start + k] = Number((BigInt.asUintN(64, v) >> BigInt(8 * k)) & 0xffn);
  return out;
}

function ptZipStructured(bytes, d, _ctx, mutateBytes) {
  const files = unzipSync(bytes);
  const names = Object.keys(files);
  const pkl = names.find((n) => n.endsWith('data.pkl'));
  const target = d.chance(0.7) && pkl ? pkl : d.pick(names);
  files[target] = target === pkl && d.chance(0.6) ? mutatePickleInts(files[target], d) : mutateBytes(files[target], d);
  return zipSync(Object.fromEntries(names.map((n) => [n, [files[n], { level: d.chance(0.3) ? 6 : 0 }]])));
}

// ---- safetensors ----------------------------------------------------------------------------------------------------
function safetensorsFile(header, dataBytes, lie = 0) {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length + lie));
  return concat(len, h, dataBytes);
}
function safetensorsSeeds() {
  const header = { __metadata__: { k: 'v' }, a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
    c: { dtype: 'BOOL', shape: [2], data_offsets: [40, 42] } };
  return { seeds: [safetensorsFile(header, new Uint8Array(42).map((_, i) => i))] };
}
function safetensorsStructured(bytes, d) {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
  const dataBytes = bytes.subarray(8 + n);
  const keys = Object.keys(header).filter((k) => k !== '__metadata__');
  const e = header[d.pick(keys)];
  const value = () => d.pick([...INTERESTING, 1.5, 2 ** 53, 2 ** 64, 'x', null, [], [[1]]]);
  switch (d.int(6)) {
    case 0: e.shape[d.int(e.shape.length + 1)] = value(); break;
    case 1: e.data_offsets[d.int(2)] = value(); break;
    case 2: e.dtype = d.pick(['F16', 'BF16', 'F64', 'I8', 'U8', 'I32', 'F8_E4M3', 'X', 7]); break;
    case 3: e.shape = JSON.parse('['.repeat(d.pick([2, 50, 5000])) + ']'.repeat(0) + '1' + ']'.repeat(d.pick([2, 50, 5000]))); break;
    case 4: header.__metadata__ = d.pick([{ k: 1 }, [], 'x', { ['a'.repeat(d.pick([10, 100000]))]: 'v' }]); break;
    default: header[`t${d.int(1000)}`] = { dtype: 'F32', shape: [d.pick(INTERESTING)], data_offsets: [0, d.pick(INTERESTING)] };
  }
  return safetensorsFile(header, dataBytes, d.chance(0.1) ? d.pick([-1, 1, 7, 1 << 20]) : 0);
}

// ---- IDX, CIFAR, images -------------------------------------------------------------------------------------------------
function idxFile(dims, pixels) {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x800 | dims.length, 0);
  dims.forEach((v, i) => head.writeUInt32BE(v, 4 + 4 * i));
  return concat(head, pixels);
}
function idxSeeds(gz) {
  const files = [idxFile([3, 4, 4], new Uint8Array(48).map((_, i) => i * 5)), idxFile([5], Uint8Array.from([0, 1, 2, 3, 9]))];
  return { seeds: gz ? files.map((f) => gzipSync(f)) : files };
}
function idxStructured(bytes, d, _ctx, _mb, gz) {
  const raw = Buffer.from(gz ? idxSeeds(false).seeds[d.int(2)] : bytes);
  const ndim = raw[3];
  if (d.chance(0.3)) raw[3] = d.pick([0, 1, 3, 4, 255]);
  else raw.writeUInt32BE(d.pick(INTERESTING) >>> 0, 4 + 4 * d.int(ndim));
  const out = d.chance(0.2) ? concat(raw, new Uint8Array(d.pick([1, 1000, 1 << 20]))) : raw;
  return gz ? gzipSync(out, { level: 1 }) : out;
}

function cifarSeeds() {
  const rec = (label) => concat(Uint8Array.of(label), new Uint8Array(3072).map((_, i) => (i * 7 + label) & 0xff));
  return { seeds: [concat(rec(3), rec(9))] };
}

// ---- N-MNIST events -----------------------------------------------------------------------------------------------------
function nmnistSeeds() {
  const ev = (i) => [(i * 7) % 34, (i * 11) % 34, ((i & 1) << 7) | (((i * 150) >> 16) & 0x7f), ((i * 150) >> 8) & 0xff, (i * 150) & 0xff];
  const events = Array.from({ length: 300 }, (_, i) => ev(i));
  events.splice(150, 0, [0, 240, 0, 0, 0]); // a time-overflow marker
  return { seeds: [Uint8Array.from(events.flat())] };
}
/** Rewrites one event's y (240: a marker; 34+: off the sensor), its time (backwards, the wrap), or cuts the file. */
function nmnistStructured(bytes, d, _ctx, mb) {
  const out = Uint8Array.from(bytes), at = 5 * d.int(Math.max(1, Math.floor(out.length / 5)));
  switch (d.int(4)) {
    case 0: out[at + 1] = d.pick([240, 34, 255, 33]); return out;
    case 1: out[at + 2] = d.pick([0x7f, 0xff, 0]); out[at + 3] = d.pick([0, 0xff]); return out;
    case 2: return out.subarray(0, Math.max(0, out.length - 1 - d.int(4)));
    default: return mb(bytes, d);
  }
}

/** The list layout of nmnist-small: "sample class" lines naming event files beside the list. */
function nmnistListSeeds() {
  return { seeds: [new TextEncoder().encode('#sample #class\n1\t3\n2\t7\n1 0\r\n')] };
}
/** Rewrites a label (out of range, not a number), a sample name (missing, a path), or the line structure. */
function nmnistListStructured(bytes, d, _ctx, mb) {
  const lines = new TextDecoder().decode(bytes).split('\n'), at = d.int(lines.length);
  switch (d.int(4)) {
    case 0: lines[at] = `1\t${d.pick(['10', '255', '-1', 'x', '1e3', '3.5', ''])}`; break;
    case 1: lines[at] = `${d.pick(['3', '../1', '/etc/passwd', '1 2 3', '', '1.bs2'])}\t1`; break;
    case 2: lines.splice(at, 0, ...Array.from({ length: d.int(50) }, () => '2\t7')); break;
    default: return mb(bytes, d);
  }
  return new TextEncoder().encode(lines.join('\n'));
}

async function imageSeeds() {
  const sharp = (await import('sharp')).default;
  const rgb = Buffer.from(new Uint8Array(8 * 8 * 3).map((_, i) => (i * 13) & 0xff));
  const img = () => sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } });
  return { seeds: [await img().png().toBuffer(), await img().jpeg().toBuffer(), await img().grayscale().png().toBuffer()] };
}
/** Sets the width and height in a PNG's IHDR (fixing its CRC) or a JPEG's SOF marker to interesting values. */
function imageStructured(bytes, d) {
  const b = Buffer.from(bytes);
  const dim = () => d.pick([0, 1, 7, 9, 16384, 65535, 100000, 2 ** 31 - 1]);
  if (b[0] === 0x89) {
    b.writeUInt32BE(dim(), 16);
    b.writeUInt32BE(dim(), 20);
    if (d.chance(0.8)) b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
    return b;
  }
  for (let i = 2; i + 8 < b.length; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
      b.writeUInt16BE(dim() & 0xffff, i + 5);
      b.writeUInt16BE(dim() & 0xffff, i + 7);
      return b;
    }
  }
  return b;
}

// ---- parse calls (in the child) -----------------------------------------------------------------------------------------
const put = (dir, name, bytes) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const disposeAll = (v) => { for (const t of Object.values(v)) t.dispose(); };

/** Every target: seeds(), structured(bytes, dice, ctx, mutateBytes) and parse(bytes, tmpDir). */
export const TARGETS = {
  onnx: { seeds: onnxSeeds, structured: onnxStructured, async parse(bytes) { (await models()).loadOnnx(bytes).dispose(); } },
  'pt-zip': { seeds: () => ptSeeds('zip'), structured: ptZipStructured,
    async parse(bytes, dir) { (await io()).loadTorchCheckpoint(put(dir, 'f.pt', bytes)).dispose(); } },
  'pt-legacy': { seeds: () => ptSeeds('legacy'), structured: (b, d, _c, mb) => (d.chance(0.5) ? mutatePickleInts(b, d) : mb(b, d)),
    async parse(bytes, dir) { (await io()).loadTorchCheckpoint(put(dir, 'f.pt', bytes)).dispose(); } },
  safetensors: { seeds: safetensorsSeeds, structured: safetensorsStructured,
    async parse(bytes) { disposeAll((await io()).decodeSafetensors(bytes).tensors); } },
  idx: { seeds: () => idxSeeds(false), structured: (b, d, c, mb) => idxStructured(b, d, c, mb, false),
    async parse(bytes, dir) { (await data()).readIdx(put(dir, 'f.idx', bytes)); } },
  'idx-gz': { seeds: () => idxSeeds(true), structured: (b, d, c, mb) => idxStructured(b, d, c, mb, true),
    async parse(bytes, dir) { (await data()).readIdx(put(dir, 'f.idx.gz', bytes)); } },
  cifar: { seeds: cifarSeeds, structured: (b, d, _c, mb) => mb(b, d),
    async parse(bytes, dir) { (await data()).loadCifar10Binary(put(dir, 'test_batch.bin', bytes), 'test'); } },
  nmnist: { seeds: nmnistSeeds, structured: nmnistStructured,
    async parse(bytes, dir) { (await data()).eventsToFrames((await io()).readNmnistFile(put(dir, 'f.bin', bytes)), { T: 4 }); } },
  'nmnist-list': { seeds: nmnistListSeeds, structured: nmnistListStructured,
    async parse(bytes, dir) {
      const root = join(dir, 'nmnist-list');
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      put(root, '1.bs2', Uint8Array.of(1, 2, 0x80, 0, 5, 3, 4, 0, 0, 9));
      put(root, '2.bs2', Uint8Array.of(5, 6, 0, 0, 1));
      put(root, 'train.txt', bytes);
      await (await data()).loadNmnist(root, 'train', { frames: 2, cache: false });
    } },
  image: { seeds: imageSeeds, structured: imageStructured,
    async parse(bytes, dir) {
      const cls = join(dir, 'images/test/a');
      rmSync(cls, { recursive: true, force: true });
      mkdirSync(cls, { recursive: true });
      put(cls, bytes[0] === 0xff ? 'x.jpg' : 'x.png', bytes);
      await (await data()).loadImageFolder(join(dir, 'images'), 'test', { cache: false });
    } },
};

/** @returns the live-tensor count (for the leak check in the child) */
export async function liveTensors() {
  return (await sk()).memory().liveTensors;
}
