// writeFileAtomic: the target is either the old file or the whole new one, and no temporary file is left behind.
import { test, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf } from '../helpers.js';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SnnkitError } from '../../src/index.js';
import { removeStaleTempFiles, writeFileAtomic, writeFileAtomicAsync } from '../../src/formats/index.js';

const root = fs.mkdtempSync(join(tmpdir(), 'snnkit-atomic-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => fs.mkdirSync(join(root, `case${n++}`), { recursive: true })!;
const tempFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

const ioError = (message: string, code = 'EIO'): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

test('writes bytes, strings and chunk lists, creating missing parent directories', async () => {
  const dir = freshDir();
  writeFileAtomic(join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
  assert.deepEqual([...fs.readFileSync(join(dir, 'a.bin'))], [1, 2, 3]);
  writeFileAtomic(join(dir, 'deep/er/b.txt'), 'héllo');
  assert.equal(fs.readFileSync(join(dir, 'deep/er/b.txt'), 'utf8'), 'héllo');
  writeFileAtomic(join(dir, 'c.bin'), [new Uint8Array([9]), new Uint8Array(0), Buffer.from([8, 7])]);
  assert.deepEqual([...fs.readFileSync(join(dir, 'c.bin'))], [9, 8, 7]);
  await writeFileAtomicAsync(join(dir, 'new/d.txt'), ['x', 'y'].map((s) => Buffer.from(s)));
  assert.equal(fs.readFileSync(join(dir, 'new/d.txt'), 'utf8'), 'xy');
  assert.deepEqual(tempFiles(dir), []);
});

test('fsyncs the file before the rename and the directory after it', () => {
  const dir = freshDir();
  const order: string[] = [];
  const realSync = fs.fsyncSync;
  const sync = mock.method(fs, 'fsyncSync', (fd: number) => {
    order.push(fs.readdirSync(dir).some((f) => f.endsWith('.tmp')) ? 'file' : 'dir');
    realSync(fd);
  });
  try {
    writeFileAtomic(join(dir, 'x.bin'), 'x');
  } finally {
    sync.mock.restore();
  }
  assert.deepEqual(order, ['file', 'dir']);
});

test('replaces an existing file whole (longer by shorter), keeping its mode', async () => {
  const dir = freshDir();
  const p = join(dir, 'state.json');
  fs.writeFileSync(p, 'x'.repeat(1000));
  fs.chmodSync(p, 0o640);
  writeFileAtomic(p, '{"epoch":3}');
  assert.equal(fs.readFileSync(p, 'utf8'), '{"epoch":3}');
  assert.equal(fs.statSync(p).mode & 0o777, 0o640);
  await writeFileAtomicAsync(p, 'ok');
  assert.equal(fs.readFileSync(p, 'utf8'), 'ok');
  assert.equal(fs.statSync(p).mode & 0o777, 0o640);
  assert.deepEqual(fs.readdirSync(dir), ['state.json']);
});

test('a failed fsync leaves the old target untouched and removes the temporary file', () => {
  const dir = freshDir();
  const p = join(dir, 'ckpt.bin');
  fs.writeFileSync(p, 'old contents');
  const m = mock.method(fs, 'fsyncSync', () => { throw ioError('EIO: i/o error, fsync'); });
  try {
    const e = errorOf(() => writeFileAtomic(p, 'new contents that never land'));
    assert.equal(e.code, 'IO_ERROR');
    assert.match(e.message, /^writeFileAtomic: could not write '.*ckpt\.bin': EIO: i\/o error, fsync$/);
  } finally {
    m.mock.restore();
  }
  assert.equal(fs.readFileSync(p, 'utf8'), 'old contents');
  assert.deepEqual(fs.readdirSync(dir), ['ckpt.bin']);
});

test('a write that fails half-way (disk full) leaves the old target and no temporary file', () => {
  const dir = freshDir();
  const p = join(dir, 'ckpt.bin');
  fs.writeFileSync(p, 'old');
  const realWrite = fs.writeSync;
  let calls = 0;
  const m = mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off: number, len: number) => {
    if (calls++ > 0) throw ioError('ENOSPC: no space left on device, write', 'ENOSPC');
    return realWrite(fd, buf, off, Math.min(len, 2)); // a short write first: the loop must carry on
  });
  try {
    assert.match(errorOf(() => writeFileAtomic(p, [Buffer.from('abcdef'), Buffer.from('ghi')])).message, /could not write '.*ckpt\.bin': ENOSPC/);
  } finally {
    m.mock.restore();
  }
  assert.equal(calls, 2);
  assert.equal(fs.readFileSync(p, 'utf8'), 'old');
  assert.deepEqual(tempFiles(dir), []);
});

test('short writes are continued until every byte is out', () => {
  const dir = freshDir();
  const realWrite = fs.writeSync;
  const m = mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off: number, len: number) => realWrite(fd, buf, off, Math.min(len, 3)));
  try {
    writeFileAtomic(join(dir, 'f'), 'abcdefghij');
  } finally {
    m.mock.restore();
  }
  assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'abcdefghij');
});

