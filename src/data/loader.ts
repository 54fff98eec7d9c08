/**
 * DataLoader: seeded shuffling, batching, drop-last, per-sample transforms, and prefetching in worker threads so that
 * training does not wait on data. Each batch arrives as tensors (float32 images [B, C, H, W], int64 labels [B]).
 */
import { Worker } from 'node:worker_threads';
import { invalidArg, SnnkitError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { buildBatch, type BatchSource, type RawBatch } from './batch.js';
import type { ImageDataset } from './dataset.js';
import { outputShape, sampleRng, type Transform } from './transforms.js';
import type { BatchRequest } from './worker.js';

/** Options of DataLoader. */
export interface DataLoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (seeded by seed and epoch). Default false. */
  shuffle?: boolean;
  /** Seed of shuffling and augmentation. Default 0. */
  seed?: number;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
  /** Per-sample transforms, in order. Default none (values uint8 / 255). */
  transforms?: Transform[];
  /** Worker threads that build batches (0: on the main thread). Default 1. */
  workers?: number;
  /** Batches requested ahead of the one being consumed. Default 4. */
  prefetch?: number;
}

/** One batch. Dispose it (or let the consuming tidy() scope do so) when done. */
export interface Batch {
  x: Tensor;
  y: Tensor;
  /** Index of the batch within its epoch. */
  index: number;
  /** Frees x and y (call it once the batch is used, or run the step in a tidy that keeps nothing). */
  dispose(): void;
}

/**
 * Iterates over a dataset in batches, one epoch per `for await` (or per `epoch(e)`).
 * @example
 * const loader = new DataLoader(train, { batchSize: 128, shuffle: true, transforms: [randomCrop(32, 4), horizontalFlip(), normalize(m, s)] });
 * for await (const b of loader.epoch(0)) { tidy(() => step(b.x, b.y)); b.dispose(); }
 * loader.close();
 */
export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly transforms: readonly Transform[];
  readonly prefetch: number;
  /** Shape [C, H, W] of the samples after the transforms. */
  readonly sampleShape: [number, number, number];
  private readonly source: BatchSource;
  private readonly workerCount: number;
  private workers: Worker[] = [];
  private nextEpoch = 0;
  private nextRequest = 0;
  private readonly pending = new Map<number, { resolve: (b: RawBatch) => void; reject: (e: Error) => void }>();

  /**
   * @param dataset an in-memory dataset (see loadDataset)
   * @param opts batch size, shuffling, transforms, workers
   * @throws SnnkitError for a non-positive batch size or worker count, or transforms that do not fit the images
   */
  constructor(readonly dataset: ImageDataset, opts: DataLoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw invalidArg('DataLoader', 'batchSize', 'a positive integer', opts.batchSize);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.transforms = opts.transforms ?? [];
    this.workerCount = opts.workers ?? 1;
    if (!Number.isInteger(this.workerCount) || this.workerCount < 0) throw invalidArg('DataLoader', 'workers', 'an integer >= 0', opts.workers);
    this.prefetch = opts.prefetch ?? 4;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) throw invalidArg('DataLoader', 'prefetch', 'an integer >= 1', opts.prefetch);
    this.sampleShape = outputShape(dataset.shape, this.transforms);
    this.source = { images: dataset.images, labels: dataset.labels, shape: dataset.shape };
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /**
   * The sample order of an epoch: 0..N-1, or a permutation seeded by (seed, epoch).
   * @returns the indices
   */
  order(epoch: number): Int32Array {
    const idx = new Int32Array(this.dataset.length);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    if (this.shuffle) {
      const rng = sampleRng(this.seed, epoch, 0x5eed);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
      }
    }
    return idx;
  }

  /** Iterates over the next epoch (0, 1, 2, ... on successive loops). */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch(this.nextEpoch++)[Symbol.asyncIterator]();
  }

  /**
   * Iterates over epoch `e` (its shuffle and augmentation depend only on seed and e, so a resumed run sees the
   * same data as an uninterrupted one).
   */
  async *epoch(e: number): AsyncGenerator<Batch> {
    const order = this.order(e);
    const n = this.length;
    const slice = (k: number) => order.subarray(k * this.batchSize, Math.min((k + 1) * this.batchSize, order.length));
    if (this.workerCount === 0) {
      for (let k = 0; k < n; k++) yield this.toBatch(buildBatch(this.source, slice(k), this.transforms, this.seed, e), k);
      return;
    }
    this.startWorkers();
    const inflight: Promise<RawBatch>[] = [];
    let requested = 0;
    const request = () => {
      if (requested < n) inflight.push(this.requestBatch(requested % this.workers.length, e, slice(requested).slice()));
      requested++;
    };
    for (let k = 0; k < Math.min(this.prefetch, n); k++) request();
    for (let k = 0; k < n; k++) {
      const raw = await inflight.shift()!;
      request();
      yield this.toBatch(raw, k);
    }
  }

  /** Stops the worker threads (they are restarted by the next epoch). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private toBatch(raw: RawBatch, index: number): Batch {
    const x = tensor(raw.x, raw.shape);
    const y = tensor(raw.y, [raw.shape[0]]);
    return { x, y, index, dispose: () => { x.dispose(); y.dispose(); } };
  }

  private startWorkers(): void {
    if (this.workers.length) return;
    for (let i = 0; i < this.workerCount; i++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { source: this.source, transforms: this.transforms, seed: this.seed },
      });
      w.on('message', (m: { id: number; batch?: RawBatch; error?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        if (m.error !== undefined) p?.reject(new SnnkitError(`DataLoader: a worker failed to build a batch: ${m.error}`, 'NATIVE_ERROR'));
        else p?.resolve(m.batch!);
      });
      w.on('error', (err) => this.failAll(err));
      w.unref(); // an idle loader never keeps the process alive; requests ref it while they wait
      this.workers.push(w);
    }
  }

  private requestBatch(worker: number, epoch: number, indices: Int32Array): Promise<RawBatch> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[worker]!.ref();
      const req: BatchRequest = { id, epoch, indices };
      this.workers[worker]!.postMessage(req, [indices.buffer as ArrayBuffer]);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(new SnnkitError(`DataLoader: worker thread died: ${err.message}`, 'NATIVE_ERROR'));
    this.pending.clear();
  }
}
