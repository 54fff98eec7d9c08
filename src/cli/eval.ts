/** `snnkit eval`: accuracy and loss of a checkpoint on a dataset. */
import type { Command } from 'commander';
import { SnnkitError } from '../errors.js';
import { loadDataset } from '../data/registry.js';
import { MODEL_NAMES, ZOO } from '../nn/zoo/index.js';
import { loadAnn } from './model.js';
import { eventLoadOptions, eventOptions, eventSettings, type EventFlags } from './event-flags.js';
import { loadCheckpoint } from '../models/checkpoint.js';
import { isSnnMeta, loadSnn } from '../models/checkpoint.js';
import { simulate } from '../convert/simulate.js';
import { layerErrors, type LayerError } from '../convert/analysis.js';
import { evaluate } from '../train/evaluate.js';
import { readStoredEarlyExit } from './early-exit.js';
import { resolveData, chooseNormalization, intAtLeast, intList, makeLoader, numberList, oneOf, report, subset } from './common.js';

interface EvalFlags extends EventFlags {
  model: string; arch?: string; dataset: string; data?: string; mean?: number[]; std?: number[];
  batchSize: number; T?: number[]; layerErrors?: number; earlyExit: boolean; download?: boolean; mirror?: string; split: 'train' | 'test'; limit?: number; workers: number; json?: boolean;
}

