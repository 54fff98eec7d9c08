/**
 * The only file that loads the addon. On failure it throws one SnnkitError that lists what was tried and the
 * command that fixes it.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { SnnkitError } from '../errors.js';
import type { NativeBinding } from './binding.js';

const here = dirname(fileURLToPath(import.meta.url));

function projectRoot(): string {
  // src/native (ts-node) or dist/src/native (compiled): walk up to the folder with binding.gyp.
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return resolve(here, '../../..');
}

function candidates(): string[] {
  const root = projectRoot();
  const list: string[] = [];
  if (process.env['SNNKIT_ADDON']) list.push(resolve(process.env['SNNKIT_ADDON']));
  list.push(join(root, 'build/Release/snnkit.node'), join(root, 'build/Debug/snnkit.node'));
  return list;
}

function diagnose(errors: string[]): string {
  const text = errors.join('\n');
  if (/lib(torch|c10)[^ ]*\.so/.test(text)) {
    return process.env['LIBTORCH']
      ? `libtorch was not found at run time: add $LIBTORCH/lib to LD_LIBRARY_PATH (LIBTORCH=${process.env['LIBTORCH']}).`
      : 'libtorch is not installed: run `npm run setup` (it installs Debian\'s libtorch-dev), or set LIBTORCH to a downloaded libtorch and run it.';
  }
  if (/undefined symbol/.test(text)) return 'the addon was built against another libtorch: run `bash scripts/build.sh addon --force`.';
  return 'the addon is not built: run `npm run setup` (installs libtorch and builds the addon).';
}

/**
 * Loads the first addon that works from `paths`.
 * @param paths candidate .node files, in order
 * @returns the binding
 * @throws SnnkitError (NATIVE_LOAD_FAILED) listing every path tried with its error, and the command that fixes it
 */
export function loadAddon(paths: readonly string[]): NativeBinding {
  // OpenMP worker threads: spinning forever (active) burns a core between ops; sleeping at once (passive) made a
  // small training step 3x slower (0.026 -> 0.085 ms, wake-up latency). A bounded spin keeps the latency of
  // active and sleeps when idle (measured: 0.027 ms). libgomp reads it when the addon loads: set it before require.
  if (process.env['OMP_WAIT_POLICY'] === undefined) process.env['GOMP_SPINCOUNT'] ??= '10000';
  const req = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      tried.push(`${path}: not found`);
      continue;
    }
    try {
      return req(path) as NativeBinding;
    } catch (e) {
      tried.push(`${path}: ${(e as Error).message}`);
    }
  }
  throw new SnnkitError(
    `snnkit could not load its native engine. ${diagnose(tried)}\nTried:\n  ${tried.join('\n  ')}`,
    'NATIVE_LOAD_FAILED',
  );
}

let loaded: NativeBinding | undefined;

/** Loads the addon once, sets its error class and its thread count. */
function load(): NativeBinding {
  if (loaded) return loaded;
  const b = loadAddon(candidates());
  b.setErrorClass(SnnkitError as unknown as new (message: string, code: string) => Error);
  // libtorch starts at 1 thread here; default to all cores. SNNKIT_NUM_THREADS overrides.
  const envThreads = Number(process.env['SNNKIT_NUM_THREADS'] ?? '');
  b.setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
  loaded = b;
  native = b; // importers see the loaded object from now on (an ESM export is a live binding): no proxy on hot paths
  return b;
}

/**
 * The addon, loaded at its first use rather than at import, so that `snnkit --help` and argument errors work
 * without a built engine. Until then a proxy that loads it.
 */
export let native: NativeBinding = new Proxy({} as NativeBinding, {
  get: (_t, key) => (load() as unknown as Record<string | symbol, unknown>)[key],
});
