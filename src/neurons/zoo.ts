/**
 * The spiking model zoo: networks for direct training, built from the ANN zoo with folded neurons in place of
 * ReLUs (so `snn-cifar-resnet20` has the parameter names of `cifar-resnet20`), plus the layout of SpikingJelly's
 * Fashion-MNIST tutorial.
 */
import { invalidArg } from '../errors.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { CifarResNet } from '../nn/zoo/resnet.js';
import type { Surrogate } from '../surrogate/surrogate.js';
import { atan } from '../surrogate/atan.js';
import type { Generator } from '../tensor/creation.js';
import type { ResetMode, SpikeAmplitude } from '../functional/neuron.js';
import { SpikingClassifier, type Encoding } from './classifier.js';
import { IF, LIF, PLIF, type SpikingNeuron } from './neuron.js';

/** The neuron kinds of the spiking zoo. */
export type NeuronKind = 'if' | 'lif' | 'plif';
/** The valid neuron kinds. */
export const NEURON_KINDS: readonly NeuronKind[] = ['if', 'lif', 'plif'];

/** How the zoo's neurons are made. */
export interface NeuronSpec {
  kind?: NeuronKind;
  /** Membrane time constant τ > 1 of LIF/PLIF: decay = 1 − 1/τ (default 2: decay 0.5). */
  tau?: number;
  reset?: ResetMode;
  detachReset?: boolean;
  vTh?: number;
  learnThreshold?: boolean;
  /** What a spike carries: 1 (default), or the threshold (networks started from a converted ANN). */
  amplitude?: SpikeAmplitude;
  surrogate?: Surrogate;
}

/** Options of a spiking zoo model. */
export interface SpikingZooOptions {
  T: number;
  neuron?: NeuronSpec;
  encoding?: Encoding;
  /** A spiking output layer (rate losses). */
  spikingOutput?: boolean;
  numClasses?: number;
  /** Seeds the weight initialisation. */
  generator?: Generator;
}

/**
 * A factory of folded neurons for T steps.
 * @throws SnnkitError for an unknown kind or τ ≤ 1
 * @example
 * const neuron = neuronFactory(4, { kind: 'lif', tau: 2 });  // each call makes a new LIF, decay 0.5, folded for T = 4
 * const block = new Sequential(new Conv2d(3, 64, 3, { padding: 1 }), new BatchNorm2d(64), neuron());
 */
export function neuronFactory(T: number, spec: NeuronSpec = {}): () => SpikingNeuron {
  const kind = spec.kind ?? 'lif';
  if (!NEURON_KINDS.includes(kind)) throw invalidArg('neuronFactory', 'kind', `one of ${NEURON_KINDS.map((k) => `'${k}'`).join(', ')}`, kind);
  const tau = spec.tau ?? 2;
  if (!(Number.isFinite(tau) && tau > 1)) throw invalidArg('neuronFactory', 'tau', 'a time constant > 1 (decay 1 − 1/τ)', tau);
  const common = { stepMode: 'folded' as const, T, reset: spec.reset ?? 'soft', detachReset: spec.detachReset ?? false, vTh: spec.vTh ?? 1,
    learnThreshold: spec.learnThreshold ?? false, amplitude: spec.amplitude ?? 'one', surrogate: spec.surrogate ?? atan() };
  const decay = 1 - 1 / tau;
  return () => (kind === 'if' ? new IF(common) : kind === 'lif' ? new LIF({ ...common, decay }) : new PLIF({ ...common, decay }));
}

