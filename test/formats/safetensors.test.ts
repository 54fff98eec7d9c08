// safetensors: byte-exact with the reference writer, round trips, the shared ResNet-20 file, and every malformed file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf } from '../helpers.js';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, memory, dispose, type Tensor } from '../../src/index.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../../src/formats/index.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'snnkit-st-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
// shared/ lies beside the repository (tests run from the repository root), or inside it in some checkouts.
const RESNET = [join(process.cwd(), '..', 'shared'), join(process.cwd(), 'shared')]
  .map((d) => join(d, 'models/cifar10-resnet20/cifar10-resnet20.safetensors'))
  .find((p) => fs.existsSync(p)) ?? '../shared/models/cifar10-resnet20/cifar10-resnet20.safetensors';

/** The bytes of a file: u64 LE length of `header`, `header`, then `data`. */
function fileBytes(header: string | Uint8Array, data: Uint8Array | number = 0): Buffer {
  const h = typeof header === 'string' ? Buffer.from(header) : Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([prefix, h, typeof data === 'number' ? Buffer.alloc(data) : data]);
}
const f32 = (...v: number[]): Buffer => Buffer.from(new Float32Array(v).buffer);

test('encoding is byte-exact with the reference implementation (its own test vectors)', () => {
  // From huggingface/safetensors tensor.rs tests: test_serialization, test_empty, test_serialization_forced_alignement.
  const t = tensor(new Float32Array([0, 1, 2, 3, 4, 5]), [1, 2, 3]);
  const t4 = t.reshape(1, 1, 2, 3);
  const head = (json: string): Buffer => fileBytes(json + ' '.repeat((8 - (json.length % 8)) % 8));
  const attn = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.deepEqual(Buffer.from(encodeSafetensors({ 'attn.0': t })), Buffer.concat([head(attn), f32(0, 1, 2, 3, 4, 5)]));
  assert.equal(Buffer.from(encodeSafetensors({ 'attn.0': t })).readBigUInt64LE(), 64n);
  const aligned = Buffer.from(encodeSafetensors(new Map([['attn0', t4]])));
  assert.equal(aligned.readBigUInt64LE(), 72n); // 65 bytes of JSON padded by 7 spaces to a multiple of 8
  assert.deepEqual(aligned, Buffer.concat([head('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}'), f32(0, 1, 2, 3, 4, 5)]));
  assert.deepEqual([...encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual(Buffer.from(encodeSafetensors({}, { framework: 'pt' })), head('{"__metadata__":{"framework":"pt"}}'));
  dispose([t, t4]);
});

test('the writer sorts by dtype alignment (largest first) then name, as the reference, and pads the header to 8', () => {
  const ts = {
    b: tensor([true, false]), u: tensor([1, 2, 3], { dtype: 'uint8' }), i32: tensor([7], { dtype: 'int32' }),
    '10': tensor([1]), '2': tensor([2]), z64: tensor([1.5], { dtype: 'float64' }), n: tensor([5], { dtype: 'int64' }),
  };
  const bytes = Buffer.from(encodeSafetensors(ts, { zeta: 'last', alpha: 'first "quoted"\n' }));
  const n = Number(bytes.readBigUInt64LE());
  assert.equal(n % 8, 0);
  assert.equal(bytes.length, 8 + n + 8 + 8 + 4 + 4 + 4 + 3 + 2);
  const header = bytes.subarray(8, 8 + n).toString().trimEnd();
  assert.equal(header, '{"__metadata__":{"alpha":"first \\"quoted\\"\\n","zeta":"last"},'
    + '"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"z64":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},'
    + '"10":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"2":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},'
    + '"i32":{"dtype":"I32","shape":[1],"data_offsets":[24,28]},"u":{"dtype":"U8","shape":[3],"data_offsets":[28,31]},'
    + '"b":{"dtype":"BOOL","shape":[2],"data_offsets":[31,33]}}');
  assert.deepEqual([...bytes.subarray(8 + n)], [5, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(new Float64Array([1.5]).buffer), 0, 0, 128, 63, 0, 0, 0, 64, 7, 0, 0, 0, 1, 2, 3, 1, 0]);
  dispose(ts);
});

test('round trip of every dtype, 0-d and empty tensors, odd names and metadata, without leaking', () => {
  const before = memory().liveTensors;
  const src: Record<string, Tensor> = {
    f32: tensor([[1.5, -2], [3, 4e-8]]), f64: tensor([Math.PI, -0], { dtype: 'float64' }),
    i64: tensor(new BigInt64Array([-(2n ** 62n), 2n ** 53n + 1n]), [2]), i32: tensor([-7, 2 ** 31 - 1], { dtype: 'int32' }),
    u8: tensor([0, 255, 7], { dtype: 'uint8' }), bool: tensor([[true], [false]]), scalar: tensor(new Float32Array([42]), []),
    empty: tensor(new Float32Array(0), [0]), empty2d: tensor(new Int32Array(0), [3, 0]), '0': tensor([9], { dtype: 'int64' }),
    'ünï.cödé 😀': tensor([1]), __proto__x: tensor([2]),
  };
  const meta = { format: 'pt', 'clé': 'välue', empty: '' };
  const p = join(dir, 'round.safetensors');
  saveSafetensors(p, src, meta);
  const { tensors, metadata } = loadSafetensors(p);
  assert.deepEqual(metadata, meta);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(src).sort());
  for (const [k, t] of Object.entries(src)) {
    const u = tensors[k]!;
    assert.equal(u.dtype, t.dtype, k);
    assert.deepEqual(u.shape, t.shape, k);
    assert.deepEqual(u.toTypedArray(), t.toTypedArray(), k);
  }
  assert.ok(Object.is((tensors.f64!.toTypedArray() as Float64Array)[1], -0));
  const fromBytes = decodeSafetensors(fs.readFileSync(p));
  assert.deepEqual(fromBytes.metadata, meta);
  dispose([tensors, fromBytes.tensors]);
  dispose(decodeSafetensors(encodeSafetensors(src)).tensors);
  dispose(src);
  assert.equal(memory().liveTensors, before);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('a tensor literally named __proto__ stays a tensor entry, not a prototype', () => {
  const bytes = fileBytes('{"__proto__":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', f32(3));
  const { tensors } = decodeSafetensors(bytes);
  assert.ok(Object.hasOwn(tensors, '__proto__'));
  assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
  assert.equal(tensors['__proto__']!.item(), 3);
  dispose(tensors);
});

test('reads files from other writers: unaligned offsets, any key order, F16 and BF16 as float32, null metadata', () => {
  const header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[3,11]},"__metadata__":null,"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},'
    + '"h":{"dtype":"F16","shape":[6],"data_offsets":[11,23]},"bf":{"dtype":"BF16","shape":[2],"data_offsets":[23,27]}}';
  const half = Buffer.alloc(12);
  [0x3c00, 0xc000, 0x7c00, 0x0001, 0x7e00, 0x3555].forEach((h, i) => half.writeUInt16LE(h, 2 * i));
  const bf = Buffer.alloc(4);
  bf.writeUInt16LE(0x3f80, 0);
  bf.writeUInt16LE(0xc040, 2);
  const { tensors, metadata } = decodeSafetensors(fileBytes(header, Buffer.concat([Buffer.from([1, 2, 3]), f32(0.5, -1), half, bf])));
  assert.deepEqual(metadata, {});
  assert.deepEqual(Object.keys(tensors), ['u', 'w', 'h', 'bf']); // file (offset) order
  assert.deepEqual(tensors.u!.toArray(), [1, 2, 3]);
  assert.deepEqual(tensors.w!.toArray(), [0.5, -1]);
  assert.equal(tensors.h!.dtype, 'float32');
  const h = [...(tensors.h!.toTypedArray() as Float32Array)];
  assert.deepEqual(h.slice(0, 4), [1, -2, Infinity, 2 ** -24]);
  assert.ok(Number.isNaN(h[4]));
  assert.equal(h[5], 0.333251953125);
  assert.deepEqual(tensors.bf!.toArray(), [1, -3]);
  assert.equal(readSafetensorsHeader(writeTemp('other.safetensors', fileBytes(header, 27))).tensors[2]!.dtype, 'F16');
  dispose(tensors);
});

test('the dtype option converts floating-point tensors only', () => {
  const p = join(dir, 'conv.safetensors');
  const src = { w: tensor([0.1, 0.2]), n: tensor([3], { dtype: 'int64' }), m: tensor([true]) };
  saveSafetensors(p, src);
  const before = memory().liveTensors;
  const { tensors } = loadSafetensors(p, { dtype: 'float64' });
  assert.equal(memory().liveTensors, before + 3);
  assert.deepEqual([tensors.w!.dtype, tensors.n!.dtype, tensors.m!.dtype], ['float64', 'int64', 'bool']);
  assert.equal(tensors.w!.toArray().toString(), [Math.fround(0.1), Math.fround(0.2)].toString());
  dispose([tensors, src]);
  assert.match(errorOf(() => loadSafetensors(p, { dtype: 'int32' as never })).message, /^loadSafetensors: argument 'opts.dtype' must be 'float32' or 'float64'/);
});

test('reads the shared CIFAR-10 ResNet-20 checkpoint: names, shapes, metadata, and values PyTorch reads from the .th', (t) => {
  if (!fs.existsSync(RESNET)) return t.skip(`${RESNET} is not present`);
  const h = readSafetensorsHeader(RESNET);
  assert.equal(h.tensors.length, 97);
  assert.deepEqual(new Set(h.tensors.map((x) => x.dtype)), new Set(['F32']));
  assert.deepEqual(h.metadata, {
    arch: 'cifar-resnet20', input_shape: 'N,3,32,32', input_range: 'RGB in [0,1]', mean: '0.485,0.456,0.406', std: '0.229,0.224,0.225',
    reported_test_accuracy: '91.78000183105469',
  });
  const { tensors, metadata } = loadSafetensors(RESNET);
  try {
    assert.deepEqual(metadata, h.metadata);
    assert.deepEqual(Object.keys(tensors), h.tensors.map((x) => x.name));
    assert.deepEqual(tensors['conv1.weight']!.shape, [16, 3, 3, 3]);
    assert.deepEqual(tensors['linear.weight']!.shape, [10, 64]);
    assert.deepEqual(tensors['layer3.2.conv2.weight']!.shape, [64, 64, 3, 3]);
    assert.deepEqual(tensors['layer2.0.bn1.running_var']!.shape, [32]);
    // torch.load('resnet20-12fca82f.th')['state_dict']['module.conv1.weight'].flatten()[:3] and ['module.linear.bias']
    assert.deepEqual([...(tensors['conv1.weight']!.toTypedArray() as Float32Array).slice(0, 3)], [-0.13818146288394928, -0.1624176800251007, 0.8207383155822754]);
    assert.deepEqual(tensors['linear.bias']!.toArray(), [0.19355906546115875, -0.3431008756160736, 0.11120541393756866, 0.32253673672676086,
      0.14396445453166962, -0.180976003408432, 0.16311383247375488, -0.16210909187793732, 0.02210032008588314, -0.27025941014289856]);
    // Rewriting it with our writer and reading it back changes nothing but the order.
    const again = decodeSafetensors(encodeSafetensors(tensors, metadata));
    for (const [k, v] of Object.entries(tensors)) assert.deepEqual(again.tensors[k]!.toTypedArray(), v.toTypedArray(), k);
    dispose(again.tensors);
  } finally {
    dispose(tensors);
  }
});

function writeTemp(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

const E = (dtype: string, shape: unknown, offs: unknown): object => ({ dtype, shape, data_offsets: offs });
/** [what is wrong, the file's bytes, the message's tail] for every malformed file the reader must reject. */
const MALFORMED: [string, Uint8Array, RegExp][] = [
  ['too short', Buffer.from([1, 0, 0]), /it is 3 bytes long, shorter than the 8-byte header length$/],
  ['absurd header length', Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 123, 125]), /header length 1099511627776 exceeds the limit of 100000000 bytes$/],
  ['header past the end', Buffer.concat([Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]), /header length 200 runs past the end of the file \(10 bytes\)$/],
  ['bad UTF-8', fileBytes(Buffer.from([123, 34, 0xff, 0xfe, 34, 58, 49, 125])), /the header is not valid UTF-8$/],
  ['bad JSON', fileBytes('{"a": {'), /the header is not valid JSON \(.+\)$/],
  ['JSON array', fileBytes('[1, 2]  '), /the header must be a JSON object, got an array$/],
  ['JSON null', fileBytes('null'), /the header must be a JSON object, got null$/],
  ['entry not an object', fileBytes('{"w": 3}'), /entry 'w' must be an object with dtype, shape and data_offsets, got number$/],
  ['no dtype', fileBytes(JSON.stringify({ w: { shape: [1], data_offsets: [0, 4] } }), 4), /tensor 'w' has no 'dtype'$/],
  ['no shape', fileBytes(JSON.stringify({ w: { dtype: 'F32', data_offsets: [0, 4] } }), 4), /tensor 'w' has no 'shape'$/],
  ['no offsets', fileBytes(JSON.stringify({ w: { dtype: 'F32', shape: [1] } }), 4), /tensor 'w' has no 'data_offsets'$/],
  ['dtype a number', fileBytes(JSON.stringify({ w: E(4 as never, [1], [0, 4]) }), 4), /tensor 'w' has dtype of type number; expected a string$/],
  ['unsupported dtype', fileBytes(JSON.stringify({ w: E('U16', [2], [0, 4]) }), 4), /tensor 'w' has unsupported dtype 'U16'; supported: F64, F32, F16 and BF16 \(read as float32\), I64, I32, I8, U8, BOOL$/],
  ['negative dim', fileBytes(JSON.stringify({ w: E('F32', [2, -1], [0, 4]) }), 4), /tensor 'w' has shape \[2, -1\]; expected an array of non-negative integers$/],
  ['fractional dim', fileBytes(JSON.stringify({ w: E('F32', [1.5], [0, 4]) }), 4), /tensor 'w' has shape \[1\.5\]; expected/],
  ['shape not an array', fileBytes(JSON.stringify({ w: E('F32', '2', [0, 4]) }), 4), /tensor 'w' has shape '2'; expected/],
  ['offsets reversed', fileBytes(JSON.stringify({ w: E('F32', [1], [4, 0]) }), 4), /tensor 'w' has data_offsets \[4, 0\]; expected \[begin, end\] with integers 0 <= begin <= end$/],
  ['offsets not a pair', fileBytes(JSON.stringify({ w: E('F32', [1], [0]) }), 4), /tensor 'w' has data_offsets \[0\]; expected/],
  ['offsets out of range', fileBytes(JSON.stringify({ w: E('F32', [2], [0, 8]) }), 4), /tensor 'w' has data_offsets \[0,8\] past the end of the data section \(4 bytes\)$/],
  ['offsets vs shape', fileBytes(JSON.stringify({ w: E('F32', [2, 3], [0, 20]) }), 20), /tensor 'w' has data_offsets \[0,20\] \(20 bytes\) but F32 \[2,3\] needs 24 bytes$/],
  ['overlap', fileBytes(JSON.stringify({ a: E('F32', [2], [0, 8]), b: E('F32', [2], [4, 12]) }), 12), /tensors 'a' \[0,8\] and 'b' \[4,12\] overlap$/],
  ['hole', fileBytes(JSON.stringify({ a: E('F32', [1], [0, 4]), b: E('F32', [1], [8, 12]) }), 12), /bytes 4\.\.8 of the data section belong to no tensor \(a hole before 'b'\)$/],
  ['trailing bytes', fileBytes(JSON.stringify({ a: E('F32', [1], [0, 4]) }), 7), /3 trailing bytes after the last tensor \(tensors end at 4, the data section has 7 bytes\)$/],
  ['metadata not an object', fileBytes('{"__metadata__": [1]}'), /'__metadata__' must be an object of strings, got an array$/],
  ['metadata value not a string', fileBytes('{"__metadata__": {"epoch": 3}}'), /'__metadata__' value of 'epoch' must be a string, got number$/],
  // JSON.stringify of these in the message threw a RangeError (stack overflow) or wrote megabytes
  ['shape nested 10 000 deep', fileBytes(`{"a": {"dtype": "F32", "shape": ${'['.repeat(10000)}${']'.repeat(10000)}, "data_offsets": [0, 4]}}`, 4),
    /tensor 'a' has shape \[\[\[\[array of 1\]\]\]\]; expected an array of non-negative integers$/],
  ['data_offsets of 100 000 entries', fileBytes(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [${Array(100000).fill(0).join(',')}]}}`, 4),
    /tensor 'a' has data_offsets \[0, 0, 0, 0, 0, 0, 0, 0, \.\.\. \(100000 items\)\]; expected \[begin, end\]/],
];

test('every malformed file is rejected with FILE_FORMAT, naming the file and what is wrong', () => {
  const before = memory().liveTensors;
  MALFORMED.forEach(([what, bytes, tail], i) => {
    const p = writeTemp(`bad${i}.safetensors`, bytes);
    const name = `'${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`;
    for (const [fn, read] of [['loadSafetensors', loadSafetensors], ['readSafetensorsHeader', readSafetensorsHeader]] as const) {
      const e = errorOf(() => read(p));
      assert.equal(e.code, 'FILE_FORMAT', `${what}: ${e.message}`);
      assert.match(e.message, new RegExp(`^${fn}: ${name} is not a valid safetensors file: `), what);
      assert.match(e.message, tail, what);
    }
    assert.match(errorOf(() => decodeSafetensors(bytes)).message, /^decodeSafetensors: the buffer is not a valid safetensors file: /, what);
  });
  assert.equal(memory().liveTensors, before);
});

