/** ANN→SNN conversion: batch-norm folding, threshold balancing, the V_th/2 shift, simulation at several T, early exit. */
export { convertToSnn, foldNetwork, type ConvertOptions, type ConvertedSnn, type ShiftMode } from './converter.js';
export { foldBatchNorm } from './fold.js';
export { ActivationRecorder, parseThresholdStat, type ThresholdStat } from './stats.js';
export { ResidualBlock } from './blocks.js';
export { simulate, type SimulateOptions, type SimulationResult } from './simulate.js';
export { analyzeConversion, layerErrors, ENERGY_PJ, type ConversionAnalysis, type LayerAnalysis, type LayerError } from './analysis.js';
export {
  exitScore, exitStep, exitPoint, exitSweep, exitCurve, chooseExitThreshold, defaultMinSteps, EXIT_CRITERIA,
  type ExitCriterion, type Trajectories, type ExitPoint, type ExitChoice, type EarlyExitSummary,
} from './early-exit.js';
export { SpikeConv2d, quantizeSpikeConvs } from './int8.js';
