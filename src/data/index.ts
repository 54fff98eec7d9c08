/**
 * Datasets: MNIST / Fashion-MNIST (IDX), CIFAR-10 (binary), image folders (JPEG/PNG, cached), official downloads
 * with SHA-256 checks, and the registry the CLI's `--dataset NAME [--data PATH]` uses.
 * (DataLoader and transforms live in `loader.ts` / `transforms.ts`.)
 */
export {
  type ImageDataset, type Split, SPLITS, checkSplit, labelCounts, roundRobinByClass, channelMeans, defaultCacheDir, sharedDataDir,
} from './dataset.js';
export {
  type IdxArray, type LoadIdxOptions, type MnistOptions, readIdx, loadIdx, loadMnist, loadFashionMnist, findIdxFiles,
  mnistDefaultDir, MNIST_CLASSES, FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, IDX_FILE_NAMES,
} from './idx.js';
export { CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, CIFAR10_BIN_FILES, findCifar10BinFiles, loadCifar10Binary } from './cifar.js';
export {
  type ImageFolderOptions, IMAGE_EXTENSIONS, loadImageFolder, loadCifar10Jpeg, extractTarGzOnce, findImageFolderRoot,
  cifar10JpegDefaultArchive,
} from './imagefolder.js';
export {
  type DownloadableDataset, type OfficialFile, type OfficialSource, type FetchLike, type DownloadOptions,
  type DownloadResult, OFFICIAL_SOURCES, downloadDataset, downloadFile, defaultDownloadDir, extractCifar10Archive,
} from './download.js';
export { type DatasetName, type Normalization, type LoadDatasetOptions, type DatasetInfo, DATASETS, loadDataset } from './registry.js';
export { DataLoader, type DataLoaderOptions, type Batch } from './loader.js';
export { randomCrop, horizontalFlip, cutout, normalize, applyTransforms, outputShape, sampleRng, type Transform } from './transforms.js';
export { eventsToFrames, denoiseEvents, type FrameOptions } from './events.js';
export { loadNmnist, NMNIST_CLASSES, type NmnistOptions, type EventFrameOptions } from './nmnist.js';