function tutorialCnn(inShape: [number, number, number], o: SpikingZooOptions): Module {
  const n = neuronFactory(o.T, o.neuron), g = o.generator, ch = 128;
  const side = Math.floor(Math.floor(inShape[1] / 2) / 2);
  return new Sequential(
    new Conv2d(inShape[0], ch, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(ch), n(), new MaxPool2d(2),
    new Conv2d(ch, ch, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(ch), n(), new MaxPool2d(2),
    new Flatten(), new Linear(ch * side * side, ch * 4 * 4, { bias: false, generator: g }), n(),
    new Linear(ch * 4 * 4, o.numClasses ?? 10, { bias: false, generator: g }),
  );
}

function smallVgg(o: SpikingZooOptions): Module {
  const n = neuronFactory(o.T, o.neuron), g = o.generator;
  const layers: Module[] = [];
  let c = 3;
  for (const v of [64, 128, 'P', 256, 256, 'P', 512, 512, 'P'] as const) {
    if (v === 'P') layers.push(new AvgPool2d(2));
    else {
      layers.push(new Conv2d(c, v, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(v), n());
      c = v;
    }
  }
  return new Sequential({ features: new Sequential(...layers), flatten: new Flatten(), classifier: new Linear(512 * 4 * 4, o.numClasses ?? 10, { generator: g }) });
}

/** A spiking zoo entry. */
export interface SpikingZooEntry {
  /** Builds the model with the given options. */
  create: (o: SpikingZooOptions) => SpikingClassifier;
  /** Input [C, H, W] of one step. */
  inputShape: [number, number, number];
  /** The encoding it takes unless told otherwise (default 'direct'). */
  encoding?: Encoding;
  /** The ANN zoo model whose weights load with --init (same names), if any. */
  ann?: string;
  description: string;
}

function classifier(body: Module, o: SpikingZooOptions, stepShape?: number[]): SpikingClassifier {
  const out = o.spikingOutput ? neuronFactory(o.T, o.neuron)() : undefined;
  // o.generator seeds the weights only: Poisson spikes come from the global generator, which the trainer seeds per
  // epoch, so a resumed run draws the same spikes as an uninterrupted one.
  return new SpikingClassifier(body, { T: o.T, encoding: o.encoding, ...(out ? { outputNeuron: out } : {}), ...(stepShape ? { stepShape } : {}) });
}

/** The spiking architectures, by name. */
export const SPIKING_ZOO: Readonly<Record<string, SpikingZooEntry>> = {
  'snn-mnist-cnn': { create: (o) => classifier(tutorialCnn([1, 28, 28], o), o), inputShape: [1, 28, 28],
    description: "SpikingJelly's Fashion-MNIST tutorial net: 2 × [conv 128, BN, neuron, max-pool 2], FC 2048, neuron, FC" },
  'snn-nmnist': { create: (o) => classifier(tutorialCnn([2, 34, 34], o), { ...o, encoding: o.encoding ?? 'sequence' }, [2, 34, 34]), inputShape: [2, 34, 34], encoding: 'sequence',
    description: 'the same layout for 2-channel 34×34 event frames (N-MNIST), input [N, T, 2, 34, 34] or [N, 2T, 34, 34]' },
  'snn-cifar-resnet20': { create: (o) => classifier(new CifarResNet(3, { numClasses: o.numClasses, generator: o.generator, activation: neuronFactory(o.T, o.neuron) }), o),
    inputShape: [3, 32, 32], ann: 'cifar-resnet20', description: "He et al.'s ResNet-20 with neurons for ReLUs (parameter names of cifar-resnet20)" },
  'snn-cifar-vgg': { create: (o) => classifier(smallVgg(o), o), inputShape: [3, 32, 32],
    description: 'a small VGG: conv 64-128-P-256-256-P-512-512-P (BN, neuron, average pooling), FC 10' },
};

/** The valid spiking architecture names. */
export const SPIKING_MODEL_NAMES = Object.keys(SPIKING_ZOO);

/**
 * Creates a spiking zoo model.
 * @param name one of SPIKING_MODEL_NAMES
 * @throws SnnkitError listing the valid names when `name` is unknown, and the errors of neuronFactory
 * @example
 * const snn = createSpikingModel('snn-mnist-cnn', { T: 4, neuron: { kind: 'plif' } });
 */
export function createSpikingModel(name: string, o: SpikingZooOptions): SpikingClassifier {
  const e = SPIKING_ZOO[name];
  if (!e) throw invalidArg('createSpikingModel', 'arch', `one of ${SPIKING_MODEL_NAMES.join(', ')}`, name);
  return e.create(o);
}
