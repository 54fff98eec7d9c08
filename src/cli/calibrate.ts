/**
 * `snnkit calibrate`: a pretrained ANN (snnkit/safetensors, ONNX or PyTorch) → calibrated SNNs, one per T and
 * pipeline, with the test accuracy of each, a report with per-layer thresholds and errors, and plots.
 */
import { Option, type Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deprecated, SnnkitError } from '../errors.js';
import { calibrateSnn, CALIBRATION_SHIFTS, parseSteps, PIPELINES, STEP_NAMES, type CalibrationShift, type CalibrationSteps, type StepName } from '../calibrate/calibrate.js';
import { AUGMENTS, type Augment } from '../calibrate/finetune.js';
import { THRESHOLD_GRIDS, type ThresholdGrid } from '../calibrate/threshold.js';
import { saveSnn } from '../models/checkpoint.js';
import { simulate } from '../convert/simulate.js';
import { evaluate } from '../train/evaluate.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeCalibrationReport, type CalibrationRun } from '../report/calibration.js';
import { TerminalProgress } from '../report/progress.js';
import { intAtLeast, intList, numberAtLeast, oneOf, prepareConversion, conversionOptions, report , prepareOut } from './common.js';
import { removeStaleTempFiles } from '../formats/atomic.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { CheckpointMeta } from '../models/checkpoint.js';
import { chooseEarlyExit, earlyExitOptions, storedEarlyExit, summarizeEarlyExit, type EarlyExitFlags } from './early-exit.js';

interface CalibrateFlags extends EarlyExitFlags {
  model: string; arch?: string; dataset: string; data?: string; calibData?: string; mean?: number[]; std?: number[]; T: number[];
  pipeline: string; steps?: string; samples: number; calibSamples?: number; correctionSamples: number; maxSampleSteps: number; perChannel?: boolean; grid: ThresholdGrid; gridPoints: number;
  thresholdSource: 'ann' | 'snn' | 'spikes'; thresholdAggregate: 'all' | 'ema'; initialThreshold: string; shift: CalibrationShift | false; shiftForm?: 'potential' | 'bias'; signed?: boolean; wcObjective: 'rate' | 'spikes' | 'rate+spikes'; wcSpikeIterations: number; wcBias?: boolean; distillEpochs: number; distillLr?: number; distillBatch: number; quantizeSamples?: number; quantizeLevels?: number; valSize?: number; quantizeEpochs: number; quantizeLr: number; quantizeThresholdLr: number; quantizeBatch: number; augment: Augment; wcOptimizer: 'adam' | 'sgd'; wcLr: number; wcIterations: number; wcBatch: number;
  testLimit?: number; batchSize: number; workers: number; seed: number; out: string; json?: boolean;
}

/** The pipelines asked for: names from PIPELINES, or 'custom' with --steps. */
function pipelinesOf(f: CalibrateFlags): { name: string; steps: CalibrationSteps }[] {
  const names = f.pipeline.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (!names.length) throw new SnnkitError(`--pipeline: expected none, light, advanced or custom, got '${f.pipeline}'`, 'INVALID_ARGUMENT');
  if (f.steps && !names.includes('custom')) throw new SnnkitError('--steps applies to --pipeline custom only', 'INVALID_ARGUMENT');
  return names.map((name) => {
    if (name === 'custom') {
      if (!f.steps) throw new SnnkitError(`--pipeline custom needs --steps (a comma-separated list of ${STEP_NAMES.join(', ')})`, 'INVALID_ARGUMENT');
      const steps = parseSteps(f.steps);
      return { name: STEP_NAMES.filter((s) => steps[s]).join('+') || 'custom', steps };
    }
    if (!(name in PIPELINES)) throw new SnnkitError(`--pipeline: unknown pipeline '${name}'; expected one of none, light, advanced, custom`, 'INVALID_ARGUMENT');
    return { name, steps: PIPELINES[name as keyof typeof PIPELINES] };
  });
}

