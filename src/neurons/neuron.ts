/**
 * IF and LIF layers: thin stateful wrappers over the dynamics in src/functional/neuron.ts. The membrane potential is
 * a memory (not a parameter or buffer): out of stateDict(), cleared by reset() / resetMemories().
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { ifStep, neuronMultiStep, neuronStep, resolveNeuronOptions, signedMultiStep, signedNeuronStep, unrollSteps, type NeuronOptions, type ResolvedNeuronOptions } from '../functional/neuron.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { full } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/** 'single': forward takes one step [N, ...]; 'multi': forward takes a sequence [T, N, ...] (fused kernel). */
export type StepMode = 'single' | 'multi';
/** The valid step modes. */
export const STEP_MODES: readonly StepMode[] = ['single', 'multi'];

/** Options of the neuron layers. */
export interface NeuronLayerOptions extends Omit<NeuronOptions, 'alpha'> {
  stepMode?: StepMode;
  /** In multi-step mode: the number of time steps the layer expects (checked on every input when given). */
  T?: number;
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

/** The common base of IF and LIF. */
export abstract class SpikingNeuron extends Module {
  stepMode: StepMode;
  readonly T: number | undefined;
  private v0_: number | Tensor | undefined;
  protected opts: ResolvedNeuronOptions;
  /** Monitors listening to this layer. */
  readonly listeners = new Set<NeuronListener>();
  /** Record the potential after every step for listeners (slower in multi-step mode: it runs the step function). */
  recordPotentials = false;

  protected constructor(name: string, opts: NeuronLayerOptions & { alpha?: number | Tensor }) {
    super();
    const mode = opts.stepMode ?? 'single';
    if (!STEP_MODES.includes(mode)) throw invalidArg(name, 'stepMode', `one of ${STEP_MODES.map((m) => `'${m}'`).join(', ')}`, mode);
    if (opts.T !== undefined && !(Number.isInteger(opts.T) && opts.T >= 1)) throw invalidArg(name, 'T', 'a positive integer', opts.T);
    this.stepMode = mode;
    this.T = opts.T;
    this.v0_ = opts.v0 instanceof Tensor ? opts.v0.keep() : opts.v0;
    this.opts = resolveNeuronOptions(name, opts);
    this.registerMemory('v');
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
    const prev = this.v ?? this.v0_;
    if (this.stepMode === 'single') {
      const r = neuronStep(x, prev, this.opts);
      this.setMemory('v', r.v);
      if (this.listeners.size) this.emit({ spikes: r.spikes, ...(this.recordPotentials ? { potentials: r.v } : {}) });
      return r.spikes;
    }
    this.checkSequence(x);
    if (this.recordPotentials && this.listeners.size) return this.forwardRecorded(x, prev);
    const r = neuronMultiStep(x, prev, this.opts);
    this.setMemory('v', r.v);
    if (this.listeners.size) this.emit({ spikes: r.spikes });
    return r.spikes;
  }

  /** @throws SnnkitError unless x is a [T, N, ...] sequence with the layer's T (when set) */
  protected checkSequence(x: Tensor): void {
    if (x.ndim < 2) throw new SnnkitError(`${this.constructor.name}: multi-step input must be [T, N, ...], got ${x.describe()}`, 'SHAPE_MISMATCH');
    if (this.T !== undefined && x.shape[0] !== this.T)
      throw new SnnkitError(`${this.constructor.name}: the input has ${x.shape[0]} time steps but the layer expects T = ${this.T}`, 'SHAPE_MISMATCH');
  }

  private forwardRecorded(x: Tensor, prev: number | Tensor | undefined): Tensor {
    const r = unrollSteps(x, prev, undefined, this.opts, ifStep, true);
    this.setMemory('v', r.v);
    this.emit({ spikes: r.spikes, potentials: r.potentials! });
    return r.spikes;
  }

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
 * Integrate-and-fire: u[t] = v[t-1] + I[t] (alpha = 1), the neuron of ANN→SNN conversion.
 * @example
 * new IF({ vTh: 1, reset: 'soft', amplitude: 'threshold', stepMode: 'multi' })
 */
export class IF extends SpikingNeuron {
  /** @throws SnnkitError for an unknown reset mode, amplitude or step mode, or a non-positive threshold */
  constructor(opts: NeuronLayerOptions = {}) {
    super('IF', { ...opts, alpha: 1 });
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
  /** @throws SnnkitError for reset 'hard' (a negative spike undoes a subtraction) and the errors of IF */
  constructor(opts: NeuronLayerOptions = {}) {
    if (opts.reset === 'hard') throw new SnnkitError("SignedIF: reset must be 'soft' (a negative spike undoes a soft reset), got 'hard'", 'INVALID_ARGUMENT');
    super('SignedIF', { ...opts, alpha: 1 });
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
    const v = this.v ?? this.v0, n = this.count;
    if (this.stepMode === 'single') {
      const r = signedNeuronStep(x, v, n, this.opts);
      this.setMemory('v', r.v);
      this.setMemory('n', r.n);
      if (this.listeners.size) this.emit({ spikes: r.spikes, ...(this.recordPotentials ? { potentials: r.v } : {}) });
      return r.spikes;
    }
    this.checkSequence(x);
    const record = this.recordPotentials && this.listeners.size > 0;
    // Recording the potentials runs the step function; otherwise the fused kernel (or, for training, the steps).
    const r: { spikes: Tensor; v: Tensor; n?: Tensor; potentials?: Tensor } = record ? unrollSteps(x, v, n, this.opts, signedNeuronStep, true) : signedMultiStep(x, v, n, this.opts);
    this.setMemory('v', r.v);
    this.setMemory('n', r.n);
    if (this.listeners.size) this.emit({ spikes: r.spikes, ...(r.potentials ? { potentials: r.potentials } : {}) });
    return r.spikes;
  }
}

/** Options of LIF. */
export interface LIFOptions extends NeuronLayerOptions {
  /** Decay alpha in (0, 1) (TET uses 0.5). Default 0.5. */
  alpha?: number;
  /** Learn the decay (PLIF, Fang et al. 2021): alpha becomes a parameter named `alpha`. */
  learnableAlpha?: boolean;
}

/**
 * Leaky integrate-and-fire: u[t] = alpha · v[t-1] + I[t] with 0 < alpha < 1.
 * @example
 * new LIF({ alpha: 0.5, reset: 'hard', surrogate: triangle(), stepMode: 'multi' })
 */
export class LIF extends SpikingNeuron {
  /** The learnable decay, when learnableAlpha. */
  readonly alphaParam: Parameter | undefined;
  /** @throws SnnkitError for alpha outside (0, 1] and the errors of IF */
  constructor(opts: LIFOptions = {}) {
    const a = opts.alpha ?? 0.5;
    super('LIF', { ...opts, alpha: a });
    if (opts.learnableAlpha) {
      const t = full([], a);
      this.alphaParam = this.registerParameter('alpha', new Parameter(t));
      t.dispose();
      this.opts = { ...this.opts, alpha: this.alphaParam };
    } else this.alphaParam = undefined;
  }
}
