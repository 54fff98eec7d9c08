// PyTorch checkpoints: the shared legacy ResNet-20 file, zip and legacy files written by PyTorch at test time, and
// malicious or malformed files, which must fail with a typed error and never run code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { errorOf } from '../helpers.js';
import { dispose, memory, type Tensor } from '../../src/index.js';
import { loadSafetensors, loadTorchCheckpoint, torchStateDict } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/zoo/index.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'snnkit-pt-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const MODELS = [join(process.cwd(), '..', 'shared'), join(process.cwd(), 'shared')]
  .map((d) => join(d, 'models/cifar10-resnet20')).find((p) => fs.existsSync(p)) ?? '../shared/models/cifar10-resnet20';
const TH = join(MODELS, 'resnet20-12fca82f.th');
const write = (name: string, bytes: Uint8Array): string => (fs.writeFileSync(join(dir, name), bytes), join(dir, name));

test('the shared legacy ResNet-20 checkpoint matches the safetensors copy exactly and loads strictly', () => {
  const sd = torchStateDict(TH, { stripPrefix: 'auto' });
  const ref = loadSafetensors(join(MODELS, 'cifar10-resnet20.safetensors')).tensors;
  assert.equal(Object.keys(sd).length, 97);
  assert.deepEqual(Object.keys(sd).sort(), Object.keys(ref).sort());
  for (const [k, t] of Object.entries(sd)) {
    assert.deepEqual(t.shape, ref[k]!.shape, k);
    assert.equal(t.dtype, 'float32', k);
    assert.deepEqual(t.toTypedArray(), ref[k]!.toTypedArray(), k);
  }
  const model = createModel('cifar-resnet20');
  const res = model.loadStateDict(sd, { strict: true }); // num_batches_tracked is optional: old files lack it
  assert.deepEqual(res.unexpectedKeys, []);
  assert.ok(res.missingKeys.every((k) => k.endsWith('num_batches_tracked')), res.missingKeys.join());
  dispose([sd, ref]);
});

test('loadTorchCheckpoint keeps the whole value: best_prec1 as a number, the prefixed state dict, tensors()', () => {
  const ckpt = loadTorchCheckpoint(TH);
  const v = ckpt.value as { best_prec1: number; state_dict: Record<string, Tensor> };
  assert.equal(typeof v.best_prec1, 'number');
  assert.ok(Math.abs(v.best_prec1 - 91.78) < 0.06, String(v.best_prec1));
  assert.deepEqual(Object.keys(v.state_dict).slice(0, 2), ['module.conv1.weight', 'module.bn1.weight']);
  const all = ckpt.tensors();
  assert.equal(Object.keys(all).length, 97);
  assert.equal(all['state_dict.module.linear.weight'], v.state_dict['module.linear.weight']);
  assert.deepEqual(all['state_dict.module.linear.weight']!.shape, [10, 64]);
  ckpt.dispose();
  assert.ok(all['state_dict.module.conv1.weight']!.isDisposed);
});

// Files written by Debian's PyTorch with scripts/write-torch-fixtures.py, which `npm test` runs first (scripts/test-fixtures.sh).
const FIX = join(process.cwd(), 'test', 'fixtures', 'torch-gen');

for (const file of ['zip.pt', 'legacy.pt', 'renamed.pt', 'protocol4.pt', 'deflated.pt']) {
  test(`${file}: dtypes, strided (stride 0, overlapping) and shared-storage tensors, nested dicts, OrderedDict and plain values`, () => {
    const exp = JSON.parse(fs.readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    const live = memory().liveTensors;
    const ckpt = loadTorchCheckpoint(join(FIX, file));
    const v = ckpt.value as Record<string, unknown>;
    for (const [k, e] of Object.entries(exp)) {
      const t = v[k] as Tensor;
      assert.deepEqual(t.shape, e.shape, k);
      assert.deepEqual([...t.toTypedArray()].map(Number), e.values, k);
    }
    const dt = (k: string): string => (v[k] as Tensor).dtype;
    assert.deepEqual(['f32', 'f64', 'i64', 'b', 'f16', 'bf16', 'i8', 'param'].map(dt), ['float32', 'float64', 'int64', 'bool', 'float32', 'float32', 'int32', 'float32']);
    assert.deepEqual([v.n, v.x, v.l], [7, 0.5, [1, 'two', null, true]]);
    assert.deepEqual(Object.keys(v.od as object), ['z', 'a']);
    assert.deepEqual(Object.keys(ckpt.tensors()).filter((k) => /^(nested|lin)\./.test(k)), ['nested.inner.w', 'lin.weight', 'lin.bias']);
    ckpt.dispose();
    assert.equal(memory().liveTensors, live, 'no tensor left alive (the fuzzer found each strided view leaking)');
    const sd = torchStateDict(join(FIX, file), { key: 'lin' }); // an OrderedDict with _metadata (pickled with BUILD)
    assert.deepEqual(Object.keys(sd), ['weight', 'bias']);
    assert.deepEqual(sd.weight!.shape, [2, 3]);
    dispose(sd);
  });
}

test("dicts: 'map' keeps the pickled keys and order", () => {
  const ckpt = loadTorchCheckpoint(join(FIX, 'zip.pt'), { dicts: 'map' });
  const v = ckpt.value as Map<string, unknown>;
  assert.ok(v instanceof Map);
  assert.deepEqual([...(v.get('od') as Map<string, Tensor>).keys()], ['z', 'a']);
  ckpt.dispose();
});

/** The first three pickles of the shared legacy file (magic number, protocol version, system info). */
const header = (): Buffer => fs.readFileSync(TH).subarray(0, 137);
// PROTO 2, GLOBAL 'os system', SHORT_BINUNICODE 'echo pwned', TUPLE1, REDUCE, STOP
const OS_SYSTEM = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('cos\nsystem\n', 'latin1'), Buffer.from([0x8c, 10]), Buffer.from('echo pwned'), Buffer.from([0x85, 0x52, 0x2e])]);

