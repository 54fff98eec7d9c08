/** Parameter: a tensor that a Module trains. */
import { Tensor } from '../tensor/tensor.js';

/**
 * A tensor registered as trainable state of a Module. It shares `data`'s storage, requires grad by default, and is
 * kept alive across scopes (it lives as long as its module; Module.dispose() frees it).
 * @example
 * this.weight = this.registerParameter('weight', new Parameter(zeros([10, 4])));
 */
export class Parameter extends Tensor {
  /**
   * Makes a trainable tensor that modules register with registerParameter.
   * @param data the initial values (shared, not copied; `data` itself may be disposed afterwards)
   * @param requiresGrad whether the optimizer trains it (default true)
   */
  constructor(data: Tensor, requiresGrad = true) {
    super(Tensor.detachedHandle(data));
    if (requiresGrad) this.requiresGrad_(true);
    this.keep();
  }
}
