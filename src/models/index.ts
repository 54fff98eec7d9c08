/**
 * Networks in files: ONNX import (file → graph → snnkit modules) and snnkit's checkpoints (weights and metadata;
 * converted and calibrated SNNs). Sits above nn, neurons and convert; the byte formats are in src/formats/.
 */
export { loadOnnx, MIN_ONNX_OPSET, type LoadOnnxOptions } from './onnx.js';
export {
  saveModel, saveTrainingCheckpoint, loadCheckpoint, encodeMeta, decodeMeta, saveSnn, loadSnn, isSnnMeta,
  type CheckpointMeta, type LoadedCheckpoint, type SnnMeta,
} from './checkpoint.js';
