/** The DataLoader's worker thread: builds batches off the main thread. The dataset arrays arrive shared, not copied. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildBatch, type BatchSource } from './batch.js';
import type { Transform } from './transforms.js';

/** A request from the main thread. */
export interface BatchRequest {
  id: number;
  epoch: number;
  indices: Int32Array;
}

const { source, transforms, seed } = workerData as { source: BatchSource; transforms: Transform[]; seed: number };
parentPort!.on('message', (req: BatchRequest) => {
  try {
    const b = buildBatch(source, req.indices, transforms, seed, req.epoch);
    parentPort!.postMessage({ id: req.id, batch: b }, [b.x.buffer as ArrayBuffer, b.y.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: (e as Error).message });
  }
});
