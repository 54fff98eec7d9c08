/** A small, deterministic training setup shared by the trainer tests and their child process (not a test file). */
import { DataLoader } from '../../src/data/loader.js';
import { normalize } from '../../src/data/transforms.js';
import { nn, neurons, surrogate, Generator, type Tensor } from '../../src/index.js';
import type { SpikingClassifier } from '../../src/neurons/classifier.js';
import { trainSnn, type TrainSnnResult } from '../../src/train/snn.js';
import { trainAnn, type TrainAnnResult } from '../../src/train/ann.js';
import { silentProgress } from '../../src/train/progress.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsHeader } from '../../src/formats/safetensors.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';

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

/** Runs the standard small training into outDir (slowMs: sleep per batch, so a kill can land mid-run; model: another net). */
export async function trainChildRun(outDir: string, epochs: number, slowMs = 0, model: TinyNet = new TinyNet()): Promise<TrainAnnResult> {
  const t = [normalize([0.5], [0.25])];
  const train = new DataLoader(halvesDataset(96, 1), { batchSize: 16, shuffle: true, seed: 4, transforms: t, workers: 0 });
  const test = new DataLoader(halvesDataset(40, 2), { batchSize: 20, transforms: t, workers: 0 });
  if (slowMs) slowDown(train, slowMs);
  return trainAnn({ model, train, test, epochs, lr: 0.05, seed: 3, outDir, progress: silentProgress,
    meta: { arch: 'tiny', dataset: 'halves', mean: [0.5], std: [0.25] } });
}

/** A tiny spiking classifier for the halves task: conv, BN, folded LIF (Dspike), pooling, linear; T = 3. */
export function tinySnn(): SpikingClassifier {
  const n = neurons.neuronFactory(3, { kind: 'lif', surrogate: surrogate.dspike({ b: 2 }) });
  const body = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, generator: new Generator(1) }), new nn.BatchNorm2d(4), n(),
    new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(64, 2, { generator: new Generator(2) }));
  return new neurons.SpikingClassifier(body, { T: 3 });
}

/** Runs the standard small SNN training into outDir, with a validation split and the Dspike search after each epoch. */
export async function trainSnnChildRun(outDir: string, epochs: number, slowMs = 0): Promise<TrainSnnResult> {
  const t = [normalize([0.5], [0.25])];
  const train = new DataLoader(halvesDataset(96, 1), { batchSize: 16, shuffle: true, seed: 4, transforms: t, workers: 0 });
  const val = new DataLoader(halvesDataset(32, 3), { batchSize: 16, transforms: t, workers: 0 });
  const test = new DataLoader(halvesDataset(40, 2), { batchSize: 20, transforms: t, workers: 0 });
  if (slowMs) slowDown(train, slowMs);
  return trainSnn({ model: tinySnn(), train, val, test, epochs, optimizer: 'adam', lr: 0.01, seed: 3, outDir, progress: silentProgress,
    loss: { kind: 'tet' }, fdg: { every: 1, step: 0.5, eps: 0.05, weights: 12, chunk: 8 },
    meta: { arch: 'tiny-snn', dataset: 'halves', mean: [0.5], std: [0.25] } });
}

function slowDown(loader: DataLoader, ms: number): void {
  const orig = loader.epoch.bind(loader);
  loader.epoch = async function* (e: number) {
    for await (const b of orig(e)) {
      await new Promise((r) => setTimeout(r, ms));
      yield b;
    }
  };
}

/**
 * Starts resume-child.js training into dir and SIGKILLs it (no cleanup) as soon as its first epoch's checkpoint is on disk.
 * @returns the epochs the killed run had finished
 */
export async function killAfterFirstCheckpoint(dir: string, env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./resume-child.js', import.meta.url))], {
    env: { ...process.env, SNNKIT_RESUME_CHILD: '1', OUT: dir, ...env }, stdio: 'ignore',
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const t0 = Date.now();
  while (!existsSync(join(dir, 'last.safetensors')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await exited;
  return Number(readSafetensorsHeader(join(dir, 'last.safetensors')).metadata['epoch']);
}

/** @returns the largest absolute difference between the weights of two checkpoints (every key of b) */
export function maxWeightDifference(pathA: string, pathB: string): { key: string; diff: number } {
  const a = loadCheckpoint(pathA), b = loadCheckpoint(pathB);
  let worst = { key: '', diff: 0 };
  for (const k of Object.keys(b.weights)) {
    const d = a.weights[k]!.to('float64').sub(b.weights[k]!.to('float64')).abs().amax().item();
    if (d > worst.diff) worst = { key: k, diff: d };
  }
  a.dispose();
  b.dispose();
  return worst;
}
