/** Option keys as the command line spells them. */

/**
 * @param keys commander option keys, e.g. ['framesBy', 'denoise']
 * @returns '--frames-by, --denoise'
 * @example
 * throw new SnnkitError(`${flagList(['framesBy'])}: not event data`, 'INVALID_ARGUMENT');
 */
export function flagList(keys: readonly string[]): string {
  return keys.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ');
}
