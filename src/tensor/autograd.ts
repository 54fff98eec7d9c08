/** Grad mode: run code without recording the autograd graph. */
import { native } from '../native/load.js';

/**
 * Runs `fn` with gradient recording off (inference, statistics, optimizer updates), then restores the previous
 * mode, also when fn throws. Synchronous only: grad mode belongs to the calling thread.
 * @param fn the code to run
 * @returns what fn returns
 * @example
 * const logits = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * Runs `fn` with gradient recording on (inside a noGrad block, for example).
 * @returns what fn returns
 * @example
 * const y = noGrad(() => enableGrad(() => x.mul(2))); // y records gradients when x requires grad
 */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/**
 * @returns whether gradients are being recorded now
 * @example
 * isGradEnabled(); // true
 * noGrad(() => isGradEnabled()); // false
 */
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