/** The shift asked for, the former spellings (--no-shift, --shift-form) included. */
function shiftOf(f: CalibrateFlags): CalibrationShift {
  if (f.shift === false) {
    deprecated('snnkit calibrate', '--no-shift', '--shift none');
    return 'none';
  }
  if (f.shiftForm === undefined) return f.shift;
  deprecated('snnkit calibrate', '--shift-form', `--shift ${f.shiftForm}`);
  return f.shift === 'none' ? 'none' : f.shiftForm;
}

/** --samples, or its former spelling --calib-samples. */
function samplesOf(f: CalibrateFlags): number {
  if (f.calibSamples === undefined) return f.samples;
  deprecated('snnkit calibrate', '--calib-samples', '--samples');
  return f.calibSamples;
}

/** Registers `calibrate`. */
export function calibrateCommand(program: Command): void {
  earlyExitOptions(conversionOptions(program
    .command('calibrate')
    .description('convert and calibrate a pretrained ANN for each T and pipeline (Li, Deng et al., ICML 2021); DIR gets one SNN checkpoint per run and report.{md,json} with plots'), 'calibration data, labels unused')
    .option('--T <list>', 'time steps, one calibration each', intList('--T'), [8, 16, 32, 64])
    .option('--pipeline <list>', 'none | light | advanced | custom, or a comma-separated list of them', 'advanced')
    .option('--steps <list>', `with --pipeline custom: ${STEP_NAMES.join(',')}`)
    .option('--samples <n>', 'calibration samples (thresholds, weight calibration)', intAtLeast(1), 1024)
    .addOption(new Option('--calib-samples <n>', 'deprecated: --samples').argParser(intAtLeast(1)).hideHelp())
    .option('--correction-samples <n>', 'of those, the samples run through the SNN for bias/potential correction', intAtLeast(1), 256)
    .option('--max-sample-steps <n>', 'cap on samples × T run through the SNN while calibrating (memory)', intAtLeast(1), 32768)
    .option('--per-channel', 'one threshold per channel instead of per layer')
    .option('--grid <kind>', `threshold candidates: ${THRESHOLD_GRIDS.join(' | ')} (ref: max·(1 − 0.01 i))`, oneOf(THRESHOLD_GRIDS), 'ref')
    .option('--grid-points <n>', 'points of the linear grid', intAtLeast(1), 100)
    .option('--threshold-source <src>', 'search on the ANN\'s pre-activation (ann), the calibrated SNN\'s mean input current (snn), or its currents step by step, the neuron simulated for each candidate (spikes)', oneOf(['ann', 'snn', 'spikes'] as const), 'ann')
    .option('--threshold-aggregate <how>', 'ANN-side search over all samples at once (all) or per batch, averaged with an EMA (ema, the authors\' code)', oneOf(['all', 'ema'] as const), 'all')
    .option('--initial-threshold <stat>', 'thresholds before calibration (and of "none"): ema (of batch maxima, the authors\') | max | a percentile', 'ema')
    .option('--shift <mode>', 'the V_th/2 shift: potential (v(0) = V_th/2) | bias (V_th/2T added to the current every step, as the authors\' code) | none', oneOf(CALIBRATION_SHIFTS), 'potential')
    .addOption(new Option('--no-shift', 'deprecated: --shift none').hideHelp())
    .addOption(new Option('--shift-form <form>', 'deprecated: --shift potential|bias').argParser(oneOf(['potential', 'bias'] as const)).hideHelp())
    .option('--wc-objective <kind>', 'weight calibration loss: rate (clipfloor of the mean input, the authors\') | spikes (the neuron\'s real rate, through time) | rate+spikes (one, then the other)', oneOf(['rate', 'spikes', 'rate+spikes'] as const), 'rate')
    .option('--wc-spike-iterations <n>', 'with --wc-objective rate+spikes: iterations of the spike phase', intAtLeast(1), 300)
    .option('--wc-optimizer <name>', 'weight calibration optimizer: adam | sgd', oneOf(['adam', 'sgd'] as const), 'adam')
    .option('--wc-bias', 'weight calibration trains the biases too')
    .option('--wc-lr <lr>', 'weight calibration learning rate (cosine to 0)', numberAtLeast(0), 4e-5)
    .option('--wc-iterations <n>', 'weight calibration iterations per layer', intAtLeast(1), 5000)
    .option('--wc-batch <n>', 'weight calibration batch size', intAtLeast(1), 32)
    .option('--quantize-samples <n>', 'quantize step: training samples it draws on (default: --samples); the first n of the calibration data, in the calibration order', intAtLeast(1))
    .option('--quantize-levels <L>', 'quantize step: clip-floor levels of the quantized ANN (default: T; QCFS trains at L and simulates at T ≥ L)', intAtLeast(1))
    .option('--quantize-epochs <n>', 'quantize step (snnkit\'s, before the layer-wise ones): epochs over the calibration samples', intAtLeast(1), 20)
    .option('--quantize-lr <lr>', 'quantize step: Adam learning rate of the weights (cosine to 0)', numberAtLeast(0), 5e-4)
    .option('--quantize-threshold-lr <lr>', 'quantize step: Adam learning rate of the thresholds', numberAtLeast(0), 1e-3)
    .option('--quantize-batch <n>', 'quantize step: batch size', intAtLeast(1), 64)
    .option('--distill-epochs <n>', 'distill step (snnkit\'s, after the layer-wise ones): epochs over the calibration samples', intAtLeast(1), 8)
    .option('--distill-lr <lr>', 'distill step: Adam learning rate (cosine to 0; default 4e-3 / T)', numberAtLeast(0))
    .option('--distill-batch <n>', 'distill step: batch size', intAtLeast(1), 32)
    .option('--augment <kind>', `quantize and distill steps: what each image drawn gets, ${AUGMENTS.join(' | ')} (shifts of up to 4 pixels; mirror images)`, oneOf(AUGMENTS), 'crop+flip')
    .option('--batch-size <n>', 'batch size (calibration and test)', intAtLeast(1), 128)
    .option('--seed <n>', 'seed of the calibration sample order and weight calibration', intAtLeast(0), 0)
    .option('--val-size <n>', 'hold the last n calibration samples out of calibration and report each SNN\'s accuracy on them (choose pipelines and settings there, not on the test set)', intAtLeast(1)))
    .action(async (f: CalibrateFlags) => {
      const t0 = performance.now();
      prepareOut(f.out);
      const pipelines = pipelinesOf(f), shift = shiftOf(f), samples = samplesOf(f);
      const { ann, arch, norm, calib, test, val, snnMeta } = await prepareConversion(f, f.seed);
      mkdirSync(f.out, { recursive: true });
      removeStaleTempFiles(f.out); // what a killed earlier run's writes left
      const progress = new TerminalProgress();
      const runs: CalibrationRun[] = [];
      let annAccuracy: number | undefined, count = 0;
      try {
        for (const T of f.T) for (const p of pipelines) {
          const run = await calibrateOne({ f, ann, calib, test, val, snnMeta, shift, samples, progress }, T, p);
          runs.push(run.run);
          annAccuracy = run.annAccuracy;
          count = run.count;
        }
      } finally {
        await Promise.all([calib.close(), test.close(), val?.close()]);
      }
      const settings = {
        model: f.model, arch, dataset: f.dataset, 'calibration samples': samples, 'validation samples': f.valSize ?? 0, 'correction samples': f.correctionSamples, 'threshold grid': f.grid,
        'threshold source': f.thresholdSource, 'threshold aggregate': f.thresholdAggregate, 'per-channel thresholds': f.perChannel ?? false, shift, neurons: f.signed ? 'signed IF' : 'IF', 'initial threshold': f.initialThreshold,
        quantize: `${f.quantizeLevels ?? 'T'} levels, ${f.quantizeEpochs} epochs of ${f.quantizeSamples ?? samples} samples, Adam lr ${f.quantizeLr} (thresholds ${f.quantizeThresholdLr}), batch ${f.quantizeBatch}, cosine, augment ${f.augment}`,
        distill: `${f.distillEpochs} epochs, Adam lr ${f.distillLr ?? '4e-3/T'}, batch ${f.distillBatch}, cosine, augment ${f.augment}`,
        'weight calibration': `${f.wcObjective} objective, ${f.wcOptimizer}, lr ${f.wcLr}, ${f.wcIterations} iterations of ${f.wcBatch}, cosine`, normalisation: `${norm.source}: mean ${norm.mean.join(',')}, std ${norm.std.join(',')}`,
      };
      const files = await writeCalibrationReport(f.out, { title: `${arch} → calibrated SNN`, command: `snnkit ${process.argv.slice(2).join(' ')}`, settings, ...(annAccuracy !== undefined ? { annAccuracy } : {}), count, runs });
      const seconds = (performance.now() - t0) / 1000;
      const only = runs.length === 1 ? runs[0]! : undefined;
      report(f.json, {
        command: 'calibrate', arch, dataset: f.dataset, count, annAccuracy,
        accuracy: only ? only.accuracy : Object.fromEntries(runs.map((r) => [`${r.pipeline}@T=${r.T}`, r.accuracy])),
        runs: runs.map((r) => ({ T: r.T, pipeline: r.pipeline, steps: r.steps, accuracy: r.accuracy, validation: r.validation, quantizedAnn: r.quantizedAnn, agreement: r.agreement,
          ...(r.earlyExit ? { earlyExit: { ...r.earlyExit.test, criterion: r.earlyExit.choice.criterion } } : {}), seconds: r.seconds, checkpoint: r.checkpoint })),
        report: join(f.out, 'report.md'), files, seconds,
      }, [
        `${arch} calibrated on ${f.dataset} (${count} test images), ANN ${((annAccuracy ?? 0) * 100).toFixed(2)}%`,
        ...runs.map((r) => `  T=${r.T} ${r.pipeline}: ${(100 * r.accuracy).toFixed(2)}%${r.validation !== undefined ? ` (validation ${(100 * r.validation).toFixed(2)}%)` : ''}  (${r.seconds['total']!.toFixed(1)} s)`),
        `${join(f.out, 'report.md')} (${seconds.toFixed(0)} s)`,
      ]);
    });
}