/** Registers `eval`. */
export function evalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description('accuracy and loss of a trained model (a .safetensors checkpoint) on a dataset')
    .requiredOption('--model <file>', 'the checkpoint (.safetensors)')
    .option('--arch <name>', `architecture (default: the checkpoint's "arch" metadata): ${MODEL_NAMES.join(', ')}`)
    .requiredOption('--dataset <name>', 'mnist, fashion-mnist, cifar10, cifar10-jpeg or nmnist')
    .option('--data <path>', 'where the data is (a folder, a .bin file, an image folder or the CIFAR-10 JPEG tarball); default: the usual place')
    .option('--mean <m1,m2,m3>', 'input normalisation mean (default: checkpoint metadata, else the dataset\'s usual)', numberList)
    .option('--std <s1,s2,s3>', 'input normalisation std', numberList)
    .option('--split <split>', 'train or test', oneOf(['train', 'test'] as const), 'test')
    .option('--batch-size <n>', 'batch size', intAtLeast(1), 256)
    .option('--T <list>', 'for an SNN checkpoint (snnkit convert or calibrate): the time steps to simulate (default: the T it was calibrated for, else 8,16,32,64)', intList('--T'))
    .option('--limit <n>', 'evaluate only the first n samples', intAtLeast(1))
    .option('--layer-errors <n>', 'for an SNN checkpoint: each spiking layer\'s RMS error against the ANN inside it, on the first n samples, at each T', intAtLeast(1))
    .option('--workers <n>', 'data worker threads', intAtLeast(0), 1)
    .option('--no-early-exit', 'for an SNN checkpoint that stores an early-exit threshold (convert/calibrate --early-exit): do not also run with it')
    .option('--download', 'download the official files first (SHA-256 checked) into --data or ~/.cache/snnkit/datasets')
    .option('--mirror <url>', 'with --download: fetch from this base URL instead of the official site')
    .option('--json', 'print one JSON object as the last line');
  eventOptions(cmd, true)
    .action(async (f: EvalFlags) => {
      const t0 = performance.now();
      const ck = /\.(onnx|th|pt|pth)$/i.test(f.model) ? undefined : loadCheckpoint(f.model);
      if (ck && isSnnMeta(ck.meta)) {
        ck.dispose();
        const { ann, converted, meta, snnMeta } = await loadSnn(f.model, f.arch);
        const data = await resolveData(f.dataset, f.data, f.download, f.mirror, (l) => process.stderr.write(`${l}\n`));
        const ds = subset(await loadDataset(f.dataset, { data, split: f.split, ...eventLoadOptions(eventSettings(f.dataset, f, undefined, meta)) }), f.limit);
        const norm = chooseNormalization(f.dataset, f, meta);
        const loader = makeLoader(ds, norm, { batchSize: Math.min(f.batchSize, 100), shuffle: false, seed: 0, workers: f.workers });
        const sim = await simulate(converted.snn, loader, { T: f.T ?? (snnMeta.calibration ? [snnMeta.calibration.T] : [8, 16, 32, 64]), ann });
        const stored = f.earlyExit ? readStoredEarlyExit(meta, f.model) : undefined;
        const t1 = performance.now();
        const exit = stored && (await simulate(converted.snn, loader, { T: [stored.T], earlyExit: { criterion: stored.criterion, threshold: stored.threshold, minStep: stored.minStep } })).earlyExit;
        const earlyExit = exit && { criterion: exit.criterion, threshold: exit.threshold, minStep: stored.minStep, T: stored.T, accuracy: exit.accuracy, averageT: exit.averageT, seconds: (performance.now() - t1) / 1000 };
        await loader.close();
        const errors: { T: number; samples: number; layers: LayerError[] }[] = [];
        if (f.layerErrors) {
          const first = makeLoader(subset(ds, f.layerErrors), norm, { batchSize: Math.min(f.batchSize, 100), shuffle: false, seed: 0, workers: f.workers });
          for (const t of sim.T) errors.push(await layerErrors(ann, converted, first, t));
          await first.close();
        }
        const seconds = (performance.now() - t0) / 1000;
        report(f.json, { command: 'eval', model: f.model, kind: 'snn', arch: meta.arch, dataset: f.dataset, split: f.split, T: sim.T, accuracy: sim.accuracy,
          annAccuracy: sim.annAccuracy, agreement: sim.agreement, count: sim.count, normalization: norm, ...(f.layerErrors ? { layerErrors: errors } : {}), ...(earlyExit ? { earlyExit } : {}), seconds },
        [`SNN ${String(meta.arch)} on ${f.dataset} ${f.split} (${sim.count} images; ANN ${(100 * (sim.annAccuracy ?? 0)).toFixed(2)}%):`,
          ...sim.T.map((t, i) => `  T=${t}: ${(100 * sim.accuracy[i]!).toFixed(2)}%`),
          ...(earlyExit ? [`  early exit (${earlyExit.criterion} ≥ ${earlyExit.threshold.toPrecision(4)} from step ${earlyExit.minStep}, T ≤ ${earlyExit.T}): ${(100 * earlyExit.accuracy).toFixed(2)}% at average T ${earlyExit.averageT.toFixed(2)} (${earlyExit.seconds.toFixed(1)} s)`] : []),
          ...errors.map((e) => `  RMS error against the ANN per spiking layer, T=${e.T}, first ${e.samples} images: ${e.layers.map((l) => l.rms.toFixed(3)).join(' ')}`)]);
        return;
      }
      ck?.dispose();
      if (f.layerErrors) throw new SnnkitError(`--layer-errors: ${f.model} is not an SNN checkpoint (snnkit convert, calibrate or hybrid train-snn); the errors compare an SNN with the ANN inside it`, 'INVALID_ARGUMENT');
      const { model, arch, meta } = loadAnn(f.model, f.arch);
      const data = await resolveData(f.dataset, f.data, f.download, f.mirror, (l) => process.stderr.write(`${l}\n`));
      const ds = subset(await loadDataset(f.dataset, { data, split: f.split, ...eventLoadOptions(eventSettings(f.dataset, f, undefined, meta)) }), f.limit);
      const want = ZOO[arch]?.inputShape;
      if (want && ds.shape.join(',') !== want.join(','))
        throw new SnnkitError(`${arch} takes ${want.join('×')} inputs but ${ds.name} has ${ds.shape.join('×')} images`, 'SHAPE_MISMATCH');
      const norm = chooseNormalization(f.dataset, f, meta);
      const loader = makeLoader(ds, norm, { batchSize: f.batchSize, shuffle: false, seed: 0, workers: f.workers });
      const r = await evaluate(model, loader);
      await loader.close();
      const seconds = (performance.now() - t0) / 1000;
      report(f.json, { command: 'eval', model: f.model, arch, dataset: f.dataset, split: f.split, accuracy: r.accuracy, loss: r.loss,
        count: r.count, normalization: norm, seconds }, [
        `${arch} on ${f.dataset} ${f.split} (${r.count} images): accuracy ${(100 * r.accuracy).toFixed(2)}%, loss ${r.loss.toFixed(4)}`,
        `normalisation from ${norm.source}: mean ${norm.mean.join(',')}, std ${norm.std.join(',')}  (${seconds.toFixed(1)} s)`,
      ]);
    });
}
