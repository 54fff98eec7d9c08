/**
 * Atomic file writes: a reader (or a crash) sees either the old file or the whole new one, never a torn mix.
 * The data goes to a uniquely named temporary file beside the target, is fsynced, renamed over the target, and the
 * directory is fsynced so the rename itself survives a power cut. Used for checkpoints written inside training loops.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { SnnkitError, invalidArg } from '../errors.js';

/** What writeFileAtomic accepts: bytes, a string (written as UTF-8), or chunks of bytes written in order. */
export type AtomicData = Uint8Array | string | readonly Uint8Array[];

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /** File mode of a new file (default 0o666, less the umask). An existing target keeps its own mode. */
  mode?: number;
}

// Errors that only say "this platform cannot fsync a directory" (Windows, some network file systems).
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP', 'EBADF']);

function toChunks(fn: string, data: AtomicData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  if (Array.isArray(data)) {
    data.forEach((c, i) => {
      if (!(c instanceof Uint8Array)) throw invalidArg(fn, `data[${i}]`, 'a Uint8Array', c);
    });
    return [...data];
  }
  throw invalidArg(fn, 'data', 'a Uint8Array, a string or an array of Uint8Array chunks', data);
}

function checkPath(fn: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg(fn, 'path', 'a non-empty file path', path);
  return resolve(path);
}

/** A temporary name in the target's own directory (rename is atomic only within one file system). */
function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes the temporary files that writes into `dir` left behind when their process was killed mid-write (SIGKILL,
 * power cut). Only names writeFileAtomic makes are touched, and only those of processes that no longer run, so a
 * write in progress elsewhere is never disturbed. A training run calls this on its output folder when it starts.
 * @param dir the folder to clean (a missing folder is fine)
 * @returns the paths removed
 * @example
 * removeStaleTempFiles('runs/resnet20'); // after a killed run, before resuming
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    const path = join(dir, name);
    try {
      fs.unlinkSync(path);
      removed.push(path);
    } catch { /* gone already, or not ours to remove */ }
  }
  return removed;
}

function existingMode(target: string): number | undefined {
  try {
    const st = fs.statSync(target);
    return st.isFile() ? st.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

function ioError(fn: string, path: string, e: unknown): SnnkitError {
  const msg = e instanceof Error ? e.message : String(e);
  return new SnnkitError(`${fn}: could not write '${path}': ${msg}`, 'IO_ERROR');
}

function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    if (!DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes a file atomically: to a temporary file in the same directory, fsynced, then renamed over `path`, then the
 * directory fsynced. Missing parent directories are created. On failure the temporary file is removed and the target
 * is left as it was.
 * @param path the file to write (replaced whole if it exists)
 * @param data bytes, a UTF-8 string, or an array of byte chunks written in order (avoids joining large buffers)
 * @param opts mode of a new file
 * @throws SnnkitError (INVALID_ARGUMENT) for a bad path or data; (IO_ERROR) naming the path when any step fails
 * @example
 * writeFileAtomic('runs/ckpt/epoch-3.json', JSON.stringify(state));
 * writeFileAtomic('model.bin', [headerBytes, weightBytes]);
 */
export function writeFileAtomic(path: string, data: AtomicData, opts: AtomicWriteOptions = {}): void {
  const fn = 'writeFileAtomic';
  const target = checkPath(fn, path);
  const chunks = toChunks(fn, data);
  const mode = existingMode(target);
  let tmp: string | undefined;
  let fd: number | undefined;
  try {
    fs.mkdirSync(dirname(target), { recursive: true });
    tmp = tempPathFor(target);
    fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o666);
    if (mode !== undefined) fs.fchmodSync(fd, mode);
    for (const chunk of chunks) {
      // writeSync may write less than asked (signals, pipes); loop until the chunk is out.
      for (let off = 0; off < chunk.byteLength; ) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
    tmp = undefined;
    syncDirSync(dirname(target));
  } catch (e) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* already failing; the first error is the one to report */ }
    if (tmp !== undefined) try { fs.unlinkSync(tmp); } catch { /* never created, or already gone */ }
    throw ioError(fn, path, e);
  }
}

async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}

/**
 * The asynchronous twin of writeFileAtomic: same steps and guarantees, without blocking the event loop.
 * @param path the file to write (replaced whole if it exists)
 * @param data bytes, a UTF-8 string, or an array of byte chunks written in order
 * @param opts mode of a new file
 * @returns a promise that resolves once the file is renamed into place and the directory synced
 * @throws SnnkitError (INVALID_ARGUMENT) for a bad path or data; (IO_ERROR) naming the path when any step fails
 * @example
 * await writeFileAtomicAsync('runs/metrics.json', JSON.stringify(metrics));
 */
export async function writeFileAtomicAsync(path: string, data: AtomicData, opts: AtomicWriteOptions = {}): Promise<void> {
  const fn = 'writeFileAtomicAsync';
  const target = checkPath(fn, path);
  const chunks = toChunks(fn, data);
  const mode = existingMode(target);
  let tmp: string | undefined;
  let fh: fs.promises.FileHandle | undefined;
  try {
    await fs.promises.mkdir(dirname(target), { recursive: true });
    tmp = tempPathFor(target);
    fh = await fs.promises.open(tmp, 'wx', opts.mode ?? 0o666);
    if (mode !== undefined) await fh.chmod(mode);
    for (const chunk of chunks) {
      for (let off = 0; off < chunk.byteLength; ) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
    tmp = undefined;
    await syncDir(dirname(target));
  } catch (e) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    if (tmp !== undefined) await fs.promises.unlink(tmp).catch(() => undefined);
    throw ioError(fn, path, e);
  }
}
