/** Layer-wise calibration of converted SNNs (Li, Deng et al., ICML 2021). */
export {
  calibrateSnn, parseSteps, PIPELINES, STEP_NAMES, CALIBRATION_SHIFTS, shiftMode, type CalibrationShift,
  type CalibratedSnn, type CalibrateOptions, type CalibrationSteps, type LayerCalibration, type PipelineName, type StepName, type ThresholdSource, type WeightCalibrationOptions,
} from './calibrate.js';
export { neuronContext, type CalibrationStep, type NeuronContext } from './step.js';
export { Walk, type BatchValues } from './walk.js';
export { augmentImages, AUGMENTS, finetune, type Augment, type DistillOptions, type FinetuneOptions, type QuantizeOptions, type TrainedGroup } from './finetune.js';
export { gridFractions, gridSearch, searchThresholds, simulatedSearch, THRESHOLD_GRIDS, type GridOptions, type ThresholdGrid, type ThresholdSearchOptions } from './threshold.js';
export { biasLayerOf, checkAligned, lower, segmentOf, type Program, type ProgramNode } from './program.js';
