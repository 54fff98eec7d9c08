/** Pure functions over tensors (torch.nn.functional). */
export {
  linear, conv2d, avgPool2d, maxPool2d, adaptiveAvgPool2d, batchNorm, dropout, logSoftmax, softmax,
  type Size2, type Conv2dOptions, type Pool2dOptions, type BatchNormOptions,
} from './nn.js';
export { crossEntropy, nllLoss, mseLoss, distillationLoss, type Reduction, type CrossEntropyOptions } from './loss.js';
export {
  neuronStep, neuronMultiStep, batchNormNeuron, signedNeuronStep, signedMultiStep, spike, resolveNeuronOptions, RESET_MODES, SPIKE_AMPLITUDES,
  type NeuronOptions, type ResolvedNeuronOptions, type ResetMode, type SpikeAmplitude,
} from './neuron.js';
export { clipFloor, clipFloorSte } from './clipfloor.js';
export { spikeConv, spikeCounts, quantizeWeight, spikeConvAvailable } from './spikeconv.js';
export { tetLoss, snnLoss, parseSnnLoss, SNN_LOSSES, type SnnLoss, type SnnLossKind } from './snn-loss.js';
