/**
 * Finite-difference gradients (FDG) of a loss with respect to chosen elements of one parameter:
 *
 *   ∇_ε,i L = (L(w + ε e_i) − L(w − ε e_i)) / 2ε
 *
 * the reference the Dspike temperature search compares surrogate gradients with (Li et al., NeurIPS 2021). Two ways:
 * by changing the parameter and running the objective twice per element (any model), or batched for a
 * SpikingClassifier whose first layer owns the parameter: that layer runs once per perturbation and the rest of the
 * network runs all perturbations of a chunk as one batch (exact in eval mode, where batch norm uses its running
 * statistics, so that the samples of a batch do not interact).
 */
import { invalidArg, SnnkitError } from '../errors.js';
import type { SnnLoss } from '../functional/snn-loss.js';
import { snnLoss } from '../functional/snn-loss.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { SpikingClassifier } from '../neurons/classifier.js';
import { noGrad } from '../tensor/autograd.js';
import { randperm, stack, type Generator } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Which elements, and how far to step. */
export interface FdgOptions {
  /** The step ε > 0. */
  eps: number;
  /** Flat indices of the parameter's elements. */
  indices: readonly number[];
}

function checkFdg(fn: string, param: Parameter, o: FdgOptions): void {
  if (!(Number.isFinite(o.eps) && o.eps > 0)) throw invalidArg(fn, 'eps', 'a positive finite step', o.eps);
  const n = param.size;
  for (const i of o.indices) if (!(Number.isInteger(i) && i >= 0 && i < n)) throw invalidArg(fn, 'indices', `flat indices in [0, ${n})`, i, 'INDEX_OUT_OF_RANGE');
}

/**
 * Runs fn with param's flat element i moved by delta, then restores it exactly. fn gets the step actually taken (in
 * float32, old + delta rounds).
 */
function withElement<T>(param: Parameter, i: number, delta: number, fn: (taken: number) => T): T {
  const flat = param.view(-1);
  const old = flat.select(0, i).item();
  const taken = noGrad(() => tidy(() => flat.select(0, i).fill_(old + delta).item())) - old;
  try {
    return fn(taken);
  } finally {
    noGrad(() => flat.select(0, i).fill_(old));
    flat.dispose();
  }
}

/**
 * The central finite difference of `objective` for each chosen element of `param`, one pair of evaluations per element.
 * @param objective the loss as a number (run without gradients)
 * @returns ∇_ε,i L for each index, in the order given
 * @throws SnnkitError for ε ≤ 0 or an index outside the parameter
 * @example
 * const g = finiteDifferenceGradient(() => loss(model.forward(x), y).item(), conv.weight, { eps: 1e-3, indices: [0, 1, 2] });
 */
export function finiteDifferenceGradient(objective: () => number, param: Parameter, o: FdgOptions): Float64Array {
  checkFdg('finiteDifferenceGradient', param, o);
  const out = new Float64Array(o.indices.length);
  const f = (taken: number) => ({ taken, loss: noGrad(() => tidy(objective)) });
  o.indices.forEach((i, k) => {
    const plus = withElement(param, i, o.eps, f), minus = withElement(param, i, -o.eps, f);
    out[k] = (plus.loss - minus.loss) / (plus.taken - minus.taken);
  });
  return out;
}

/** The module that owns `param` directly. */
function ownerOf(model: Module, param: Parameter): Module {
  for (const m of model.modules()) if (m.namedParameters().some(([n, p]) => p === param && !n.includes('.'))) return m;
  throw new SnnkitError('batchedFdg: the parameter does not belong to the model', 'INVALID_ARGUMENT');
}

/**
 * The central finite difference for a SpikingClassifier, `chunk` perturbations per forward: the layer owning `param`
 * (the first layer) is patched to output, for each perturbation k, its output with w ± ε e_i, interleaved as
 * [T, K, N, ...] so that the rest of the network sees a batch of K·N samples per step. Needs the model in eval mode
 * (batch statistics would mix the perturbations) and a first layer through which every path to the output passes.
 * @param loss the training loss on the per-step outputs
 * @returns ∇_ε,i L for each index
 * @throws SnnkitError in training mode, for ε ≤ 0 or bad indices, or when the parameter is not the model's
 * @example
 * const g = batchedFdg(snn.eval(), x, y, { kind: 'tet' }, firstLayerWeight(snn), { eps: 1e-2, indices, chunk: 4 });
 */
export function batchedFdg(snn: SpikingClassifier, x: Tensor, y: Tensor, loss: SnnLoss, param: Parameter, o: FdgOptions & { chunk: number }): Float64Array {
  checkFdg('batchedFdg', param, o);
  if (snn.training) throw new SnnkitError('batchedFdg: the model must be in eval mode (batch norm with running statistics)', 'INVALID_ARGUMENT');
  if (!(Number.isInteger(o.chunk) && o.chunk >= 1)) throw invalidArg('batchedFdg', 'chunk', 'a positive integer', o.chunk);
  const layer = ownerOf(snn, param);
  const T = snn.T, N = y.shape[0]!;
  const out = new Float64Array(o.indices.length);
  const pert: { i: number; d: number; taken?: number }[] = o.indices.flatMap((i) => [{ i, d: o.eps }, { i, d: -o.eps }]);
  const losses_ = new Float64Array(pert.length);
  const orig = layer.forward;
  try {
    for (let c0 = 0; c0 < pert.length; c0 += o.chunk) {
      const part = pert.slice(c0, c0 + o.chunk), K = part.length;
      layer.forward = (inp: Tensor) => {
        const ys = part.map((p) => withElement(param, p.i, p.d, (taken) => {
          p.taken = taken;
          return orig.call(layer, inp);
        }));
        const st = stack(ys.map((t) => t.reshape(T, inp.shape[0]! / T, ...t.shape.slice(1))), 1);
        return st.flatten(0, 2);
      };
      const losses = noGrad(() => tidy(() => {
        const steps = snn.forwardSteps(x); // [T, K·N, C]
        const per = steps.reshape(T, K, N, ...steps.shape.slice(2));
        return part.map((_, k) => snnLoss(per.select(1, k), y, loss).item());
      }));
      losses_.set(losses, c0);
    }
  } finally {
    layer.forward = orig;
  }
  for (let j = 0; j < out.length; j++) out[j] = (losses_[2 * j]! - losses_[2 * j + 1]!) / (pert[2 * j]!.taken! - pert[2 * j + 1]!.taken!);
  return out;
}

/**
 * Draws `count` distinct flat indices of a parameter (all of them, in order, when count ≥ its size).
 * @returns the indices, sorted
 * @example const indices = sampleIndices(conv.weight, 256, new Generator(0));
 */
export function sampleIndices(param: Parameter, count: number, generator?: Generator): number[] {
  if (!(Number.isInteger(count) && count >= 1)) throw invalidArg('sampleIndices', 'count', 'a positive integer', count);
  const n = param.size;
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const p = randperm(n, { generator });
  const idx = p.toArray() as number[];
  p.dispose();
  return idx.slice(0, count).sort((a, b) => a - b);
}

/**
 * Cosine similarity of two vectors (0 when either is zero).
 * @example cosine(surrogateGrad, fdg)  // 1 when the two gradients point the same way
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
