/**
 * The Optimizer base class: parameter groups with their own hyper-parameters, per-parameter state, zeroGrad,
 * stateDict/loadStateDict in PyTorch's layout, and one update loop that runs under noGrad and inside tidy so that a
 * step never leaks a tensor.
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { zerosLike } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** A hyper-parameter value: a number, a flag, or a tuple such as Adam's betas. */
export type HyperParam = number | boolean | readonly number[];
/** Hyper-parameters every optimizer has. */
export interface BaseOptions {
  /** Learning rate. */
  lr: number;
}
/** A parameter group as given to a constructor: its tensors and any options that differ from the defaults. */
export type ParamGroupInput<O extends BaseOptions> = { params: Iterable<Tensor> } & Partial<O>;
/** A parameter group as the optimizer holds it: its tensors, all its options, and the lr schedules started from. */
export type ParamGroup<O extends BaseOptions> = O & {
  params: Tensor[];
  /** The lr when the first schedule was attached (PyTorch's `initial_lr`); set by schedules. */
  initialLr?: number;
};
/** Per-parameter state: tensors kept by the optimizer (moments, buffers) and counters. */
export type ParamState = Record<string, Tensor | number>;
/**
 * An optimizer's state in PyTorch's layout: state keyed by the parameter's index counted across all groups in
 * order, and each group's hyper-parameters with `params` listing those indices.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, HyperParam> & { params: number[] }>;
}

/**
 * Base class of the optimizers. Subclasses give their defaults, validate a group's options and update one parameter.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * for (const [x, y] of batches) { opt.zeroGrad(); tidy(() => lossOf(x, y).backward()); opt.step(); }
 */
