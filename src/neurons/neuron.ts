/**
 * IF and LIF layers: thin stateful wrappers over the dynamics in src/functional/neuron.ts. The membrane potential is
 * a memory (not a parameter or buffer): out of stateDict(), cleared by reset() / resetMemories().
 */
import { SnnkitError, deprecated, invalidArg } from '../errors.js';
import { batchNormNeuron, ifStep, neuronMultiStep, neuronStep, resolveNeuronOptions, signedMultiStep, signedNeuronStep, unrollSteps, type NeuronOptions, type ResolvedNeuronOptions } from '../functional/neuron.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { repeatedOf } from '../nn/repeated.js';
import type { Surrogate } from '../surrogate/surrogate.js';
import { full } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * 'single': forward takes one step [N, ...]; 'multi': a sequence [T, N, ...] (fused kernel); 'folded': a sequence
 * with time folded into the batch, [T·N, ...] in and out (needs T), so that an ANN's layers run unchanged between
 * neurons and batch norm takes its statistics over T·N, as SpikingJelly's multi-step layers do.
 */
export type StepMode = 'single' | 'multi' | 'folded';
/** The valid step modes. */
export const STEP_MODES: readonly StepMode[] = ['single', 'multi', 'folded'];

/** Options of the neuron layers. */
export interface NeuronLayerOptions extends Omit<NeuronOptions, 'alpha' | 'decay'> {
  stepMode?: StepMode;
  /** In multi-step mode: the number of time steps the layer expects (checked on every input when given); needed by 'folded'. */
  T?: number;
  /** Learn the threshold (one parameter `vTh` per layer, started at vTh; kept ≥ 1e-3 in the dynamics). */
  learnThreshold?: boolean;
  /** Initial potential v[0] (a number, or a tensor broadcastable to one step). Default 0. */
  v0?: number | Tensor;
}

/** What a neuron layer reports to a monitor after each forward. */
export interface NeuronRecord {
  spikes: Tensor;
  /** Potentials after each step ([T, N, ...] or [N, ...]), only when recording potentials. */
  potentials?: Tensor;
}
/** A listener attached by a Monitor. */
export type NeuronListener = (layer: SpikingNeuron, rec: NeuronRecord) => void;

/**
 * The common base of the spiking neuron layers (IF, LIF, PLIF, SignedIF): state, step modes, thresholds, monitors.
 * @example
 * for (const [, n] of snn.neurons()) n.setSurrogate(dspike({ b: 2 }));  // every neuron layer is a SpikingNeuron
 */
export abstract class SpikingNeuron extends Module {
  stepMode: StepMode;
  readonly T: number | undefined;
  private v0_: number | Tensor | undefined;
  protected opts: ResolvedNeuronOptions;
  /** Monitors listening to this layer. */
  readonly listeners = new Set<NeuronListener>();
  /** Record the potential after every step for listeners (slower in multi-step mode: it runs the step function). */
  recordPotentials = false;

  /**
   * Validates the options (step mode, T, the dynamics) and declares the membrane potential `v` as a memory.
   * @param name the subclass's name, for error messages
   */
  protected constructor(name: string, opts: NeuronLayerOptions & { decay?: number | Tensor }) {
    super();
    const mode = opts.stepMode ?? 'single';
    if (!STEP_MODES.includes(mode)) throw invalidArg(name, 'stepMode', `one of ${STEP_MODES.map((m) => `'${m}'`).join(', ')}`, mode);
    if (opts.T !== undefined && !(Number.isInteger(opts.T) && opts.T >= 1)) throw invalidArg(name, 'T', 'a positive integer', opts.T);
    if (mode === 'folded' && opts.T === undefined) throw invalidArg(name, 'T', "a positive integer (stepMode 'folded' needs the number of steps)", opts.T);
    this.stepMode = mode;
    this.T = opts.T;
    this.v0_ = opts.v0 instanceof Tensor ? opts.v0.keep() : opts.v0;
    this.opts = resolveNeuronOptions(name, opts);
    if (opts.learnThreshold) {
      if (typeof this.opts.vTh !== 'number') throw invalidArg(name, 'vTh', 'a number when learnThreshold is set', this.opts.vTh);
      const t = full([], this.opts.vTh);
      this.thresholdParam = this.registerParameter('vTh', new Parameter(t));
      t.dispose();
    }
    this.registerMemory('v');
  }

  /** The learnt threshold, when learnThreshold (or after learnThresholdFromNow()). */
  readonly thresholdParam: Parameter | undefined;

