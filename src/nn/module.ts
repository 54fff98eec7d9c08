/**
 * Module: the base of every layer and model. Parameters, buffers and children are registered by name, giving
 * PyTorch-compatible state-dict keys ("layer1.0.conv1.weight").
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';

/** Named tensors, in registration order. */
export type StateDict = Record<string, Tensor>;

/** What loadStateDict reports. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of layers and models. Subclasses register their state in the constructor and implement forward().
 * @example
 * class Net extends Module { fc = this.registerModule('fc', new Linear(4, 2)); forward(x: Tensor) { return this.fc.forward(x); } }
 */
export abstract class Module<I extends unknown[] = [Tensor], O = Tensor> {
  /** Training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private readonly params_ = new Map<string, Parameter>();
  private readonly buffers_ = new Map<string, { t: Tensor; persistent: boolean; optional: boolean }>();
  private readonly modules_ = new Map<string, Module<any, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly memories_ = new Map<string, Tensor | undefined>();

  /** The computation. */
  abstract forward(...inputs: I): O;

  /**
   * Registers a parameter under `name` (replacing one of the same name).
   * @returns the parameter, for assignment to a field
   * @throws SnnkitError when the name is empty or contains '.'
   */
  registerParameter<P extends Parameter>(name: string, p: P): P {
    this.checkName('registerParameter', name);
    this.params_.set(name, p);
    return p;
  }
  /**
   * Registers a buffer: state that is saved (if persistent) but not trained, such as batch-norm running statistics.
   * @param opts persistent (default true): part of stateDict(); optional: a state dict without it still loads
   *   strictly (batch norm's num_batches_tracked, absent from checkpoints older than PyTorch 0.4.1)
   * @returns the tensor, kept alive for the module's lifetime
   */
  registerBuffer(name: string, t: Tensor, opts: { persistent?: boolean; optional?: boolean } = {}): Tensor {
    this.checkName('registerBuffer', name);
    this.buffers_.set(name, { t: t.keep(), persistent: opts.persistent ?? true, optional: opts.optional ?? false });
    return t;
  }
  /** Registers a child module. @returns the child, for assignment to a field */
  registerModule<M extends Module<any, any>>(name: string, m: M): M { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.checkName('registerModule', name);
    if (!(m instanceof Module)) throw invalidArg('registerModule', 'module', 'a Module', m);
    this.modules_.set(name, m);
    return m;
  }
  private checkName(fn: string, name: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw invalidArg(fn, 'name', "a non-empty string without '.'", name);
  }

