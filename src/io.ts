/**
 * @deprecated since 0.2: the former `io` namespace, kept for one release. File formats are `formats` (safetensors,
 * PyTorch checkpoints, the ONNX protobuf, atomic writes) and networks in files are `models` (`models.loadOnnx`,
 * checkpoints).
 */
export * from './formats/index.js';
export { loadOnnx, MIN_ONNX_OPSET, type LoadOnnxOptions } from './models/onnx.js';