test('a missing file is FILE_NOT_FOUND naming the path; a directory is IO_ERROR', () => {
  const missing = join(dir, 'nope.safetensors');
  for (const [fn, read] of [['loadSafetensors', loadSafetensors], ['readSafetensorsHeader', readSafetensorsHeader]] as const) {
    const e = errorOf(() => read(missing));
    assert.equal(e.code, 'FILE_NOT_FOUND');
    assert.equal(e.message, `${fn}: file '${missing}' does not exist`);
    const d = errorOf(() => read(dir));
    assert.equal(d.code, 'IO_ERROR');
    assert.match(d.message, new RegExp(`^${fn}: could not read '.*snnkit-st-.*': .*EISDIR`));
  }
});

test('saving validates names, tensors and metadata, and writes nothing on a bad argument', () => {
  const p = join(dir, 'never.safetensors');
  const x = tensor([1]);
  const gone = tensor([1]);
  gone.dispose();
  const cases: [() => void, RegExp][] = [
    [() => saveSafetensors(p, { '': x }), /^saveSafetensors: argument 'tensors' must be keyed by non-empty names, got ''$/],
    [() => saveSafetensors(p, { __metadata__: x }), /^saveSafetensors: argument 'tensors\['__metadata__'\]' must be named otherwise: __metadata__ is reserved/],
    [() => saveSafetensors(p, new Map([[7 as never, x]])), /argument 'tensors' must be keyed by non-empty names, got 7$/],
    [() => saveSafetensors(p, { 'a\ud800': x }), /argument 'tensors' must be keyed by well-formed Unicode names/],
    [() => saveSafetensors(p, { w: [1, 2] as never }), /^saveSafetensors: argument 'tensors\['w'\]' must be a live Tensor, got \[1, 2\]$/],
    [() => saveSafetensors(p, { w: gone }), /argument 'tensors\['w'\]' must be a live Tensor, got disposed tensor$/],
    [() => saveSafetensors(p, [x] as never), /argument 'tensors' must be a Record<string, Tensor> or Map<string, Tensor>/],
    [() => saveSafetensors(p, { w: x }, { epoch: 3 as never }), /^saveSafetensors: argument 'metadata\['epoch'\]' must be a string, got 3$/],
    [() => saveSafetensors(p, { w: x }, 'm' as never), /argument 'metadata' must be an object of string values, got 'm'$/],
    [() => encodeSafetensors({ w: x }, { a: null as never }), /^encodeSafetensors: argument 'metadata\['a'\]' must be a string, got null$/],
  ];
  for (const [fn, re] of cases) {
    const e = errorOf(fn);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, re);
  }
  assert.equal(fs.existsSync(p), false);
  x.dispose();
});

// Files written by the Python safetensors package are read in the shared ResNet-20 test above, and the writer is
// byte-exact with that package's own test vectors; the package itself is not in Debian 12 or npm, so no test runs it.
