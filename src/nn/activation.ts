/** Clipped ReLU: the activation that removes the clipping error of ANN→SNN conversion (docs/methods.md §3). */
import { invalidArg } from '../errors.js';
import { full } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { ReLU } from './layers.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Options of ClippedReLU. */
export interface ClippedReLUOptions {
  /** Learn the clipping level by gradient descent (d out / d max = 1 where x > max), as trainable-threshold methods do. */
  learnable?: boolean;
}

/**
 * `min(max(x, 0), max)`. Training the ANN with it bounds every activation by `max`, so a converted SNN whose
 * threshold is `max` has no clipping error (Deng & Gu, ICLR 2021). With `learnable`, `max` is a parameter named
 * `max` (one scalar per layer).
 * @example
 * new ClippedReLU(1.0); new ClippedReLU(4, { learnable: true })
 */
export class ClippedReLU extends Module {
  /** The clipping level: a parameter when learnable, else a fixed number. */
  readonly max: Parameter | number;
  /**
   * @param max the clipping level, > 0
   * @throws SnnkitError when max is not a positive finite number
   */
  constructor(max = 1, opts: ClippedReLUOptions = {}) {
    super();
    if (!(Number.isFinite(max) && max > 0)) throw invalidArg('ClippedReLU', 'max', 'a positive finite number', max);
    if (opts.learnable) {
      const t = full([], max);
      this.max = this.registerParameter('max', new Parameter(t));
      t.dispose();
    } else this.max = max;
  }
  forward(x: Tensor): Tensor {
    if (typeof this.max === 'number') return x.clamp(0, this.max);
    // min(relu(x), max) with a tensor bound, so the gradient reaches max where x > max.
    return x.relu().minimum(this.max);
  }
  /** @returns the current clipping level as a number */
  level(): number {
    return typeof this.max === 'number' ? this.max : this.max.item();
  }
  protected override extraRepr(): string {
    return `max=${typeof this.max === 'number' ? this.max : 'learnable'}`;
  }
}

/**
 * The activation a model-zoo network uses: `make()` when given (the spiking zoo passes a neuron factory), else
 * ReLU, or ClippedReLU when `clip` is given.
 * @param clip the clipping level and whether it is learnable
 * @param make a factory of the activation module (one new module per call)
 * @returns a new module
 * @example
 * activation(); // a ReLU
 * activation({ max: 4, learnable: true }); // a ClippedReLU with a learnable level, initially 4
 */
export function activation(clip?: { max: number; learnable?: boolean }, make?: () => Module): Module {
  if (make) return make();
  return clip ? new ClippedReLU(clip.max, { learnable: clip.learnable ?? false }) : new ReLU();
}