  /**
   * Makes the present threshold, a number or a tensor (per channel, as calibration may set), a learnt parameter
   * `vTh` from now on (hybrid training of a converted network). Idempotent.
   * @returns the parameter
   */
  learnThresholdFromNow(): Parameter {
    if (this.thresholdParam) return this.thresholdParam;
    const th = this.opts.vTh;
    const t = typeof th === 'number' ? full([], th) : th.detach().clone();
    const p = this.registerParameter('vTh', new Parameter(t));
    t.dispose();
    (this as { thresholdParam: Parameter | undefined }).thresholdParam = p;
    return p;
  }

  /**
   * The options the step runs with: the fixed options, with learnt parameters (threshold, PLIF's decay) computed
   * afresh on each forward so that their gradients reach the parameters.
   */
  protected dynamics(): ResolvedNeuronOptions {
    return this.thresholdParam ? { ...this.opts, vTh: this.thresholdParam.clamp(1e-3) } : this.opts;
  }

  /** Replaces the surrogate gradient (the Dspike temperature search changes b between epochs). */
  setSurrogate(surrogate: Surrogate): void {
    this.opts = { ...this.opts, surrogate };
  }

  /** The initial potential v[0] (a number, a tensor broadcastable to one step, or undefined for 0). */
  get v0(): number | Tensor | undefined {
    return this.v0_;
  }
  /**
   * Sets the initial potential (the V_th/2 shift and potential calibration do). A tensor is kept by the layer.
   * @param v0 a number, a tensor broadcastable to one step's state, or undefined for 0
   */
  setInitialPotential(v0: number | Tensor | undefined): void {
    if (this.v0_ instanceof Tensor && this.v0_ !== v0) this.v0_.dispose();
    this.v0_ = v0 instanceof Tensor ? v0.keep() : v0;
  }

  /** The current membrane potential (undefined before the first step and after reset()). */
  get v(): Tensor | undefined {
    return this.getMemory('v');
  }
  /** The threshold (number or tensor). */
  get vTh(): number | Tensor {
    return this.opts.vTh;
  }
  /** Changes the threshold (calibration and threshold balancing set it). */
  setThreshold(vTh: number | Tensor): void {
    this.opts = resolveNeuronOptions(this.constructor.name, { ...this.opts, vTh });
  }
  /** The dynamics' options. */
  get options(): Readonly<ResolvedNeuronOptions> {
    return this.opts;
  }
  /** Clears the membrane potential (the next input starts from v0). */
  reset(): void {
    this.setMemory('v', undefined);
  }

  forward(x: Tensor): Tensor {
    if (this.stepMode === 'folded') return this.unfolded(x, (seq) => this.forwardSequence(seq));
    const prev = this.v ?? this.v0_;
    const o = this.dynamics();
    if (this.stepMode === 'single') {
      const r = neuronStep(x, prev, o);
      this.setMemory('v', r.v);
      if (this.listeners.size) this.emit({ spikes: r.spikes, ...(this.recordPotentials ? { potentials: r.v } : {}) });
      return r.spikes;
    }
    return this.forwardSequence(x);
  }

  private forwardSequence(x: Tensor): Tensor {
    this.checkSequence(x);
    const prev = this.v ?? this.v0_;
    if (this.recordPotentials && this.listeners.size) return this.forwardRecorded(x, prev);
    const r = neuronMultiStep(x, prev, this.dynamics());
    this.setMemory('v', r.v);
    if (this.listeners.size) this.emit({ spikes: r.spikes });
    return r.spikes;
  }

  /** Whether the layer can run fused with a batch norm before it (the fused kernel has IF/LIF/PLIF dynamics). */
  protected get fusable(): boolean {
    return true;
  }

  /**
   * Batch norm followed by this layer as one fused kernel (batchNormNeuron), which Sequential runs when its
   * fuseLayers is on: in folded step mode only, and on the CPU in float32/float64 (else the two layers run in turn).
   * @returns undefined when prev is not a BatchNorm2d or this layer does not fold time into the batch
   */
  fuseWithPrevious(prev: Module): ((x: Tensor) => Tensor) | undefined {
    if (!(prev instanceof BatchNorm2d) || this.stepMode !== 'folded' || !this.fusable) return undefined;
    return (x) => {
      const native = x.device === 'cpu' && x.ndim === 4 && (x.dtype === 'float32' || x.dtype === 'float64');
      if (!native || (this.recordPotentials && this.listeners.size)) return this.forward(prev.forward(x));
      const T = this.T!;
      this.checkFolded(x);
      // The output of a conv that ran once per image under direct encoding: the kernel reads its one block T times.
      const rep = repeatedOf(x);
      const once = rep !== undefined && rep.copies === T;
      const r = batchNormNeuron(once ? rep.block : x, prev.batchOptions(), T, this.v ?? this.v0_, this.dynamics(), once);
      this.setMemory('v', r.v);
      if (this.listeners.size) this.emit({ spikes: r.spikes.reshape(T, x.shape[0]! / T, ...x.shape.slice(1)) });
      return r.spikes;
    };
  }

