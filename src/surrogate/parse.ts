/** Surrogates by name, as the CLI takes them: `NAME` or `NAME:PARAM` (e.g. `atan:2`, `dspike:3`). */
import { SnnkitError } from '../errors.js';
import { atan } from './atan.js';
import { dspike } from './dspike.js';
import { exponential } from './exponential.js';
import { rectangle } from './rectangle.js';
import { sigmoid } from './sigmoid.js';
import { SURROGATE_KIND, type Surrogate, type SurrogateName } from './surrogate.js';
import { triangle } from './triangle.js';

/** Makes a surrogate from its name and its one parameter (undefined for the default). */
export function makeSurrogate(name: SurrogateName, param?: number): Surrogate {
  switch (name) {
    case 'rectangle': return rectangle({ a: param });
    case 'triangle': return triangle({ gamma: param });
    case 'exponential': return exponential({ k: param });
    case 'sigmoid': return sigmoid({ k: param });
    case 'atan': return atan({ alpha: param });
    case 'dspike': return dspike({ b: param });
  }
}

/**
 * Parses `NAME[:PARAM]`.
 * @returns the surrogate
 * @throws SnnkitError naming the spec, the valid names and what PARAM must be
 * @example parseSurrogate('dspike:3')
 */
export function parseSurrogate(spec: string): Surrogate {
  const [name, arg, extra] = spec.split(':');
  const names = Object.keys(SURROGATE_KIND);
  if (!names.includes(name ?? '') || extra !== undefined)
    throw new SnnkitError(`--surrogate: '${spec}' is not a surrogate: expected NAME or NAME:PARAM with NAME one of ${names.join(', ')}`, 'INVALID_ARGUMENT');
  const param = arg === undefined ? undefined : Number(arg);
  if (param !== undefined && (arg!.trim() === '' || !(Number.isFinite(param) && param > 0)))
    throw new SnnkitError(`--surrogate: '${spec}' has parameter '${arg}': expected a positive number`, 'INVALID_ARGUMENT');
  return makeSurrogate(name as SurrogateName, param);
}