export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  /** The parameter groups; change `lr` (or any option) here between steps. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state; every tensor in it is kept and owned by the optimizer. */
  readonly state = new Map<Tensor, ParamState>();
  /** The name used in error messages, e.g. 'SGD'. */
  protected readonly name: string;
  private readonly defaults: O;
  private disposed = false;

  /**
   * @param name the class name for messages
   * @param params the tensors to optimize, or parameter groups whose options override the others
   * @param defaults every option with its default value (the keys are the valid options)
   * @param options the caller's options, overriding `defaults` for every group
   * @throws SnnkitError when params is empty, holds a non-leaf tensor or the same tensor twice, or an option is
   *   unknown or invalid
   */
  protected constructor(name: string, params: Iterable<Tensor> | Iterable<ParamGroupInput<O>>, defaults: O, options: Partial<O>) {
    this.name = name;
    this.checkKeys(options, 'options', Object.keys(defaults));
    this.defaults = { ...defaults, ...options };
    this.checkOptions(this.defaults, 'options');
    const list = [...(params as Iterable<Tensor | ParamGroupInput<O>>)];
    if (list.length === 0) throw invalidArg(name, 'params', 'a non-empty list of tensors or parameter groups', list);
    if (list.every((p) => p instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list) this.addParamGroup(g as ParamGroupInput<O>);
  }

  /**
   * Adds a group of parameters with its own options (for fine-tuning a layer at another lr, for example).
   * @param group `{ params, ...options }`; missing options take the constructor's defaults
   * @throws SnnkitError for an unknown or invalid option, an empty group, a non-leaf tensor, or a tensor already held
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = `paramGroups[${this.paramGroups.length}]`;
    const iterable = (v: unknown) => v !== null && typeof v === 'object' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function';
    if (group === null || typeof group !== 'object' || !iterable(group.params) || group.params instanceof Tensor)
      throw invalidArg(this.name, where, 'an object { params: Tensor[], ...options }', group);
    const params = [...group.params];
    if (params.length === 0) throw invalidArg(this.name, `${where}.params`, 'a non-empty list of tensors', params);
    const held = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw invalidArg(this.name, `${where}.params[${i}]`, 'a Tensor', p);
      if (!p.isLeaf) throw invalidArg(this.name, `${where}.params[${i}]`, 'a leaf tensor (a parameter, not the result of an op)', p);
      if (held.has(p)) throw invalidArg(this.name, `${where}.params[${i}]`, 'a tensor in no other parameter group', p);
      held.add(p);
    });
    const { params: _ignored, ...opts } = group;
    this.checkKeys(opts, where, [...Object.keys(this.defaults), 'initialLr']);
    const full = { ...this.defaults, ...opts, params } as ParamGroup<O>;
    this.checkOptions(full, where);
    this.paramGroups.push(full);
  }

  /**
   * Clears the gradients of every parameter.
   * @param opts setToNone (default true): drop `.grad` (as PyTorch); false: fill it with zeros instead
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    tidy(() => {
      for (const p of this.allParams()) {
        if (setToNone) p.grad = undefined;
        else p.grad?.zero_();
      }
    });
  }

  /**
   * Updates every parameter that has a gradient, once. Runs under noGrad and inside tidy: the live tensor count is
   * the same before and after (apart from state created at the first step).
   * @throws SnnkitError (DISPOSED) after dispose()
   */
  step(): void {
    this.checkAlive('step');
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups)
          for (const p of group.params) {
            const grad = p.grad;
            if (grad === undefined) continue;
            let state = this.state.get(p);
            if (state === undefined) this.state.set(p, (state = {}));
            this.updateParam(p, grad, state, group);
          }
      }),
    );
  }

  /**
   * Update one parameter in place. Runs inside noGrad and tidy: tensors it creates are freed afterwards unless they
   * are kept, so new state tensors must be `keep()`-ed.
   * @param param the parameter
   * @param grad its gradient
   * @param state its state (empty at the first step); write kept tensors and numbers here
   * @param group its group's options
   */
  protected abstract updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): void;

  /**
   * Checks one group's options.
   * @param opts the options
   * @param where where they come from, for messages ('options', 'paramGroups[1]')
   * @throws SnnkitError naming the option and the expected value
   */
  protected abstract checkOptions(opts: O, where: string): void;

  /**
   * Throws the standard message for a bad option.
   * @returns never
   */
  protected optionError(where: string, key: string, expected: string, got: unknown): never {
    throw invalidArg(this.name, where === 'options' ? key : `${where}.${key}`, expected, got);
  }

  /**
   * The state and options, in PyTorch's layout. The state tensors are the optimizer's own (not copies): do not dispose
   * them; they stay valid until loadStateDict() or dispose().
   * @returns `{ state, paramGroups }`
   * @example
   * const sd = opt.stateDict(); other.loadStateDict(sd);
   */
  stateDict(): OptimizerStateDict {
    this.checkAlive('stateDict');
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const { params, ...opts } of this.paramGroups) {
      const ids: number[] = [];
      for (const p of params) {
        const s = this.state.get(p);
        if (s !== undefined) state[index] = { ...s };
        ids.push(index++);
      }
      const copy: Record<string, HyperParam> = {};
      for (const [k, v] of Object.entries(opts)) if (v !== undefined) copy[k] = Array.isArray(v) ? [...v] : (v as HyperParam);
      paramGroups.push({ ...copy, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Replaces the state and the groups' options with those of `sd`. Tensors are copied (and cast to each parameter's
   * dtype), so the caller keeps ownership of `sd`.
   * @param sd a state dict from stateDict() of an optimizer of the same kind over the same parameter layout
   * @throws SnnkitError (STATE_DICT_MISMATCH) when the group count, a group's size or a state tensor's shape differs;
   *   (INVALID_ARGUMENT) when an option is invalid
   */
  loadStateDict(sd: OptimizerStateDict): void {
    this.checkAlive('loadStateDict');
    const fn = `${this.name}.loadStateDict`;
    const mismatch = (what: string) => new SnnkitError(`${fn}: ${what}`, 'STATE_DICT_MISMATCH');
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object')
      throw invalidArg(fn, 'sd', 'an object { state, paramGroups } from stateDict()', sd);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw mismatch(`the state dict has ${sd.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((g, i) => {
      const mine = this.paramGroups[i]!.params;
      if (g.params.length !== mine.length)
        throw mismatch(`parameter group ${i} has ${g.params.length} parameters in the state dict, ${mine.length} here`);
      g.params.forEach((id, j) => byIndex.set(id, mine[j]!));
    });
    const groups = sd.paramGroups.map((g, i) => {
      const { params: _ids, ...opts } = g;
      const merged = { ...this.paramGroups[i]!, ...opts, params: this.paramGroups[i]!.params } as ParamGroup<O>;
      this.checkOptions(merged, `paramGroups[${i}]`);
      return merged;
    });
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw mismatch(`state entry ${key} names no parameter of the groups`);
      for (const [name, v] of Object.entries(entry))
        if (v instanceof Tensor && v.shape.join(',') !== p.shape.join(','))
          throw mismatch(`state '${name}' of parameter ${key} has shape [${v.shape}], the parameter has [${p.shape}]`);
    }
    const state = noGrad(() => {
      const out = new Map<Tensor, ParamState>();
      for (const [key, entry] of Object.entries(sd.state)) {
        const p = byIndex.get(Number(key))!;
        const copy: ParamState = {};
        for (const [name, v] of Object.entries(entry)) copy[name] = v instanceof Tensor ? zerosLike(p).copy_(v).keep() : v;
        out.set(p, copy);
      }
      return out;
    });
    this.freeState();
    for (const [p, s] of state) this.state.set(p, s);
    groups.forEach((g, i) => (this.paramGroups[i] = g));
  }

  /** Frees every state tensor. The optimizer cannot step afterwards. Idempotent. */
  dispose(): void {
    this.freeState();
    this.disposed = true;
  }

  private checkKeys(opts: object, where: string, known: string[]): void {
    if (opts === null || typeof opts !== 'object') throw invalidArg(this.name, where, 'an object of options', opts);
    for (const key of Object.keys(opts))
      if (!known.includes(key))
        throw new SnnkitError(`${this.name}: unknown option '${key}' in ${where}; the options are ${known.filter((k) => k !== 'initialLr').join(', ')}`);
  }

  private freeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  private checkAlive(method: string): void {
    if (this.disposed) throw new SnnkitError(`${this.name}.${method}: the optimizer was disposed`, 'DISPOSED');
  }
}
