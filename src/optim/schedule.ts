/**
 * Learning-rate schedules. Each sets every group's `lr` from a closed form of the step count and the group's base
 * lr (its lr when the first schedule was attached), so the values equal PyTorch's schedulers up to rounding.
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { Optimizer, type BaseOptions } from './optimizer.js';

/**
 * Base class of the schedules: counts steps, keeps the base lrs and writes the lr of each group.
 * Call `step()` once per epoch (or iteration), after `optimizer.step()`.
 * @example
 * const sched: LRSchedule = cosine ? new CosineAnnealingLR(opt, epochs) : new StepLR(opt, 30);
 * sched.step(); sched.getLastLr(); // one lr per parameter group
 */
export abstract class LRSchedule {
  /** The optimizer whose groups' lr this schedule sets. */
  readonly optimizer: Optimizer<BaseOptions>;
  /** Each group's lr when the first schedule was attached to the optimizer (PyTorch's `base_lrs`). */
  readonly baseLrs: readonly number[];
  private readonly fn: string;
  private epoch = -1;
  private lastLr: number[] = [];

  /**
   * @param fn the schedule's name, for messages
   * @param optimizer the optimizer
   * @throws SnnkitError when optimizer is not an Optimizer
   */
  protected constructor(fn: string, optimizer: Optimizer<BaseOptions>) {
    if (!(optimizer instanceof Optimizer)) throw invalidArg(fn, 'optimizer', 'an Optimizer', optimizer);
    this.fn = fn;
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => (g.initialLr ??= g.lr));
  }

  /** The number of step() calls so far (PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.epoch;
  }

  /**
   * Advances one step and sets each group's lr.
   * @throws SnnkitError when parameter groups were added to the optimizer after the schedule was created
   */
  step(): void {
    this.goTo(this.epoch + 1);
  }

  /** @returns the lr this schedule last set, one per parameter group */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * @internal Sets the step count and writes the lrs it gives (used by the constructors and by LinearWarmup).
   * @param epoch the step count
   */
  goTo(epoch: number): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length)
      throw new SnnkitError(`${this.fn}.step: the optimizer has ${groups.length} parameter groups, the schedule was created for ${this.baseLrs.length}; create the schedule after adding groups`);
    this.epoch = epoch;
    this.lastLr = this.baseLrs.map((base, i) => this.lrAt(epoch, base, i));
    groups.forEach((g, i) => (g.lr = this.lastLr[i]!));
  }

  /**
   * The closed form.
   * @param epoch the step count, >= 0
   * @param baseLr the group's base lr
   * @param group the group's index
   * @returns the lr at that step
   */
  protected abstract lrAt(epoch: number, baseLr: number, group: number): number;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/**
 * Multiplies the lr by `gamma` every `stepSize` steps, as `torch.optim.lr_scheduler.StepLR`:
 * `lr = baseLr * gamma ** floor(t / stepSize)`.
 * @example
 * const sched = new StepLR(opt, 30, 0.1); // for each epoch: train(); sched.step();
 */
export class StepLR extends LRSchedule {
  /**
   * @param optimizer the optimizer
   * @param stepSize steps between decays, an integer >= 1
   * @param gamma the decay factor (default 0.1)
   * @throws SnnkitError naming the argument when stepSize is not an integer >= 1 or gamma is not a finite number >= 0
   */
  constructor(optimizer: Optimizer<BaseOptions>, readonly stepSize: number, readonly gamma = 0.1) {
    super('StepLR', optimizer);
    if (!isCount(stepSize)) throw invalidArg('StepLR', 'stepSize', 'an integer >= 1', stepSize);
    if (!isNumber(gamma) || gamma < 0) throw invalidArg('StepLR', 'gamma', 'a finite number >= 0', gamma);
    this.goTo(0);
  }

  protected override lrAt(t: number, base: number): number {
    return base * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/**
 * Cosine annealing from the base lr down to `etaMin` over `tMax` steps, then back up (a period of 2·tMax), as
 * `torch.optim.lr_scheduler.CosineAnnealingLR` (Loshchilov & Hutter 2017, without restarts):
 * `lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * t / tMax)) / 2`.
 * @example
 * const sched = new CosineAnnealingLR(opt, epochs, 1e-5);
 */
export class CosineAnnealingLR extends LRSchedule {
  /**
   * @param optimizer the optimizer
   * @param tMax steps from the base lr to etaMin, an integer >= 1
   * @param etaMin the lowest lr (default 0)
   * @throws SnnkitError naming the argument when tMax is not an integer >= 1 or etaMin is not a finite number >= 0
   */
  constructor(optimizer: Optimizer<BaseOptions>, readonly tMax: number, readonly etaMin = 0) {
    super('CosineAnnealingLR', optimizer);
    if (!isCount(tMax)) throw invalidArg('CosineAnnealingLR', 'tMax', 'an integer >= 1', tMax);
    if (!isNumber(etaMin) || etaMin < 0) throw invalidArg('CosineAnnealingLR', 'etaMin', 'a finite number >= 0', etaMin);
    this.goTo(0);
  }

  protected override lrAt(t: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}

/**
 * Linear warm-up: the lr grows from `startFactor · baseLr` to `baseLr` over `warmupSteps` steps, as
 * `torch.optim.lr_scheduler.LinearLR(opt, startFactor, 1.0, warmupSteps)`; afterwards it stays at baseLr, or follows
 * `after` started from its step 0 (as `SequentialLR([LinearLR(...), after], [warmupSteps])`).
 * `lr = baseLr * (startFactor + (1 - startFactor) * t / warmupSteps)` for t < warmupSteps.
 * Step only the warm-up: it steps `after`.
 * @example
 * const sched = new LinearWarmup(opt, 5, 0.1, new CosineAnnealingLR(opt, 95));
 */
export class LinearWarmup extends LRSchedule {
  /**
   * @param optimizer the optimizer
   * @param warmupSteps length of the warm-up, an integer >= 1
   * @param startFactor the lr factor at step 0, in (0, 1] (default 1/3, as LinearLR)
   * @param after the schedule that takes over at step warmupSteps (same optimizer); omitted: the lr stays at baseLr
   * @throws SnnkitError naming the argument when warmupSteps is not an integer >= 1, startFactor is outside (0, 1], or
   *   after is not a schedule of the same optimizer
   */
  constructor(optimizer: Optimizer<BaseOptions>, readonly warmupSteps: number, readonly startFactor = 1 / 3, readonly after?: LRSchedule) {
    super('LinearWarmup', optimizer);
    if (!isCount(warmupSteps)) throw invalidArg('LinearWarmup', 'warmupSteps', 'an integer >= 1', warmupSteps);
    if (!isNumber(startFactor) || startFactor <= 0 || startFactor > 1)
      throw invalidArg('LinearWarmup', 'startFactor', 'a number in (0, 1]', startFactor);
    if (after !== undefined && !(after instanceof LRSchedule && after.optimizer === optimizer))
      throw invalidArg('LinearWarmup', 'after', 'an LRSchedule of the same optimizer', after);
    this.goTo(0);
  }

  override goTo(epoch: number): void {
    if (epoch >= this.warmupSteps && this.after) this.after.goTo(epoch - this.warmupSteps);
    super.goTo(epoch);
  }

  protected override lrAt(t: number, base: number, group: number): number {
    if (t < this.warmupSteps) return base * (this.startFactor + ((1 - this.startFactor) * t) / this.warmupSteps);
    if (this.after === undefined) return base;
    return this.after.getLastLr()[group]!;
  }
}
