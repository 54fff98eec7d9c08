/** Threads, memory and build information. */
import { invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import type { MemoryStats } from '../native/binding.js';
import { gcCollectedCount } from './scope.js';

/**
 * Sets how many threads libtorch (ATen/OpenMP, and OpenBLAS through it) uses.
 * @param n at least 1
 * @example
 * setNumThreads(4);
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalidArg('setNumThreads', 'n', 'an integer >= 1', n);
  native.setNumThreads(n);
}
/**
 * @returns the number of threads libtorch uses
 * @example
 * console.log(`libtorch threads: ${getNumThreads()}`);
 */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Live tensors and allocator state, plus how many tensors the GC had to free (not disposed: a leak sign). */
export interface Memory extends MemoryStats {
  collectedByGc: number;
}
/**
 * @returns live tensor count and bytes, allocator kind and its allocated, cached and peak bytes
 * @example
 * const before = memory().liveTensors; step(); assert.equal(memory().liveTensors, before);
 */
export function memory(): Memory {
  return { ...native.memory(), collectedByGc: gcCollectedCount() };
}
/**
 * Returns cached free blocks of the caching allocator to the OS.
 * @example
 * dispose(cache); emptyCache(); // after freeing large tensors, give their blocks back
 */
export function emptyCache(): void {
  native.emptyCache();
}
/**
 * Starts the allocator's peak (memory().peakBytes) again from what is allocated now, to measure the peak of one step.
 * @example
 * resetPeakMemory(); step(); console.log(memory().peakBytes - memory().allocatedBytes);
 */
export function resetPeakMemory(): void {
  native.resetPeakMemory();
}
/**
 * @returns libtorch version, CUDA availability and the threading configuration
 * @example
 * const { torchVersion, hasCuda } = buildInfo();
 */
export function buildInfo(): { torchVersion: string; hasCuda: boolean; parallel: string } {
  return native.buildInfo();
}
