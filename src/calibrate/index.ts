/** Layer-wise calibration of converted SNNs (Li, Deng et al., ICML 2021). */
export { calibrateSnn, PIPELINES, type CalibrationSteps, type CalibrateOptions } from './calibrate.js';
export { searchThresholds, type ThresholdGrid, type ThresholdSearchOptions } from './threshold.js';