  /** Runs `seq` on x [T·N, ...] viewed as [T, N, ...], and folds the result back. */
  protected unfolded(x: Tensor, seq: (x: Tensor) => Tensor): Tensor {
    const T = this.T!;
    this.checkFolded(x);
    const y = seq(x.reshape(T, x.shape[0]! / T, ...x.shape.slice(1)));
    return y.reshape(x.shape[0]!, ...y.shape.slice(2));
  }

  /** @throws SnnkitError unless x is [T·N, ...] with the layer's T */
  protected checkFolded(x: Tensor): void {
    if (x.ndim < 1 || x.shape[0]! % this.T! !== 0)
      throw new SnnkitError(`${this.constructor.name}: folded input must be [T·N, ...] with T = ${this.T}, got ${x.describe()}`, 'SHAPE_MISMATCH');
  }

  /** @throws SnnkitError unless x is a [T, N, ...] sequence with the layer's T (when set) */
  protected checkSequence(x: Tensor): void {
    if (x.ndim < 2) throw new SnnkitError(`${this.constructor.name}: multi-step input must be [T, N, ...], got ${x.describe()}`, 'SHAPE_MISMATCH');
    if (this.T !== undefined && x.shape[0] !== this.T)
      throw new SnnkitError(`${this.constructor.name}: the input has ${x.shape[0]} time steps but the layer expects T = ${this.T}`, 'SHAPE_MISMATCH');
  }

  private forwardRecorded(x: Tensor, prev: number | Tensor | undefined): Tensor {
    const r = unrollSteps(x, prev, undefined, this.dynamics(), ifStep, true);
    this.setMemory('v', r.v);
    this.emit({ spikes: r.spikes, potentials: r.potentials! });
    return r.spikes;
  }

  /** Passes one forward's record to every listener (the monitors attached to this layer). */
  protected emit(rec: NeuronRecord): void {
    for (const l of this.listeners) l(this, rec);
  }

  protected override extraRepr(): string {
    const o = this.opts;
    const th = typeof o.vTh === 'number' ? o.vTh : `tensor${JSON.stringify(o.vTh.shape)}`;
    return `vTh=${th}, reset=${o.reset}, amplitude=${o.amplitude}, surrogate=${o.surrogate}, stepMode=${this.stepMode}`;
  }
}

/**
 * Integrate-and-fire: u[t] = v[t-1] + I[t] (decay 1), the neuron of ANN→SNN conversion.
 * @example
 * new IF({ vTh: 1, reset: 'soft', amplitude: 'threshold', stepMode: 'multi' })
 */
export class IF extends SpikingNeuron {
  /** @throws SnnkitError for an unknown reset mode, amplitude or step mode, or a non-positive threshold */
  constructor(opts: NeuronLayerOptions = {}) {
    super('IF', { ...opts, decay: 1 });
  }
}

/**
 * Signed integrate-and-fire (ternary spikes, soft reset): IF that takes back spikes fired too early with a negative
 * spike, so that its net spike count follows the rounded sum of its input (signedNeuronStep). A converted network with
 * these neurons loses much less accuracy at small T (the error of uneven spike timing), at the price of spikes of
 * both signs (graded spikes on Loihi 2, not on binary-spike hardware). A fused kernel runs it forward on the CPU;
 * training runs the step function.
 * @example
 * new SignedIF({ vTh: 1, amplitude: 'threshold', stepMode: 'multi', v0: 0.5 })
 */
export class SignedIF extends SpikingNeuron {
  protected override get fusable(): boolean {
    return false;
  }
  /** @throws SnnkitError for reset 'hard' (a negative spike undoes a subtraction) and the errors of IF */
  constructor(opts: NeuronLayerOptions = {}) {
    if (opts.reset === 'hard') throw new SnnkitError("SignedIF: reset must be 'soft' (a negative spike undoes a soft reset), got 'hard'", 'INVALID_ARGUMENT');
    super('SignedIF', { ...opts, decay: 1 });
    this.registerMemory('n');
  }

  /** The net spike count so far (undefined before the first step and after reset()). */
  get count(): Tensor | undefined {
    return this.getMemory('n');
  }

  override reset(): void {
    super.reset();
    this.setMemory('n', undefined);
  }

  override forward(x: Tensor): Tensor {
    if (this.stepMode === 'folded') return this.unfolded(x, (seq) => this.forwardSigned(seq, 'multi'));
    return this.forwardSigned(x, this.stepMode);
  }

