/** `snnkit convert`: ANN checkpoint → SNN checkpoint, with the accuracy at several T and the error analysis. */
import type { Command } from 'commander';
import { SnnkitError } from '../errors.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeConversion } from '../convert/analysis.js';
import { saveSnn } from '../models/checkpoint.js';
import { convertToSnn } from '../convert/converter.js';
import { parseThresholdStat } from '../convert/stats.js';
import { simulate } from '../convert/simulate.js';
import { writeConversionReport } from '../report/conversion.js';
import { intAtLeast, intList, makeLoader, prepareConversion, oneOf, report, subset, conversionOptions , prepareOut } from './common.js';
import { DataLoader } from '../data/loader.js';
import { Generator } from '../tensor/creation.js';
import { removeStaleTempFiles } from '../formats/atomic.js';
import { chooseEarlyExit, earlyExitOptions, storedEarlyExit, summarizeEarlyExit, type EarlyExitFlags } from './early-exit.js';

interface ConvertFlags extends EarlyExitFlags {
  model: string; arch?: string; dataset: string; data?: string; calibData?: string; mean?: number[]; std?: number[]; T: number[];
  threshold: string; shift?: boolean | 'none' | 'potential'; signed?: boolean; encoding: 'direct' | 'poisson'; samples: number; testLimit?: number; analyzeLimit: number; batchSize: number; out: string; workers: number; json?: boolean;
}

/** Registers `convert`. */
export function convertCommand(program: Command): void {
  earlyExitOptions(conversionOptions(program
    .command('convert')
    .description('convert a trained ANN into an SNN (threshold balancing); DIR gets snn.safetensors and report.{md,json} with plots'), 'data for the activation statistics')
    .option('--T <list>', 'time steps to report', intList('--T'), [8, 16, 32, 64])
    .option('--threshold <stat>', 'max | ema | a percentile such as 99.9', 'max')
    .option('--shift [mode]', 'none | potential: start membranes at V_th/2 (the V_th/2T bias shift; flooring becomes rounding); a bare --shift means potential', oneOf(['none', 'potential'] as const), 'none')
    .option('--encoding <kind>', 'direct (analog input every step) or poisson (rate-coded pixels)', oneOf(['direct', 'poisson'] as const), 'direct')
    .option('--samples <n>', 'training samples for the statistics', intAtLeast(1), 1024)
    .option('--analyze-limit <n>', 'samples for the per-layer error analysis (0: skip it)', intAtLeast(0), 256)
    .option('--batch-size <n>', 'batch size', intAtLeast(1), 100))
    .action(async (f: ConvertFlags) => {
      const t0 = performance.now();
      prepareOut(f.out);
      const stat = parseThresholdStat(f.threshold);
      const { ann, arch, norm, testSet, calib, test, snnMeta } = await prepareConversion(f);
      const shift = f.shift === true || f.shift === 'potential' ? 'potential' : 'none';
      const converted = await convertToSnn(ann, { calibration: calib, samples: f.samples, threshold: stat, shift, signed: f.signed ?? false });
      process.stderr.write(`converted ${arch}: ${converted.thresholds.length} ${f.signed ? 'signed IF' : 'IF'} layers, thresholds from ${converted.samples} samples (${f.threshold})\n`);
      const poisson = f.encoding === 'poisson';
      // Poisson needs raw pixels: the simulation normalises each step's spikes itself.
      const simLoader = poisson ? new DataLoader(subset(testSet, f.testLimit), { batchSize: f.batchSize, workers: f.workers }) : test;
      if (poisson && f.earlyExit !== undefined) throw new SnnkitError('--early-exit is not available with --encoding poisson yet (its threshold is chosen on directly encoded training samples)', 'INVALID_ARGUMENT');
      const tMax = Math.max(...f.T), log = (l: string) => process.stderr.write(`${l}\n`);
      const exit = await chooseEarlyExit(converted.snn, calib, tMax, f, log);
      const sim = await simulate(converted.snn, simLoader, { T: f.T, ann, ...(exit ? { record: exit.criterion } : {}), ...(poisson ? { encoding: 'poisson' as const, normalize: norm, generator: new Generator(0) } : {}), onBatch: (d, n) => { if (d % 10 === 0 || d === n) log(`simulating: batch ${d}/${n}`); } });
      const earlyExit = exit && summarizeEarlyExit(exit, sim);
      // The per-layer analysis models IF neurons: not run for signed ones.
      const analysis = f.analyzeLimit > 0 && !f.signed ? await analyzeConversion(ann, converted, makeLoader(subset(testSet, f.analyzeLimit), norm, { batchSize: f.batchSize, seed: 0, workers: f.workers, shuffle: false }), f.T, { shift: shift === 'potential' }) : undefined;
      await Promise.all([calib.close(), test.close(), simLoader.close()]);
      mkdirSync(f.out, { recursive: true });
      removeStaleTempFiles(f.out); // what a killed earlier run's writes left
      const snnPath = join(f.out, 'snn.safetensors');
      saveSnn(snnPath, ann, converted, { ...snnMeta, shift, threshold: f.threshold, ...(exit ? { early_exit: storedEarlyExit(exit, tMax) } : {}) });
      const settings = { model: f.model, arch, dataset: f.dataset, threshold: f.threshold, shift, neurons: f.signed ? 'signed IF' : 'IF', samples: converted.samples, 'test samples': sim.count, normalisation: `${norm.source}: mean ${norm.mean.join(',')}, std ${norm.std.join(',')}`, encoding: f.encoding };
      const files = await writeConversionReport(f.out, { title: `${arch} → SNN (${f.threshold}${shift === 'potential' ? ', shift' : ''})`, command: `snnkit ${process.argv.slice(2).join(' ')}`, settings, thresholds: converted.thresholds, simulation: sim, ...(analysis ? { analysis } : {}), ...(earlyExit ? { earlyExit } : {}) });
      const seconds = (performance.now() - t0) / 1000;
      report(f.json, { command: 'convert', arch, dataset: f.dataset, threshold: f.threshold, shift, T: sim.T, accuracy: sim.accuracy, annAccuracy: sim.annAccuracy, agreement: sim.agreement,
        count: sim.count, thresholds: converted.thresholds, ...(earlyExit ? { earlyExit: { ...earlyExit.test, criterion: exit!.criterion, T: tMax } } : {}), snn: snnPath, report: join(f.out, 'report.md'), files, seconds }, [
        `${arch} → SNN on ${f.dataset} (${sim.count} images), ANN ${((sim.annAccuracy ?? 0) * 100).toFixed(2)}%`,
        ...sim.T.map((t, i) => `  T=${t}: ${(100 * sim.accuracy[i]!).toFixed(2)}%`),
        ...(earlyExit ? [`  early exit: ${(100 * earlyExit.test.accuracy).toFixed(2)}% at average T ${earlyExit.test.averageT.toFixed(2)}`] : []),
        `${snnPath}, ${join(f.out, 'report.md')} (${seconds.toFixed(0)} s)`,
      ]);
    });
}
