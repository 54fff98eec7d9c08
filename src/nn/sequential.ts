/** Sequential: children applied in order. */
import { invalidArg } from '../errors.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { childPath, type GraphComposite, type GraphLowering } from './graph.js';
import { Module } from './module.js';

/** A module that can run fused with the module before it in a Sequential (a spiking neuron after batch norm). */
export interface FusesWithPrevious {
  /** @returns prev followed by this module as one function, or undefined when they cannot be fused */
  fuseWithPrevious(prev: Module): ((x: Tensor) => Tensor) | undefined;
}
const fuserOf = (m: Module | undefined): FusesWithPrevious | undefined =>
  m && typeof (m as Partial<FusesWithPrevious>).fuseWithPrevious === 'function' ? (m as unknown as FusesWithPrevious) : undefined;

/**
 * Applies its children in order. Children are named "0", "1", ... (or by the keys of an object), as PyTorch, so
 * state-dict keys match `nn.Sequential`.
 * @example
 * const net = new Sequential(new Conv2d(1, 8, 3), new ReLU(), new Flatten(), new Linear(8 * 26 * 26, 10));
 */
export class Sequential extends Module implements GraphComposite {
  private readonly layers: Module[];
  /**
   * Run each child in its own scope and dispose each intermediate output as soon as the next child has consumed it
   * (autograd keeps what it saved), instead of leaving them to the caller's scope: the scope of a training step otherwise holds every activation until the step
   * ends, including those autograd never needed or already freed during backward. Off by default, because code that
   * keeps a child's input or output from a patched forward (conversion analysis) needs them alive.
   */
  releaseIntermediates = false;
  /**
   * Makes the container; its children are named "0", "1", ... or by the object's keys.
   * @param layers modules, or one object of name → module
   */
  constructor(...layers: Module[] | [Record<string, Module>]) {
    super();
    const first = layers[0];
    const entries: [string, Module][] = layers.length === 1 && first !== undefined && !(first instanceof Module)
      ? Object.entries(first)
      : (layers as Module[]).map((m, i) => [String(i), m]);
    for (const [n, m] of entries) if (!(m instanceof Module)) throw invalidArg('Sequential', n, 'a Module', m);
    this.layers = entries.map(([n, m]) => this.registerModule(n, m));
  }
  /** Lists its children in turn, each under `${name}.${child}`. */
  toNodes(input: string, name: string, g: GraphLowering): string {
    let v = input;
    for (const [child, c] of this.namedChildren()) v = g.lower(c, v, childPath(name, child));
    return v;
  }
  /** Number of children. */
  get length(): number {
    return this.layers.length;
  }
  /** @returns the i-th child (negative counts from the end) */
  at(i: number): Module {
    const m = this.layers.at(i);
    if (!m) throw invalidArg('Sequential.at', 'index', `in [-${this.layers.length}, ${this.layers.length})`, i, 'INDEX_OUT_OF_RANGE');
    return m;
  }
  /**
   * Run a child together with the one before it when the child offers it (FusesWithPrevious: a folded spiking neuron
   * after batch norm keeps a third of the activations for backward). Off by default: the pair's own forward methods
   * (and anything patched into them) are then not called. SpikingClassifier turns it on.
   */
  fuseLayers = false;
  forward(x: Tensor): Tensor {
    let y = x;
    for (const step of this.steps()) {
      if (!this.releaseIntermediates) {
        y = step(y);
        continue;
      }
      // Each child in its own scope: its temporaries (views included) go when it returns, and its input once consumed.
      const input = y;
      const next = tidy(() => step(input));
      if (input !== x && next !== input) input.dispose();
      y = next;
    }
    return y;
  }
  /** What forward runs: each child, or a child fused with the one before it (fuseLayers). */
  private steps(): ((x: Tensor) => Tensor)[] {
    const out: ((x: Tensor) => Tensor)[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i]!;
      const fused = this.fuseLayers ? fuserOf(this.layers[i + 1])?.fuseWithPrevious(m) : undefined;
      if (fused) i++;
      out.push(fused ?? ((h) => m.forward(h)));
    }
    return out;
  }
}
