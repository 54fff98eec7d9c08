/** Optimizers, learning-rate schedules and gradient clipping. */
export { Optimizer } from './optimizer.js';
export type { BaseOptions, HyperParam, OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamBase, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { CosineAnnealingLR, LinearWarmup, LRSchedule, StepLR } from './schedule.js';
export { clipGradNorm, clipGradValue } from './clip.js';