test('a pickle that refers to os.system is refused without running anything (legacy and zip layouts)', () => {
  const legacy = write('evil.pt', Buffer.concat([header(), OS_SYSTEM]));
  const e1 = errorOf(() => loadTorchCheckpoint(legacy));
  assert.equal(e1.code, 'UNSAFE_PICKLE');
  assert.match(e1.message, /^loadTorchCheckpoint: '.*evil\.pt' refers to the Python global 'os\.system'.*does not execute pickle code/);
  const zip = write('evil-zip.pt', zipSync({ 'archive/data.pkl': OS_SYSTEM, 'archive/version': Buffer.from('3\n') }, { level: 0 }));
  assert.match(errorOf(() => torchStateDict(zip)).message, /torchStateDict: '.*evil-zip\.pt' refers to the Python global 'os\.system'/);
});

test('REDUCE of an allowed storage type and object-building opcodes are refused', () => {
  const reduceStorage = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('ctorch\nFloatStorage\n'), Buffer.from([0x29, 0x52, 0x2e])]);
  const e = errorOf(() => loadTorchCheckpoint(write('reduce.pt', Buffer.concat([header(), reduceStorage]))));
  assert.equal(e.code, 'UNSAFE_PICKLE');
  assert.match(e.message, /calls \(REDUCE\) the global 'torch\.FloatStorage'/);
  const newobj = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('ccollections\nOrderedDict\n'), Buffer.from([0x29, 0x81, 0x2e])]);
  assert.match(errorOf(() => loadTorchCheckpoint(write('newobj.pt', Buffer.concat([header(), newobj])))).message, /opcode NEWOBJ at byte 165, which builds arbitrary/);
});

test('truncated files fail with FILE_FORMAT naming where they end', () => {
  const full = fs.readFileSync(TH);
  for (const [name, bytes, re] of [
    ['cut-pickle.th', full.subarray(0, 5000), /cut-pickle\.th' is not a valid PyTorch checkpoint: it is truncated: a pickle needs/],
    ['cut-data.th', full.subarray(0, full.length - 100), /cut-data\.th' .* it is truncated: storage '\d+' needs \d+ bytes/],
    ['empty.th', Buffer.alloc(0), /empty\.th' .* the file is empty/],
  ] as const) {
    const e = errorOf(() => loadTorchCheckpoint(write(name, bytes)));
    assert.equal(e.code, 'FILE_FORMAT', name);
    assert.match(e.message, re);
  }
  const zip = fs.readFileSync(join(FIX, 'zip.pt'));
  assert.match(errorOf(() => loadTorchCheckpoint(write('cut.zip.pt', zip.subarray(0, zip.length >> 1)))).message, /cut\.zip\.pt' .* not a readable zip archive/);
});

test('a wrong magic number, a non-checkpoint file and a zip without data.pkl are named as such', () => {
  const bad = Buffer.from(fs.readFileSync(TH));
  bad.writeUInt8(bad[4]! ^ 0xff, 4); // inside the LONG1 magic number
  assert.match(errorOf(() => loadTorchCheckpoint(write('magic.th', bad))).message, /magic\.th' is not a valid PyTorch checkpoint: wrong magic number 0x[0-9a-f]+; expected 0x1950a86a20f9469cfc6c/);
  assert.match(errorOf(() => loadTorchCheckpoint(write('text.th', Buffer.from('hello')))).message, /neither a zip archive nor a legacy torch\.save file \(it starts with bytes 68 65 6c 6c\)/);
  const e = errorOf(() => loadTorchCheckpoint(write('nopkl.pt', zipSync({ 'archive/version': Buffer.from('3\n') }))));
  assert.equal(e.code, 'FILE_FORMAT');
  assert.match(e.message, /nopkl\.pt' .* the zip archive has no '<folder>\/data\.pkl' \(entries: archive\/version\)/);
  assert.equal(errorOf(() => loadTorchCheckpoint(join(dir, 'missing.pt'))).code, 'FILE_NOT_FOUND');
});

test('torchStateDict names the keys it found when there is no state dict, and rejects bad options', () => {
  const e = errorOf(() => torchStateDict(TH, { key: 'best_prec1' }));
  assert.equal(e.code, 'FILE_FORMAT');
  assert.match(e.message, /no state dict found \(top-level keys: best_prec1, state_dict\); pass opts\.key/);
  assert.match(errorOf(() => torchStateDict(TH, { key: 'nope' })).message, /torchStateDict: argument 'opts.key' must be a top-level key of .*\(best_prec1, state_dict\)/);
  const sd = torchStateDict(TH, { stripPrefix: 'module.layer1.' });
  assert.ok('0.conv1.weight' in sd && 'module.conv1.weight' in sd);
  dispose(sd);
});
