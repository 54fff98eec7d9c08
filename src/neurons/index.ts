/** Spiking neurons: IF/LIF layers, multi-step helpers, encoders, readouts and monitors. */
export { IF, LIF, SignedIF, SpikingNeuron, STEP_MODES, type StepMode, type NeuronLayerOptions, type LIFOptions, type NeuronRecord, type NeuronListener } from './neuron.js';
export { SeqToANN, DirectEncoder, PoissonEncoder, SpikeRateReadout, MembraneReadout } from './containers.js';
export { SpikeMonitor, type MonitorOptions } from './monitor.js';
