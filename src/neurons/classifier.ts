/**
 * SpikingClassifier: an SNN for classification with its encoder. It holds a network whose neurons run with time
 * folded into the batch ('folded' step mode), so the ANN layers between them run unchanged on [T·N, ...] and the
 * parameter names are the ANN's (an ANN checkpoint of the same layout loads into it).
 */
import { invalidArg, SnnkitError } from '../errors.js';
import { Module } from '../nn/module.js';
import { withRepeatedInput } from '../nn/repeated.js';
import { Sequential } from '../nn/sequential.js';
import { rand, type Generator } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { SpikingNeuron } from './neuron.js';

/**
 * How images become input currents: 'direct' repeats the analog image at every step (the first layer is the encoder),
 * 'poisson' draws a spike at each step with probability = pixel value clamped to [0, 1], 'sequence' takes inputs that
 * already are sequences [N, T, ...] (event frames).
 */
export type Encoding = 'direct' | 'poisson' | 'sequence';
/** The valid encodings. */
export const ENCODINGS: readonly Encoding[] = ['direct', 'poisson', 'sequence'];

/**
 * What a trainer needs of a spiking classifier: T steps from fresh membranes giving [T, N, C], their mean as
 * `forward`, and its neuron layers. SpikingClassifier is one; a converted or calibrated network made trainable
 * (train/hybrid.ts) is another.
 */
export interface StepClassifier extends Module {
  /** Time steps per forward. */
  readonly T: number;
  /** Whether the outputs are spikes of an output neuron (rate losses) rather than currents. */
  readonly spikingOutput: boolean;
  /** @returns the output of every step [T, N, C] */
  forwardSteps(x: Tensor): Tensor;
  /** @returns every spiking neuron, with its qualified name */
  neurons(): [string, SpikingNeuron][];
}

/** Options of SpikingClassifier. */
export interface SpikingClassifierOptions {
  /** Time steps (> 0). */
  T: number;
  /** Default 'direct'. */
  encoding?: Encoding;
  /** A spiking output layer: its spikes are the outputs (rate losses), instead of the last layer's currents. */
  outputNeuron?: SpikingNeuron;
  /** Seeds the Poisson encoder. */
  generator?: Generator;
  /**
   * 'sequence' only: the shape of one step's input, e.g. [2, 34, 34]. Then inputs [N, T·C, H, W] (frames stacked
   * along the channels, frame-major, as event data sets load) are read as [N, T, C, H, W].
   */
  stepShape?: readonly number[];
}

/**
 * An SNN classifier: `forwardSteps(x)` gives the output of every step [T, N, C], `forward(x)` their mean [N, C]
 * (the logits evaluate() and the CLI read). Each call starts from fresh membranes.
 * @example
 * const snn = new SpikingClassifier(cifarResNet, { T: 4 });  // cifarResNet built with folded neurons
 * const perStep = snn.forwardSteps(images);                  // [4, N, 10]
 */
export class SpikingClassifier extends Module implements StepClassifier {
  readonly T: number;
  readonly encoding: Encoding;
  private readonly body: Module;
  private readonly outNeuron: SpikingNeuron | undefined;
  private readonly generator: Generator | undefined;
  private readonly stepShape: readonly number[] | undefined;

