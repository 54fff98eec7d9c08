/** Spiking neurons: IF/LIF layers, multi-step helpers, encoders, readouts and monitors. */
export { IF, LIF, PLIF, SignedIF, SpikingNeuron, STEP_MODES, type StepMode, type NeuronLayerOptions, type LIFOptions, type PLIFOptions, type NeuronRecord, type NeuronListener } from './neuron.js';
export { SeqToANN, DirectEncoder, PoissonEncoder, SpikeRateReadout, MembraneReadout } from './containers.js';
export { SpikeMonitor, type MonitorOptions } from './monitor.js';
export { SpikingClassifier, ENCODINGS, type Encoding, type SpikingClassifierOptions, type StepClassifier } from './classifier.js';
export { SPIKING_ZOO, SPIKING_MODEL_NAMES, NEURON_KINDS, createSpikingModel, neuronFactory, type NeuronKind, type NeuronSpec, type SpikingZooOptions, type SpikingZooEntry } from './zoo.js';
