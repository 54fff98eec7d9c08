/**
 * Checkpoint I/O: safetensors read and write, and atomic file writes.
 * @example
 * import { saveSafetensors, loadSafetensors } from 'snnkit/io';
 */
export { writeFileAtomic, writeFileAtomicAsync, removeStaleTempFiles, type AtomicData, type AtomicWriteOptions } from './atomic.js';
export {
  saveSafetensors, loadSafetensors, readSafetensorsHeader, encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES,
  type SafetensorsHeader, type SafetensorsTensorInfo, type LoadedSafetensors, type LoadSafetensorsOptions, type NamedTensors,
} from './safetensors.js';
export { loadTorchCheckpoint, torchStateDict, type TorchCheckpoint, type LoadTorchOptions, type TorchStateDictOptions } from './pytorch.js';
export { loadOnnx, onnxSchema, onnxTensor, MIN_ONNX_OPSET, type LoadOnnxOptions } from './onnx.js';