test('a failed rename (the target is a directory) reports the path and removes the temporary file', async () => {
  const dir = freshDir();
  const p = join(dir, 'taken');
  fs.mkdirSync(p);
  fs.writeFileSync(join(p, 'inside'), 'keep');
  const e = errorOf(() => writeFileAtomic(p, 'data'));
  assert.equal(e.code, 'IO_ERROR');
  assert.match(e.message, /^writeFileAtomic: could not write '.*taken': .*(EISDIR|ENOTEMPTY|EEXIST)/);
  await assert.rejects(writeFileAtomicAsync(p, 'data'), /^SnnkitError: writeFileAtomicAsync: could not write '.*taken'/);
  assert.deepEqual(fs.readdirSync(dir), ['taken']);
  assert.equal(fs.readFileSync(join(p, 'inside'), 'utf8'), 'keep');
});

test('the async variant cleans up after an injected rename failure', async () => {
  const dir = freshDir();
  const p = join(dir, 'a.json');
  fs.writeFileSync(p, 'old');
  const m = mock.method(fs.promises, 'rename', async () => { throw ioError('EIO: i/o error, rename'); });
  try {
    await assert.rejects(writeFileAtomicAsync(p, 'new'), (e: unknown) => e instanceof SnnkitError && e.code === 'IO_ERROR' && /a\.json': EIO/.test(e.message));
  } finally {
    m.mock.restore();
  }
  assert.deepEqual(fs.readdirSync(dir), ['a.json']);
  assert.equal(fs.readFileSync(p, 'utf8'), 'old');
});

test('a parent that is a file cannot be created: IO_ERROR naming the path', () => {
  const dir = freshDir();
  fs.writeFileSync(join(dir, 'file'), '');
  const e = errorOf(() => writeFileAtomic(join(dir, 'file', 'sub', 'x.bin'), 'x'));
  assert.equal(e.code, 'IO_ERROR');
  assert.match(e.message, /could not write '.*file\/sub\/x\.bin': .*(ENOTDIR|EEXIST)/);
});

test('a read-only directory: IO_ERROR naming the path, target untouched, nothing left behind', () => {
  const dir = freshDir();
  const p = join(dir, 'f');
  fs.writeFileSync(p, 'old');
  fs.chmodSync(root, 0o755);
  fs.chmodSync(dir, 0o555);
  try {
    // Root ignores directory permissions, so as root the write runs in a child process as the user nobody, on a copy
    // of the compiled module placed where nobody can read it (the checkout itself may not be).
    const mod = join(root, 'mod');
    fs.mkdirSync(join(mod, 'io'), { recursive: true });
    fs.writeFileSync(join(mod, 'package.json'), '{"type":"module"}');
    fs.copyFileSync(new URL('../../src/errors.js', import.meta.url), join(mod, 'errors.js'));
    fs.copyFileSync(new URL('../../src/formats/atomic.js', import.meta.url), join(mod, 'io', 'atomic.js'));
    const atomicJs = pathToFileURL(join(mod, 'io', 'atomic.js')).href;
    const script = `import(${JSON.stringify(atomicJs)}).then((m) => { try { m.writeFileAtomic(process.argv[1], 'new'); console.log('wrote'); }
      catch (e) { console.log(e.code + ' ' + e.message); } });`;
    const asRoot = process.getuid?.() === 0;
    const out = asRoot
      ? execFileSync(process.execPath, ['--input-type=module', '-e', script, p], { uid: 65534, gid: 65534, encoding: 'utf8' }).trim()
      : ((): string => { const e = errorOf(() => writeFileAtomic(p, 'new')); return `${e.code} ${e.message}`; })();
    assert.match(out, /^IO_ERROR writeFileAtomic: could not write '.*f': EACCES/);
  } finally {
    fs.chmodSync(dir, 0o755);
  }
  assert.equal(fs.readFileSync(p, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir), ['f']);
});

test('bad arguments name the argument and what was expected', () => {
  const dir = freshDir();
  assert.equal(errorOf(() => writeFileAtomic('', 'x')).message, "writeFileAtomic: argument 'path' must be a non-empty file path, got ''");
  assert.match(errorOf(() => writeFileAtomic(join(dir, 'x'), 42 as never)).message, /^writeFileAtomic: argument 'data' must be a Uint8Array, a string or an array of Uint8Array chunks, got 42$/);
  assert.match(errorOf(() => writeFileAtomic(join(dir, 'x'), [new Uint8Array(1), 'no' as never])).message, /^writeFileAtomic: argument 'data\[1\]' must be a Uint8Array, got 'no'$/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('removeStaleTempFiles removes what killed writers left, and nothing a live writer or the user owns', () => {
  const dir = freshDir();
  // A process that has exited: its pid names no running process (pids are not reused this fast).
  const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
  const names = {
    dead: `.last.safetensors.${dead}.0123456789ab.tmp`,
    mine: `.log.csv.${process.pid}.0123456789ab.tmp`,
    parent: `.log.json.${process.ppid}.0123456789ab.tmp`,
    user: 'notes.tmp',
    shape: `.x.${dead}.short.tmp`,
  };
  for (const f of Object.values(names)) fs.writeFileSync(join(dir, f), 'partial');
  fs.writeFileSync(join(dir, 'last.safetensors'), 'kept');
  assert.deepEqual(removeStaleTempFiles(dir), [join(dir, names.dead)]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [names.mine, names.parent, names.shape, names.user, 'last.safetensors'].sort());
  assert.deepEqual(removeStaleTempFiles(join(dir, 'missing')), [], 'a missing folder has nothing to clean');
});
