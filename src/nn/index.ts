/** Modules and layers. */
export { Module, type StateDict, type LoadResult } from './module.js';
export { Parameter } from './parameter.js';
export { Linear, Conv2d, AvgPool2d, MaxPool2d, AdaptiveAvgPool2d, Flatten, ReLU, Dropout, Identity, type AffineOptions, type Conv2dOptions } from './layers.js';
export { BatchNorm2d, type BatchNormOptions } from './batchnorm.js';
export { Sequential } from './sequential.js';
export { withRepeatedInput, perSample, repeatedOf, type Repeated } from './repeated.js';
export * as init from './init.js';
export { ClippedReLU, activation, type ClippedReLUOptions } from './activation.js';
export * as zoo from './zoo/index.js';
export { createModel, MODEL_NAMES, ZOO, type ZooOptions, type ZooEntry } from './zoo/index.js';
export {
  GraphModule, runTensorOp, runTensorOpOnSteps, toGraph, isGraphComposite, childPath, opName, TENSOR_OPS,
  type Graph, type GraphNode, type GraphComposite, type GraphLowering, type TensorOp, type PadMode,
} from './graph.js';
