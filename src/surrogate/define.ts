/**
 * Surrogates of your own: defineSurrogate makes one from its g(x) written with tensor ops, and registerSurrogate gives it
 * a name that `--surrogate NAME[:PARAM]`, parseSurrogate and saved checkpoints resolve. It works everywhere a built-in
 * one does (neurons, training, the Dspike search aside, calibration): the neuron kernels then run step by step with
 * autograd instead of fused, so it costs a few times more per step than a built-in surrogate.
 */
import { invalidArg, SnnkitError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { SURROGATE_KIND, type Surrogate } from './surrogate.js';

/** What defineSurrogate takes. */
export interface SurrogateSpec {
  /** A name of letters, digits and underscores, not one of the built-in surrogates'. */
  name: string;
  /** Its one parameter, as the CLI's NAME:PARAM passes it (default 1). */
  param?: number;
  /** The parameter's name in toString() (default 'param'). */
  paramName?: string;
  /** g(x), x = u − V_th, as tensor ops on a tensor of any shape: the same shape back, finite values. */
  grad: (x: Tensor) => Tensor;
  /** Optionally the smooth step whose derivative g is. */
  primitive?: (x: Tensor) => Tensor;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** @throws SnnkitError unless name is a valid name that no built-in surrogate has */
export function checkSurrogateName(fn: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) throw invalidArg(fn, 'name', 'letters, digits and underscores, starting with a letter', name);
  if (name in SURROGATE_KIND)
    throw new SnnkitError(`${fn}: '${name}' is a built-in surrogate (${Object.keys(SURROGATE_KIND).join(', ')}); give yours another name`, 'INVALID_ARGUMENT');
}

/**
 * Makes a surrogate from its formula.
 * @returns a Surrogate for any neuron (`new LIF({ surrogate })`), the zoo, trainSnn and calibration
 * @throws SnnkitError naming the field: a bad or built-in name, a non-finite param, grad not a function
 * @example
 * // SuperSpike's fast sigmoid (Zenke & Ganguli 2018): g(x) = 1 / (1 + k|x|)²
 * const superspike = (k = 10) => defineSurrogate({ name: 'superspike', param: k, paramName: 'k',
 *   grad: (x) => x.abs().mul(k).add(1).square().reciprocal() });
 * new LIF({ surrogate: superspike() });
 */
export function defineSurrogate(spec: SurrogateSpec): Surrogate {
  checkSurrogateName('defineSurrogate', spec.name);
  const param = spec.param ?? 1;
  if (typeof param !== 'number' || !Number.isFinite(param)) throw invalidArg('defineSurrogate', 'param', 'a finite number', param);
  if (typeof spec.grad !== 'function') throw invalidArg('defineSurrogate', 'grad', 'a function of a tensor', spec.grad);
  const label = `${spec.name}(${spec.paramName ?? 'param'}=${param})`;
  return { name: spec.name, param, grad: spec.grad, ...(spec.primitive ? { primitive: spec.primitive } : {}), toString: () => label };
}
