/** Reading a whole file with the errors every format reports the same way: FILE_NOT_FOUND or IO_ERROR naming it. */
import fs from 'node:fs';
import { SnnkitError } from '../errors.js';

/**
 * The typed error for a failed read.
 * @param fn the reading function, for the message
 * @returns FILE_NOT_FOUND when nothing is at `path`, else IO_ERROR with the system's reason
 * @example
 * try { fs.readFileSync(path); } catch (e) { throw readError('loadOnnx', path, e); }
 */
export function readError(fn: string, path: string, e: unknown): SnnkitError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return new SnnkitError(`${fn}: file '${path}' does not exist`, 'FILE_NOT_FOUND');
  return new SnnkitError(`${fn}: could not read '${path}': ${err.message}`, 'IO_ERROR');
}

/**
 * Reads a whole file.
 * @throws SnnkitError from readError
 * @example
 * const bytes = readFileBytes('loadOnnx', 'model.onnx');
 */
export function readFileBytes(fn: string, path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw readError(fn, path, e);
  }
}
