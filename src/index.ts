/**
 * snnkit: spiking neural networks in TypeScript on a libtorch engine.
 * The public API, by explicit name.
 */
export { SnnkitError, type ErrorCode } from './errors.js';
export { Tensor, type TensorOrScalar, type NestedArray } from './tensor/tensor.js';
export { DTYPES, type DType } from './tensor/dtype.js';
export {
  tensor, zeros, ones, empty, full, zerosLike, onesLike, fullLike, arange, linspace, eye, rand, randn, randint, randperm,
  bernoulli, cat, stack, where, manualSeed, Generator, type CreateOptions, type RandomOptions,
} from './tensor/creation.js';
export { tidy, dispose, allOrNothing } from './tensor/scope.js';
export { noGrad, enableGrad, isGradEnabled } from './tensor/autograd.js';
export { setNumThreads, getNumThreads, memory, emptyCache, resetPeakMemory, buildInfo, type Memory } from './tensor/system.js';
export * as F from './functional/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as formats from './formats/index.js';
/** @deprecated since 0.2: use `formats` and `models` (kept for one release). */
export * as io from './io.js';
export * as data from './data/index.js';
export { trainAnn, type TrainAnnOptions, type TrainAnnResult, type EpochRecord, type AnnHyperParams } from './train/ann.js';
export type { LoopResult } from './train/loop.js';
export { evaluate, type EvalResult } from './train/evaluate.js';
export { trainSnn, loadInitWeights, type TrainSnnOptions, type TrainSnnResult, type SnnHyperParams, type FdgSchedule } from './train/snn.js';
export { searchDspikeTemperature, setDspikeTemperature, firstLayerWeight, type DspikeSearchOptions, type DspikeSearchResult } from './train/dspike-search.js';
export { finiteDifferenceGradient, batchedFdg, sampleIndices, cosine, type FdgOptions } from './train/fdg.js';
export { saveModel, saveTrainingCheckpoint, loadCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './models/checkpoint.js';
export type { ProgressSink } from './train/progress.js';
export * as neurons from './neurons/index.js';
export * as surrogate from './surrogate/index.js';
export * as convert from './convert/index.js';
export * as calibrate from './calibrate/index.js';
export * as models from './models/index.js';
