/**
 * Inputs made of identical copies. A spiking classifier with direct encoding feeds the same image at every time step,
 * folded into the batch as [T·N, ...]: a per-sample linear layer (Conv2d, Linear) that reads this input directly gives
 * T identical copies of one result. Such a layer computes it once, on the first N rows, and repeats it: the same
 * values, and autograd sums the T output gradients before the layer's own backward (conv1 of snn-mnist-cnn: 79 → 20 ms
 * of a training step at T = 4).
 */
import type { Tensor } from '../tensor/tensor.js';

let declared: { input: Tensor; copies: number } | undefined;
/**
 * Outputs of layers that computed once on a declared input, made of `copies` identical blocks, with that one block
 * (kept until the declaration ends, then disposed): during the call only.
 */
let repeatedOutputs: Map<Tensor, Repeated> | undefined;

/** A tensor made of identical blocks: how many, and one block (with its own autograd history). */
export interface Repeated {
  copies: number;
  block: Tensor;
}

/**
 * Runs fn with `input` declared as `copies` identical blocks of its batch ([copies·N, ...], block k = rows k·N..).
 * Only this tensor object is affected; layers that get any other tensor compute as usual.
 * @example
 * const y = withRepeatedInput(folded, T, () => body.forward(folded));
 */
export function withRepeatedInput<R>(input: Tensor, copies: number, fn: () => R): R {
  const outer = declared, outerOutputs = repeatedOutputs;
  declared = { input, copies };
  repeatedOutputs = new Map();
  try {
    return fn();
  } finally {
    for (const r of repeatedOutputs.values()) r.block.dispose();
    declared = outer;
    repeatedOutputs = outerOutputs;
  }
}

/**
 * `layer(x)` for a layer acting on each sample alone: computed on one block when x was declared as repeated copies.
 * @returns the layer's output on all of x
 * @example
 * forward(x: Tensor): Tensor { return perSample(x, (h) => F.linear(h, this.weight, this.bias)); }
 */
export function perSample(x: Tensor, layer: (x: Tensor) => Tensor): Tensor {
  const d = declared;
  if (d === undefined || d.input !== x || d.copies <= 1 || x.shape[0]! % d.copies !== 0) return layer(x);
  const n = x.shape[0]! / d.copies;
  const y = layer(x.narrow(0, 0, n));
  const out = y.unsqueeze(0).expand(d.copies, ...y.shape).reshape(d.copies * n, ...y.shape.slice(1));
  repeatedOutputs?.set(out, { copies: d.copies, block: y.keep() });
  return out;
}

/**
 * When x is the output of a layer that computed once on a declared input: how many identical blocks it is made of,
 * and the block the layer computed, which a consumer may use in its place (the fused batch norm + neuron does: it then
 * keeps one block for backward instead of all, and its input gradient skips the sum over the copies).
 * @returns undefined for any other tensor
 * @example
 * const rep = repeatedOf(x); const input = rep?.copies === T ? rep.block : x;
 */
export function repeatedOf(x: Tensor): Repeated | undefined {
  return repeatedOutputs?.get(x);
}
