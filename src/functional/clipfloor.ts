/** The closed form of an IF neuron's rate under constant input (Deng & Gu, ICLR 2021; docs/methods.md §3, §5). */
import { invalidArg } from '../errors.js';
import { native } from '../native/load.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

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

/**
 * clipfloor with the floor passed straight through, as a trainable activation (the quantize step's, and QCFS's):
 * the value of {@link clipFloor}, the gradient 1 in x where floor(x · T / V + shift) lies in [0, T] (0 elsewhere), and
 * a gradient in V (a learnt threshold). One fused pass forward and one backward (native/src/ops/clipfloor.cc).
 * @param x pre-activations [N, C, ...] (or [N]), float32 or float64
 * @param T the levels (time steps) of the rate
 * @param V the threshold: a number, or a tensor of x's dtype holding one value or one per channel (x's dim 1), e.g. [C, 1, 1]
 * @param shift the initial potential as a fraction of V (0.5: rounding)
 * @throws SnnkitError unless T is a positive integer, shift finite, a number V positive and finite, a tensor V of 1 or C values
 * @example clipFloorSte(z, 4, threshold, 0.5).sum().backward()  // threshold.grad: dL/dV
 */
export function clipFloorSte(x: Tensor, T: number, V: number | Tensor, shift = 0): Tensor {
  if (!Number.isInteger(T) || T < 1) throw invalidArg('clipFloorSte', 'T', 'a positive integer', T);
  if (!Number.isFinite(shift)) throw invalidArg('clipFloorSte', 'shift', 'a finite number', shift);
  if (typeof V === 'number') {
    if (!(Number.isFinite(V) && V > 0)) throw invalidArg('clipFloorSte', 'V', 'a positive finite number', V);
    const v = tensor([V], { dtype: x.dtype });
    try { return new Tensor(native.clipFloorSte(x.handle, v.handle, T, shift)); } finally { v.dispose(); }
  }
  const C = x.ndim >= 2 ? x.shape[1]! : 1;
  if (V.size !== 1 && V.size !== C) throw invalidArg('clipFloorSte', 'V', `a tensor of 1 value or one per channel (${C})`, `a tensor of ${V.size} values`);
  if (x.device !== 'cpu' || V.device !== 'cpu') return composite(x, T, V.size === 1 || x.ndim < 2 ? V : V.reshape(C, ...new Array<number>(x.ndim - 2).fill(1)), shift);
  return new Tensor(native.clipFloorSte(x.handle, V.handle, T, shift));
}

/** The same as ATen ops (the kernel is CPU-only; a CUDA build runs this on the GPU). */
function composite(z: Tensor, T: number, V: Tensor, shift: number): Tensor {
  const u = z.mul(T).div(V).add(shift);
  return u.add(u.floor().sub(u).detach()).clamp(0, T).mul(V).div(T);
}
