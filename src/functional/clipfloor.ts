/** The closed form of an IF neuron's rate under constant input (Deng & Gu, ICLR 2021; docs/methods.md §3, §5). */
import { invalidArg } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * clipfloor(x, T, V) = (V / T) · clip(floor(x · T / V + shift), 0, T): the firing rate (spikes × V_th, per step) of an
 * IF neuron with soft reset, threshold V, driven by the constant current x for T steps, starting at v0 = shift · V.
 * shift = 0.5 is the V_th/2 shift that turns flooring into rounding.
 * @returns a tensor of x's shape
 * @throws SnnkitError unless T is a positive integer, vTh a positive finite number and shift finite
 * @example clipFloor(z, 32, vTh, 0.5)
 */
export function clipFloor(x: Tensor, T: number, vTh: number, shift = 0): Tensor {
  if (!Number.isInteger(T) || T < 1) throw invalidArg('clipFloor', 'T', 'a positive integer', T);
  if (!(Number.isFinite(vTh) && vTh > 0)) throw invalidArg('clipFloor', 'vTh', 'a positive finite number', vTh);
  if (!Number.isFinite(shift)) throw invalidArg('clipFloor', 'shift', 'a finite number', shift);
  return x.mul(T / vTh).add(shift).floor().clamp(0, T).mul(vTh / T);
}
