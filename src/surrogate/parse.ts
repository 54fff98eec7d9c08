/** Surrogates by name, as the CLI takes them: `NAME` or `NAME:PARAM` (e.g. `atan:2`, `dspike:3`), yours included. */
import { invalidArg, SnnkitError } from '../errors.js';
import { atan } from './atan.js';
import { checkSurrogateName } from './define.js';
import { dspike } from './dspike.js';
import { exponential } from './exponential.js';
import { rectangle } from './rectangle.js';
import { sigmoid } from './sigmoid.js';
import { SURROGATE_KIND, type Surrogate, type SurrogateName } from './surrogate.js';
import { triangle } from './triangle.js';

const registered = new Map<string, (param?: number) => Surrogate>();

/**
 * Gives a surrogate of your own a name for parseSurrogate, `--surrogate NAME[:PARAM]` (load it with `snnkit
 * --plugin FILE`) and checkpoints that store it. Registering a name again replaces the factory.
 * @param make the surrogate for a parameter (undefined: your default); its `name` must be `name`
 * @throws SnnkitError for a bad or built-in name
 * @example registerSurrogate('superspike', (k = 10) => superspike(k))
 */
export function registerSurrogate(name: string, make: (param?: number) => Surrogate): void {
  checkSurrogateName('registerSurrogate', name);
  if (typeof make !== 'function') throw invalidArg('registerSurrogate', 'make', 'a function from a parameter to a Surrogate', make);
  registered.set(name, make);
}

/**
 * The names parseSurrogate knows: the built-in ones, then the registered ones.
 * @example surrogateNames() // ['rectangle', 'triangle', 'exponential', 'sigmoid', 'atan', 'dspike', ...yours]
 */
export function surrogateNames(): string[] {
  return [...Object.keys(SURROGATE_KIND), ...registered.keys()];
}

/**
 * Makes a surrogate from its name (built-in or registered) and its one parameter (undefined for the default).
 * @throws SnnkitError for an unknown name, or a registered factory that returns another surrogate's name
 * @example makeSurrogate('atan', 4) // the same as atan({ sharpness: 4 })
 */
export function makeSurrogate(name: SurrogateName | string, param?: number): Surrogate {
  switch (name) {
    case 'rectangle': return rectangle({ a: param });
    case 'triangle': return triangle({ gamma: param });
    case 'exponential': return exponential({ k: param });
    case 'sigmoid': return sigmoid({ k: param });
    case 'atan': return atan({ sharpness: param });
    case 'dspike': return dspike({ b: param });
  }
  const make = registered.get(name);
  if (!make) throw invalidArg('makeSurrogate', 'name', `one of ${surrogateNames().join(', ')}`, name);
  const s = make(param);
  if (s?.name !== name || typeof s.grad !== 'function')
    throw new SnnkitError(`makeSurrogate: the factory registered as '${name}' returned ${s?.name === undefined ? 'no surrogate' : `'${s.name}'`}`, 'INVALID_ARGUMENT');
  return s;
}

/**
 * Parses `NAME[:PARAM]`.
 * @returns the surrogate
 * @throws SnnkitError naming the spec, the valid names and what PARAM must be
 * @example parseSurrogate('dspike:3')
 */
export function parseSurrogate(spec: string): Surrogate {
  const [name, arg, extra] = spec.split(':');
  const names = surrogateNames();
  if (!names.includes(name ?? '') || extra !== undefined)
    throw new SnnkitError(`--surrogate: '${spec}' is not a surrogate: expected NAME or NAME:PARAM with NAME one of ${names.join(', ')}`, 'INVALID_ARGUMENT');
  const param = arg === undefined ? undefined : Number(arg);
  if (param !== undefined && (arg!.trim() === '' || !(Number.isFinite(param) && param > 0)))
    throw new SnnkitError(`--surrogate: '${spec}' has parameter '${arg}': expected a positive number`, 'INVALID_ARGUMENT');
  return makeSurrogate(name!, param);
}