/** What one calibration run needs from the command. */
interface RunContext {
  f: CalibrateFlags;
  ann: Module;
  calib: DataLoader;
  test: DataLoader;
  val?: DataLoader;
  snnMeta: CheckpointMeta;
  shift: CalibrationShift;
  samples: number;
  progress: TerminalProgress;
}

/** Calibrates, simulates and saves one SNN (one T, one pipeline), with early exit when asked for. */
async function calibrateOne(ctx: RunContext, T: number, p: { name: string; steps: CalibrationSteps }): Promise<{ run: CalibrationRun; annAccuracy?: number; count: number }> {
  const { f, ann, calib, test, val, snnMeta, shift, samples, progress } = ctx;
  const r0 = performance.now();
  let quantizedAnn: CalibrationRun['quantizedAnn'];
  const evaluateQuantized = async (qann: (x: Tensor) => Tensor): Promise<void> => {
    progress.start(`quantized ANN T=${T} ${p.name}`, test.length + (val?.length ?? 0));
    const t = await evaluate(qann, test, (d) => progress.update(d));
    const v = val && await evaluate(qann, val, (d) => progress.update(test.length + d));
    progress.stop();
    quantizedAnn = { test: t.accuracy, ...(v ? { validation: v.accuracy } : {}) };
    progress.log(`T=${T} ${p.name}: quantized ANN ${(100 * t.accuracy).toFixed(2)}%${v ? `; validation ${(100 * v.accuracy).toFixed(2)}%` : ''}`);
  };
  const c = await calibrateSnn(ann, {
    T, calibration: calib, samples, correctionSamples: f.correctionSamples, maxSampleSteps: f.maxSampleSteps, steps: p.steps, shift, signed: f.signed ?? false,
    initialThreshold: f.initialThreshold, grid: f.grid, points: f.gridPoints, perChannel: f.perChannel ?? false, thresholdSource: f.thresholdSource, thresholdAggregate: f.thresholdAggregate,
    weight: { objective: f.wcObjective, spikeIterations: f.wcSpikeIterations, trainBias: f.wcBias ?? false, optimizer: f.wcOptimizer, lr: f.wcLr, iterations: f.wcIterations, batchSize: f.wcBatch, seed: f.seed },
    quantize: { samples: f.quantizeSamples, levels: f.quantizeLevels, epochs: f.quantizeEpochs, lr: f.quantizeLr, thresholdLr: f.quantizeThresholdLr, batchSize: f.quantizeBatch, augment: f.augment, seed: f.seed, onStep: finetuneProgress(progress, `quantize T=${T} ${p.name}`), evaluate: evaluateQuantized },
    distill: { epochs: f.distillEpochs, lr: f.distillLr, batchSize: f.distillBatch, augment: f.augment, seed: f.seed, onStep: finetuneProgress(progress, `distill T=${T} ${p.name}`) },
    onLayer: (layer, i, total) => { if (i === 0) progress.start(`calibrate T=${T} ${p.name}`, total); progress.update(i, { layer }); },
  });
  progress.stop();
  const exit = await chooseEarlyExit(c.snn, calib, T, f, (l) => progress.log(`T=${T} ${p.name}: ${l}`));
  const r1 = performance.now();
  progress.start(`simulate T=${T} ${p.name}`, test.length);
  const sim = await simulate(c.snn, test, { T: [T], ann, ...(exit ? { record: exit.criterion } : {}), onBatch: (d) => progress.update(d) });
  progress.stop();
  const r2 = performance.now();
  let validation: number | undefined;
  if (val) {
    progress.start(`validate T=${T} ${p.name}`, val.length);
    validation = (await simulate(c.snn, val, { T: [T], onBatch: (d) => progress.update(d) })).accuracy[0]!;
    progress.stop();
  }
  const steps = STEP_NAMES.filter((s: StepName) => p.steps[s]);
  const checkpoint = join(f.out, `snn-T${T}-${p.name}.safetensors`);
  saveSnn(checkpoint, ann, c, { ...snnMeta, shift: shift === 'potential' ? 'potential' : 'none', threshold: f.initialThreshold, calibration: { T, steps, pipeline: p.name }, ...(exit ? { early_exit: storedEarlyExit(exit, T) } : {}) });
  const seconds = { ...c.seconds, calibration: (r1 - r0) / 1000, simulation: (r2 - r1) / 1000, total: (r2 - r0) / 1000 };
  const earlyExit = exit && summarizeEarlyExit(exit, sim);
  const run: CalibrationRun = { T, pipeline: p.name, steps, accuracy: sim.accuracy[0]!, ...(validation !== undefined ? { validation } : {}), ...(quantizedAnn ? { quantizedAnn } : {}), ...(sim.agreement ? { agreement: sim.agreement[0]! } : {}), ...(earlyExit ? { earlyExit } : {}), seconds, layers: c.layers, checkpoint };
  progress.log(`T=${T} ${p.name}: ${(100 * sim.accuracy[0]!).toFixed(2)}% (ANN ${((sim.annAccuracy ?? 0) * 100).toFixed(2)}%${validation !== undefined ? `; validation ${(100 * validation).toFixed(2)}%` : ''})${earlyExit ? `; early exit ${(100 * earlyExit.test.accuracy).toFixed(2)}% at average T ${earlyExit.test.averageT.toFixed(2)}` : ''}, ${seconds.total.toFixed(1)} s`);
  c.snn.dispose();
  return { run, ...(sim.annAccuracy !== undefined ? { annAccuracy: sim.annAccuracy } : {}), count: sim.count };
}

/** A fine-tuning step's progress (quantize, distill: minutes on a deep network) on the command's bar, with the loss. */
function finetuneProgress(progress: TerminalProgress, label: string): (done: number, total: number, loss: number) => void {
  return (done, total, loss) => {
    if (done === 1) progress.start(label, total);
    progress.update(done, { loss: loss.toPrecision(4) });
    if (done === total) progress.stop();
  };
}
