/**
 * Tensor lifetime: scopes that free everything created inside except what they return, explicit dispose(), and a
 * FinalizationRegistry backstop. Native memory is freed deterministically only by the first two: Node does not run
 * addon finalizers during a synchronous loop, so a training loop must use scopes (tidy) or dispose().
 */
import { SnnkitError } from '../errors.js';
import { native } from '../native/load.js';
import type { TensorHandle } from '../native/binding.js';

/** What the scope machinery needs of a tensor (the Tensor class implements it). */
export interface Disposable {
  readonly handle: TensorHandle;
  readonly kept: boolean;
  dispose(): void;
}

const stack: Set<Disposable>[] = [];
/** One set per open allOrNothing(): the tensors kept (keep()) while it runs. */
const keptLogs: Set<Disposable>[] = [];
let collectedByGc = 0;

// Backstop: a tensor that became unreachable without dispose() is freed when the GC gets to it.
const registry = new FinalizationRegistry<TensorHandle>((handle) => {
  if (native.dispose(handle)) collectedByGc++;
});

/** @internal Called by every Tensor constructor. */
export function track(t: Disposable): void {
  registry.register(t, t.handle, t);
  const top = stack[stack.length - 1];
  if (top) top.add(t);
}

/** @internal Called by Tensor.dispose(). */
export function untrack(t: Disposable): void {
  registry.unregister(t);
}

/** @internal Removes a tensor from all open scopes (keep()). */
export function release(t: Disposable): void {
  for (const s of stack) s.delete(t);
  keptLogs[keptLogs.length - 1]?.add(t);
}

function collect(v: unknown, out: Set<Disposable>, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  if ('handle' in v && 'dispose' in v) {
    out.add(v as Disposable);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Runs `fn`; every tensor created inside is disposed when it returns, except the tensors it returns (directly, or in
 * an array, Map or plain object) and tensors marked with `keep()`. Returned tensors move to the enclosing scope.
 * @param fn a synchronous function
 * @returns what fn returns
 * @throws SnnkitError (INVALID_ARGUMENT) when fn returns a Promise: scopes cannot follow async code
 * @example
 * const loss = tidy(() => model.forward(x).sub(y).square().mean());
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new SnnkitError('tidy: the function returned a Promise; tidy() takes synchronous functions only (await outside, tidy inside)');
  }
  const keep = new Set<Disposable>();
  collect(result, keep);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (keep.has(t)) parent?.add(t);
    else if (!t.kept) t.dispose();
  }
  return result;
}

/**
 * Runs `fn` inside tidy(), and when it throws also disposes the tensors it kept (parameters, buffers, keep()):
 * a loader that builds a model and fails halfway leaves nothing behind. When it returns, kept tensors stay.
 * @param fn a synchronous function
 * @returns what fn returns
 * @throws what fn throws, after freeing everything it made
 * @example
 * const net = allOrNothing(() => buildModel(file)); // a bad file frees the layers built before the error
 */
export function allOrNothing<T>(fn: () => T): T {
  const log = new Set<Disposable>();
  keptLogs.push(log);
  try {
    return tidy(fn);
  } catch (e) {
    for (const t of log) t.dispose();
    throw e;
  } finally {
    keptLogs.pop();
    const outer = keptLogs[keptLogs.length - 1];
    if (outer) for (const t of log) outer.add(t);
  }
}

/**
 * Disposes every tensor found in `v` (a tensor, or arrays/objects of tensors).
 * @param v tensors to free
 * @example
 * dispose([w, b, x, y]);
 */
export function dispose(v: unknown): void {
  const s = new Set<Disposable>();
  collect(v, s);
  for (const t of s) t.dispose();
}

/** @internal How many tensors the GC freed because nobody disposed them (a leak indicator). */
export function gcCollectedCount(): number {
  return collectedByGc;
}
