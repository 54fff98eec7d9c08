/**
 * File formats, as bytes and tensors (no modules): safetensors read and write, PyTorch checkpoints (pickle in zip or
 * legacy tar-less files), the ONNX protobuf, and atomic file writes. What a file means as a network is src/models/.
 * @example
 * import { formats } from 'snnkit';
 * const { tensors, metadata } = formats.loadSafetensors('weights.safetensors');
 */
export { writeFileAtomic, writeFileAtomicAsync, removeStaleTempFiles, type AtomicData, type AtomicWriteOptions } from './atomic.js';
export {
  saveSafetensors, loadSafetensors, readSafetensorsHeader, encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES,
  type SafetensorsHeader, type SafetensorsTensorInfo, type LoadedSafetensors, type LoadSafetensorsOptions, type NamedTensors,
} from './safetensors.js';
export { loadTorchCheckpoint, torchStateDict, type TorchCheckpoint, type LoadTorchOptions, type TorchStateDictOptions } from './pytorch.js';
export { onnxSchema, onnxTensor, decodeOnnxModel, readOnnxSource, type TensorMsg, type AttrMsg, type NodeMsg, type ModelMsg } from './onnx.js';
export { decodeNmnist, readNmnistFile, checkEvents, NMNIST_SIZE, type Events } from './events.js';
