/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (PyTorch 1.13's SGD). */
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type BaseOptions, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** SGD's options. */
export interface SGDOptions extends BaseOptions {
  /** Learning rate, >= 0 (required). */
  lr: number;
  /** Momentum factor, >= 0 (default 0: plain SGD). */
  momentum: number;
  /** Dampening of the gradient added to the momentum buffer, in [0, 1] (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient, >= 0 (default 0). */
  weightDecay: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov: boolean;
  /** Ascend the objective instead of descending it (default false). */
  maximize: boolean;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * SGD, exactly as PyTorch 1.13 (`torch.optim.SGD`). With g the gradient, p the parameter and b the momentum buffer:
 * ```
 * g = g + weightDecay * p
 * b = g (first step), else b = momentum * b + (1 - dampening) * g
 * g = nesterov ? g + momentum * b : b          (when momentum > 0)
 * p = p - lr * g
 * ```
 * State per parameter: `momentumBuffer` (when momentum > 0).
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * @param params the tensors to optimize, or parameter groups `{ params, ...options }`
   * @param options lr (required), momentum, dampening, weightDecay, nesterov, maximize
   * @throws SnnkitError naming the option when lr < 0, momentum < 0, weightDecay < 0, dampening outside [0, 1],
   *   nesterov without momentum > 0 and dampening 0, an unknown option, or bad params
   * @example
   * new SGD([{ params: body }, { params: head, lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
   */
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<SGDOptions>>, options: Partial<SGDOptions> & { lr: number }) {
    super('SGD', params, { lr: options?.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options);
  }

  protected override checkOptions(o: SGDOptions, where: string): void {
    if (!isNumber(o.lr) || o.lr < 0) this.optionError(where, 'lr', 'a number >= 0', o.lr);
    if (!isNumber(o.momentum) || o.momentum < 0) this.optionError(where, 'momentum', 'a number >= 0', o.momentum);
    if (!isNumber(o.dampening) || o.dampening < 0 || o.dampening > 1) this.optionError(where, 'dampening', 'a number in [0, 1]', o.dampening);
    if (!isNumber(o.weightDecay) || o.weightDecay < 0) this.optionError(where, 'weightDecay', 'a number >= 0', o.weightDecay);
    if (typeof o.nesterov !== 'boolean') this.optionError(where, 'nesterov', 'a boolean', o.nesterov);
    if (typeof o.maximize !== 'boolean') this.optionError(where, 'maximize', 'a boolean', o.maximize);
    if (o.nesterov && !(o.momentum > 0 && o.dampening === 0))
      this.optionError(where, 'nesterov', `false unless momentum > 0 and dampening = 0 (momentum ${o.momentum}, dampening ${o.dampening})`, o.nesterov);
  }

  protected override updateParam(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SGDOptions>): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
    if (g.momentum !== 0) {
      let buf = state['momentumBuffer'] as Tensor | undefined;
      if (buf === undefined) state['momentumBuffer'] = buf = d.clone().keep();
      else buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