  /**
   * Declares a memory: state that evolves during a forward pass (a membrane potential), kept apart from parameters and
   * buffers, never in stateDict(), and cleared by resetMemories() (as SpikingJelly's register_memory).
   */
  protected registerMemory(name: string): void {
    this.checkName('registerMemory', name);
    this.memories_.set(name, undefined);
  }
  /** @returns the memory's current tensor, or undefined before the first step / after a reset */
  protected getMemory(name: string): Tensor | undefined {
    return this.memories_.get(name);
  }
  /** Replaces a memory's tensor (kept alive across scopes; the previous one is disposed). */
  protected setMemory(name: string, t: Tensor | undefined): void {
    const old = this.memories_.get(name);
    if (old && old !== t) old.dispose();
    this.memories_.set(name, t?.keep());
  }
  /** Clears the memories of this module and all descendants: call between independent inputs (each batch). */
  resetMemories(): void {
    for (const m of this.modules()) for (const k of m.memories_.keys()) m.setMemory(k, undefined);
  }
  /**
   * Keeps only some samples of a running batch: every memory of this module and its descendants that holds a tensor is
   * replaced by its rows `index` along dimension 0 (the batch), so that samples which have finished (early exit) stop
   * costing compute while the others go on exactly as before.
   * @param index int64 row indices, in the order the next inputs will have
   * @example
   * snn.selectMemories(tensor([0, 2, 3], { dtype: 'int64' })); // sample 1 left the batch; feed the others' inputs next
   */
  selectMemories(index: Tensor): void {
    for (const m of this.modules()) {
      for (const [k, t] of m.memories_) if (t) m.setMemory(k, t.indexSelect(0, index));
    }
  }
  /** @returns [qualified name, tensor] of every memory that holds a tensor now */
  namedMemories(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.memories_) if (t) out.push([prefix ? `${prefix}.${n}` : n, t]);
    for (const [n, m] of this.modules_) out.push(...m.namedMemories(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** @returns [name, child] pairs of the direct children */
  namedChildren(): [string, Module<any, any>][] { // eslint-disable-line @typescript-eslint/no-explicit-any
    return [...this.modules_];
  }
  /** @returns the direct children */
  children(): Module<any, any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
    return [...this.modules_.values()];
  }
  /** @returns [qualified name, module] for this module ('') and every descendant, depth first */
  namedModules(prefix = ''): [string, Module<any, any>][] { // eslint-disable-line @typescript-eslint/no-explicit-any
    const out: [string, Module<any, any>][] = [[prefix, this]]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const [n, m] of this.modules_) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  /** @returns this module and every descendant */
  modules(): Module<any, any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.namedModules().map(([, m]) => m);
  }
  /** @returns [qualified name, parameter] pairs, this module's first, then each child's */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [n, p] of this.params_) out.push([prefix ? `${prefix}.${n}` : n, p]);
    for (const [n, m] of this.modules_) out.push(...m.namedParameters(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  /** @returns all parameters (for an optimizer) */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }
  /** @returns [qualified name, buffer] pairs (persistent and not) */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.buffers_) out.push([prefix ? `${prefix}.${n}` : n, b.t]);
    for (const [n, m] of this.modules_) out.push(...m.namedBuffers(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  /** @returns all buffers */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }
  private persistentEntries(prefix: string, optional?: Set<string>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params_) out.push([prefix + n, p]);
    for (const [n, b] of this.buffers_) {
      if (!b.persistent) continue;
      out.push([prefix + n, b.t]);
      if (b.optional) optional?.add(prefix + n);
    }
    for (const [n, m] of this.modules_) out.push(...m.persistentEntries(`${prefix}${n}.`, optional));
    return out;
  }

  /**
   * Sets training mode on this module and all descendants.
   * @returns this
   */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Sets evaluation mode. @returns this */
  eval(): this {
    return this.train(false);
  }
  /** Clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = undefined;
  }
  /**
   * Calls fn on every module (children first, as PyTorch).
   * @returns this
   */
  apply(fn: (m: Module<any, any>) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * The persistent state: parameters and persistent buffers by qualified name. The values are new handles to the
   * same data (detached): dispose them, or call inside tidy().
   * @returns a StateDict in registration order
   */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [k, t] of this.persistentEntries('')) sd[k] = t.detach();
    return sd;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers (dtype converted, shapes must match).
   * @param sd name → tensor
   * @param opts strict (default true): missing or unexpected keys are an error
   * @returns the missing and unexpected keys
   * @throws SnnkitError (STATE_DICT_MISMATCH) naming every missing/unexpected key (strict) and every shape mismatch
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const optional = new Set<string>();
    const own = new Map(this.persistentEntries('', optional));
    const missingKeys = [...own.keys()].filter((k) => !src.has(k) && !optional.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    const shapeErrors: string[] = [];
    for (const [k, t] of own) {
      const s = src.get(k);
      if (s && s.shape.join(',') !== t.shape.join(',')) shapeErrors.push(`${k}: checkpoint ${s.describe()} vs model ${t.describe()}`);
    }
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (shapeErrors.length) problems.push(`shape mismatches: ${shapeErrors.join('; ')}`);
    if (problems.length)
      throw new SnnkitError(`loadStateDict: ${this.constructor.name} does not match the state dict: ${problems.join('. ')}`, 'STATE_DICT_MISMATCH');
    noGrad(() => {
      for (const [k, t] of own) {
        const s = src.get(k);
        if (s) t.copy_(s);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Converts floating-point parameters and buffers to `dtype` in place (the objects stay the same, so fields and
   * optimizers keep working). Integer buffers (counters) are left as they are.
   * @returns this
   */
  to(dtype: DType): this {
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        if (t.dtype === 'float32' || t.dtype === 'float64') {
          const c = t.to(dtype);
          t.setData_(c);
          c.dispose();
        }
      }
    });
    return this;
  }

  /** Frees every parameter and buffer of this module and its descendants. The module is unusable afterwards. */
  dispose(): void {
    this.resetMemories();
    for (const p of this.parameters()) p.dispose();
    for (const b of this.buffers()) b.dispose();
  }

  /** @returns a one-line-per-module summary, as PyTorch prints modules */
  toString(): string {
    const lines = [`${this.constructor.name}(${this.extraRepr()}`];
    for (const [n, m] of this.modules_) lines.push(`  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return lines.length === 1 ? `${lines[0]})` : `${lines.join('\n')}\n)`;
  }
  /** @returns the layer's settings for toString() */
  protected extraRepr(): string {
    return '';
  }
}