  /**
   * @param body the network on folded inputs [T·N, ...] → [T·N, C]; its children become this module's (same names)
   * @throws SnnkitError for T that is not a positive integer, an unknown encoding, a body with parameters of its own,
   *   or folded neurons whose T differs
   */
  constructor(body: Module, opts: SpikingClassifierOptions) {
    super();
    if (!(Number.isInteger(opts.T) && opts.T >= 1)) throw invalidArg('SpikingClassifier', 'T', 'a positive integer', opts.T);
    const encoding = opts.encoding ?? 'direct';
    if (!ENCODINGS.includes(encoding)) throw invalidArg('SpikingClassifier', 'encoding', `one of ${ENCODINGS.map((e) => `'${e}'`).join(', ')}`, encoding);
    if (body.namedParameters().length !== body.children().reduce((n, c) => n + c.namedParameters().length, 0) ||
        body.namedBuffers().length !== body.children().reduce((n, c) => n + c.namedBuffers().length, 0))
      throw new SnnkitError('SpikingClassifier: the body must keep its parameters and buffers in child modules', 'INVALID_ARGUMENT');
    this.T = opts.T;
    this.encoding = encoding;
    this.body = body;
    this.generator = opts.generator;
    if (opts.stepShape !== undefined && !(opts.stepShape.length >= 1 && opts.stepShape.every((d) => Number.isInteger(d) && d >= 1)))
      throw invalidArg('SpikingClassifier', 'stepShape', 'positive integer sizes', opts.stepShape);
    this.stepShape = opts.stepShape;
    for (const [n, c] of body.namedChildren()) this.registerModule(n, c);
    // The classifier owns its layers: their intermediates need not outlive the next layer (memory of BPTT).
    for (const m of body.modules()) {
      if (!(m instanceof Sequential)) continue;
      m.releaseIntermediates = true;
      m.fuseLayers = true;
    }
    this.outNeuron = opts.outputNeuron ? this.registerModule('output_neuron', opts.outputNeuron) : undefined;
    for (const [n, m] of this.namedModules()) {
      if (m instanceof SpikingNeuron && m.stepMode === 'folded' && m.T !== this.T)
        throw new SnnkitError(`SpikingClassifier: neuron '${n}' folds T = ${m.T} steps but the classifier runs T = ${this.T}`, 'INVALID_ARGUMENT');
    }
  }

  /** Whether the outputs are spikes of an output neuron (rate losses) rather than currents. */
  get spikingOutput(): boolean {
    return this.outNeuron !== undefined;
  }

  /** The encoded, folded input [T·N, ...]. */
  encode(x: Tensor): Tensor {
    const T = this.T;
    if (this.encoding === 'sequence') {
      const step = this.stepShape;
      if (step && x.ndim === step.length + 1) {
        const per = step.reduce((a, b) => a * b, 1);
        if (x.shape.slice(1).reduce((a, b) => a * b, 1) !== T * per)
          throw new SnnkitError(`SpikingClassifier: 'sequence' input ${x.describe()} does not hold T = ${T} steps of [${step.join(', ')}]`, 'SHAPE_MISMATCH');
        x = x.reshape(x.shape[0]!, T, ...step);
      }
      if (x.ndim < 3 || x.shape[1] !== T)
        throw new SnnkitError(`SpikingClassifier: 'sequence' input must be [N, T = ${T}, ...], got ${x.describe()}`, 'SHAPE_MISMATCH');
      return x.transpose(0, 1).contiguous().flatten(0, 1);
    }
    const seq = this.encoding === 'direct' ? x.unsqueeze(0).expand(T, ...x.shape)
      : rand([T, ...x.shape], { dtype: x.dtype, generator: this.generator }).lt(x.clamp(0, 1).unsqueeze(0)).to(x.dtype);
    return seq.contiguous().flatten(0, 1);
  }

  /**
   * Runs all T steps from fresh membranes. In training mode the final membranes are cleared after the last step (the
   * next forward starts afresh anyway), so that they do not stay allocated through backward.
   * @param x images [N, ...] (or [N, T, ...] for 'sequence')
   * @returns the output of every step, [T, N, C]
   */
  forwardSteps(x: Tensor): Tensor {
    this.resetMemories();
    const input = this.encode(x);
    // Direct encoding repeats the image: the layers reading it compute once per image (nn/repeated.ts).
    const y = this.encoding === 'direct' ? withRepeatedInput(input, this.T, () => this.body.forward(input)) : this.body.forward(input);
    const out = this.outNeuron ? this.outNeuron.forward(y) : y;
    if (this.training) this.resetMemories();
    return out.reshape(this.T, out.shape[0]! / this.T, ...out.shape.slice(1));
  }

  /** @returns the mean output over time [N, C] (currents, or firing rates with an output neuron) */
  forward(x: Tensor): Tensor {
    return this.forwardSteps(x).mean(0);
  }

  /** @returns every spiking neuron, with its qualified name */
  neurons(): [string, SpikingNeuron][] {
    return this.namedModules().filter((e): e is [string, SpikingNeuron] => e[1] instanceof SpikingNeuron);
  }

  protected override extraRepr(): string {
    return `T=${this.T}, encoding=${this.encoding}`;
  }
}
