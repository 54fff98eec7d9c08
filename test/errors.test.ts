// The error contract: typed SnnkitError with a stable code, a message naming the op and shapes; never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnnkitError, buildInfo, tensor, zeros, arange, F } from '../src/index.js';
import { loadAddon } from '../src/native/load.js';
import { native } from '../src/native/load.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SnnkitError, `expected SnnkitError, got ${String(e)}`);
    return `${e.code}: ${e.message}`;
  }
  assert.fail('expected an error');
}

test('libtorch errors arrive as SnnkitError with a code, the op name and the input shapes', () => {
  assert.match(code(() => zeros([2, 3]).add(zeros([4]))), /^SHAPE_MISMATCH: binary: The size of tensor a \(3\) must match the size of tensor b \(4\).*\(inputs: float32\[2,3\], float32\[4\]\)$/);
  assert.match(code(() => zeros([2, 3]).reshape(4)), /^SHAPE_MISMATCH: reshape: shape '\[4\]' is invalid for input of size 6 \(inputs: float32\[2,3\]\)$/);
  assert.match(code(() => zeros([2, 3]).select(1, 7)), /^INDEX_OUT_OF_RANGE: select: .*index 7 out of range.*\(inputs: float32\[2,3\]\)$/);
  assert.match(code(() => zeros([2]).gather(0, zeros([2]))), /^DTYPE_MISMATCH: gather: .*(int64|Long).*\(inputs: float32\[2\], float32\[2\]\)$/);
  assert.match(code(() => arange(4).matmul(zeros([4]))), /^DTYPE_MISMATCH: matmul: .*\(inputs: int64\[4\], float32\[4\]\)$/);
  assert.match(code(() => zeros([2]).permute(0, 1)), /^SHAPE_MISMATCH: permute: .*\(inputs: float32\[2\]\)$/);
  assert.match(code(() => zeros([1]).toDevice('tpu:0')), /toDevice: .*tpu.*/i);
});

test('toDevice(cuda) is a typed error on a CPU build, and works on a CUDA build with a device', () => {
  if (!buildInfo().hasCuda) {
    assert.match(code(() => zeros([1, 1, 2, 2]).toDevice('cuda')), /^(DEVICE_ERROR|TORCH_ERROR): toDevice: .*(CUDA|cuda).*/);
    return;
  }
  const x = arange(4).toDevice('cuda');
  assert.equal(x.device, 'cuda:0');
  assert.deepEqual(x.toDevice('cpu').toArray(), [0, 1, 2, 3]);
});

test('TypeScript-side checks name the function, the argument, what was expected and what arrived', () => {
  assert.equal(code(() => F.avgPool2d(zeros([1, 1, 4, 4]), [2, 2, 2] as never)), "INVALID_ARGUMENT: avgPool2d: argument 'kernel' must be an integer >= 1 or a pair [h, w] of them, got [2, 2, 2]");
  assert.equal(code(() => tensor([1]).to('half' as never)), "INVALID_ARGUMENT: to: argument 'dtype' must be one of float32, float64, int64, int32, int8, uint8, bool, got 'half'");
});

test('bad arguments reaching the addon directly still give typed errors, never a crash', () => {
  const h = zeros([2]).handle;
  assert.match(code(() => native.binary(0, 'x' as never, 1, 0)), /^INVALID_ARGUMENT: binary: argument 1 must be a tensor$/);
  assert.match(code(() => native.binary(99, h, h, 4)), /^INVALID_ARGUMENT: binary: unknown binary op code 99/);
  assert.match(code(() => native.reshape(h, 'x' as never)), /^INVALID_ARGUMENT: reshape: argument 1 must be an array of integers$/);
  assert.match(code(() => native.zeros([2], 'complex' as never)), /^INVALID_ARGUMENT: zeros: argument 1 must be one of float32, float64, int64, int32, int8, uint8, bool; got 'complex'$/);
  assert.match(code(() => native.fromBuffer(new Float32Array(3), [2, 2], 'float32')), /^SHAPE_MISMATCH: fromBuffer: data has 12 bytes but shape float32\[2,2\] needs 16$/);
  assert.match(code(() => native.item(zeros([2]).handle)), /^SHAPE_MISMATCH: item: item\(\) needs a tensor with exactly one element, got float32\[2\]$/);
  assert.match(code(() => native.setNumThreads(0)), /^INVALID_ARGUMENT: setNumThreads: the number of threads must be >= 1, got 0$/);
  assert.match(code(() => native.pad(h, [1, 1], 'circular', 0)), /^INVALID_ARGUMENT: pad: mode must be 'constant', or 'reflect' \/ 'replicate' with 4 pads; got 'circular' with 2 pads$/);
  assert.match(code(() => native.crossEntropy(zeros([2, 3]).handle, zeros([2], { dtype: 'int64' }).handle, undefined, 'avg', -100, 0)), /^INVALID_ARGUMENT: crossEntropy: reduction must be one of 'mean', 'sum', 'none'; got 'avg'$/);
  assert.match(code(() => native.sum(123456789, null, false)), /^DISPOSED: sum: argument 0 is a tensor that was already disposed$/);
  assert.match(code(() => native.cat([h, 'y' as never], 0)), /^INVALID_ARGUMENT: cat: argument 0\[1\] must be a tensor$/);
});

test('a missing addon gives one message listing what was tried and the command that fixes it', () => {
  const msg = code(() => loadAddon(['/nonexistent/a.node', '/nonexistent/b.node']));
  assert.match(msg, /^NATIVE_LOAD_FAILED: snnkit could not load its native engine\. the addon is not built: run `npm run setup`/);
  assert.match(msg, /\/nonexistent\/a\.node: not found\n {2}\/nonexistent\/b\.node: not found/);
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-'));
  const garbage = join(dir, 'broken.node');
  writeFileSync(garbage, 'not a shared library');
  const bad = code(() => loadAddon([garbage]));
  assert.match(bad, /NATIVE_LOAD_FAILED: .*Tried:\n {2}.*broken\.node: .*(ELF|too short)/s);
});