  private forwardSigned(x: Tensor, mode: StepMode): Tensor {
    const v = this.v ?? this.v0, n = this.count;
    const o = this.dynamics();
    if (mode === 'single') {
      const r = signedNeuronStep(x, v, n, o);
      this.setMemory('v', r.v);
      this.setMemory('n', r.n);
      if (this.listeners.size) this.emit({ spikes: r.spikes, ...(this.recordPotentials ? { potentials: r.v } : {}) });
      return r.spikes;
    }
    this.checkSequence(x);
    const record = this.recordPotentials && this.listeners.size > 0;
    // Recording the potentials runs the step function; otherwise the fused kernel (or, for training, the steps).
    const r: { spikes: Tensor; v: Tensor; n?: Tensor; potentials?: Tensor } = record ? unrollSteps(x, v, n, o, signedNeuronStep, true) : signedMultiStep(x, v, n, o);
    this.setMemory('v', r.v);
    this.setMemory('n', r.n);
    if (this.listeners.size) this.emit({ spikes: r.spikes, ...(r.potentials ? { potentials: r.potentials } : {}) });
    return r.spikes;
  }
}

/** Options of LIF. */
export interface LIFOptions extends NeuronLayerOptions {
  /** The membrane's decay in (0, 1] (TET uses 0.5). Default 0.5. */
  decay?: number;
  /** Learn the decay: it becomes a parameter named `decay` (PLIF keeps it in (0, 1) through a sigmoid). */
  learnDecay?: boolean;
  /** @deprecated the former name of `decay` (until snnkit 0.3) */
  alpha?: number;
  /** @deprecated the former name of `learnDecay` (until snnkit 0.3) */
  learnableAlpha?: boolean;
}

/**
 * Leaky integrate-and-fire: u[t] = decay · v[t-1] + I[t] with 0 < decay < 1.
 * @example
 * new LIF({ decay: 0.5, reset: 'hard', surrogate: triangle(), stepMode: 'multi' })
 */
export class LIF extends SpikingNeuron {
  /** The learnable decay, when learnDecay. */
  readonly decayParam: Parameter | undefined;
  /** @throws SnnkitError for a decay outside (0, 1] and the errors of IF */
  constructor(opts: LIFOptions = {}) {
    if (opts.alpha !== undefined && opts.decay === undefined) deprecated('LIF', 'alpha', 'decay');
    if (opts.learnableAlpha !== undefined && opts.learnDecay === undefined) deprecated('LIF', 'learnableAlpha', 'learnDecay');
    const { alpha, learnableAlpha, ...rest } = opts;
    const a = opts.decay ?? alpha ?? 0.5;
    super('LIF', { ...rest, decay: a });
    if (opts.learnDecay ?? learnableAlpha) {
      const t = full([], a);
      this.decayParam = this.registerParameter('decay', new Parameter(t));
      t.dispose();
      this.opts = { ...this.opts, decay: this.decayParam };
    } else this.decayParam = undefined;
  }
}

/** Options of PLIF. */
export interface PLIFOptions extends NeuronLayerOptions {
  /** The initial decay in (0, 1) (default 0.5, SpikingJelly's init_tau = 2). */
  decay?: number;
  /** @deprecated the former name of `decay` (until snnkit 0.3) */
  alpha?: number;
}

/**
 * Parametric LIF (Fang et al., "Incorporating Learnable Membrane Time Constant", ICCV 2021): a LIF whose decay is
 * sigmoid(w) with one learnt parameter `w` per layer, so the decay stays in (0, 1) whatever the optimizer does.
 * (SpikingJelly writes the same neuron as v + (x − v)/τ with 1/τ = sigmoid(w): its decay is 1 − 1/τ, and its input is
 * scaled by 1/τ, which the batch norm before the neuron absorbs.)
 * @example
 * new PLIF({ decay: 0.5, stepMode: 'folded', T: 4 })
 */
export class PLIF extends SpikingNeuron {
  /** The parameter w of decay = sigmoid(w). */
  readonly w: Parameter;
  /** @throws SnnkitError for a decay outside (0, 1) and the errors of IF */
  constructor(opts: PLIFOptions = {}) {
    if (opts.alpha !== undefined && opts.decay === undefined) deprecated('PLIF', 'alpha', 'decay');
    const { alpha, ...rest } = opts;
    const a = opts.decay ?? alpha ?? 0.5;
    if (!(a > 0 && a < 1)) throw invalidArg('PLIF', 'decay', 'an initial decay in (0, 1)', a);
    super('PLIF', { ...rest, decay: a });
    const t = full([], Math.log(a / (1 - a)));
    this.w = this.registerParameter('w', new Parameter(t));
    t.dispose();
  }
  /** The current decay sigmoid(w), a number in (0, 1). */
  get decay(): number {
    return 1 / (1 + Math.exp(-this.w.item()));
  }
  protected override dynamics(): ResolvedNeuronOptions {
    return { ...super.dynamics(), decay: this.w.sigmoid() };
  }
}
