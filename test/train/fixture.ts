/** A small, deterministic training setup shared by the trainer tests and their child process (not a test file). */
import { DataLoader } from '../../src/data/loader.js';
import { normalize } from '../../src/data/transforms.js';
import { nn, Generator, type Tensor } from '../../src/index.js';
import { trainAnn, type TrainAnnResult } from '../../src/train/ann.js';
import { silentProgress } from '../../src/train/progress.js';
import type { ImageDataset } from '../../src/data/dataset.js';

/** Two classes of 1×8×8 images: a bright top half (label 0) or a bright bottom half (label 1), plus seeded noise. */
export function halvesDataset(n: number, seed: number): ImageDataset {
  const images = new Uint8Array(new SharedArrayBuffer(n * 64)), labels = new Uint8Array(new SharedArrayBuffer(n));
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 64; p++) {
      const top = p < 32;
      images[i * 64 + p] = Math.min(255, Math.round((top === (i % 2 === 0) ? 150 : 60) + 80 * rnd()));
    }
  }
  return { name: 'halves', split: 'train', images, labels, length: n, shape: [1, 8, 8], classes: ['top', 'bottom'], source: [] };
}

/** A conv net small enough to train in a second; with dropout, so that the resume test covers its seeding. */
export class TinyNet extends nn.Module {
  body = this.registerModule('body', new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1, generator: new Generator(1) }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.2), new nn.Linear(64, 2, { generator: new Generator(2) })));
  forward(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}

/** Runs the standard small training into outDir (slowMs: sleep per batch, so a kill can land mid-run). */
export async function trainChildRun(outDir: string, epochs: number, slowMs = 0): Promise<TrainAnnResult> {
  const t = [normalize([0.5], [0.25])];
  const train = new DataLoader(halvesDataset(96, 1), { batchSize: 16, shuffle: true, seed: 4, transforms: t, workers: 0 });
  const test = new DataLoader(halvesDataset(40, 2), { batchSize: 20, transforms: t, workers: 0 });
  if (slowMs) {
    const orig = train.epoch.bind(train);
    train.epoch = async function* (e: number) {
      for await (const b of orig(e)) {
        await new Promise((r) => setTimeout(r, slowMs));
        yield b;
      }
    };
  }
  return trainAnn({ model: new TinyNet(), train, test, epochs, lr: 0.05, seed: 3, outDir, progress: silentProgress,
    meta: { arch: 'tiny', dataset: 'halves', mean: [0.5], std: [0.25] } });
}
