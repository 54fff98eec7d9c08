/**
 * The early-exit flags of convert, calibrate and eval: choose the exit threshold on training samples, report what it
 * does on the test samples (replayed from their recorded trajectories), and store it in the SNN checkpoint so that
 * `eval` runs with it.
 */
import type { Command } from 'commander';
import { SnnkitError } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { chooseExitThreshold, EXIT_CRITERIA, exitCurve, exitPoint, type EarlyExitSummary, type ExitChoice, type ExitCriterion } from '../convert/early-exit.js';
import { simulate, type SimulationResult } from '../convert/simulate.js';
import { intAtLeast, numberAtLeast, oneOf } from './common.js';

/** What the flags hold. */
export interface EarlyExitFlags {
  /** The accuracy drop allowed on the training samples, in points (a bare flag: 0.1). */
  earlyExit?: number | true;
  exitCriterion: ExitCriterion;
  exitSamples: number;
}

/** What an SNN checkpoint stores (metadata `early_exit`) and eval runs with. */
export interface StoredEarlyExit {
  criterion: ExitCriterion;
  threshold: number;
  /** No sample stops before this step. */
  minStep: number;
  /** The largest T, at which every remaining sample stops. */
  T: number;
  drop: number;
  samples: number;
}

/** Declares --early-exit, --exit-criterion and --exit-samples. */
export function earlyExitOptions(cmd: Command): Command {
  return cmd
    .option('--early-exit [points]', 'early exit (SEENN-I): a sample stops once its output is confident; the threshold is chosen on training samples to lose at most this many accuracy points there (bare flag: 0.1)', numberAtLeast(0))
    .option('--exit-criterion <c>', `what decides the exit: ${EXIT_CRITERIA.join(', ')}`, oneOf(EXIT_CRITERIA), 'margin')
    .option('--exit-samples <n>', 'training samples the exit threshold is chosen on', intAtLeast(1), 1024);
}

/** The drop as a fraction, or undefined when --early-exit was not given. */
export function exitDrop(f: EarlyExitFlags): number | undefined {
  if (f.earlyExit === undefined) return undefined;
  const points = f.earlyExit === true ? 0.1 : f.earlyExit;
  if (points >= 100) throw new SnnkitError(`--early-exit: ${points} points is not a drop below 100 %`, 'INVALID_ARGUMENT');
  return points / 100;
}

/**
 * Chooses the exit threshold: simulates `exitSamples` training samples for T steps, recording every step's score.
 * @returns the choice, or undefined without --early-exit
 */
export async function chooseEarlyExit(snn: Module, train: DataLoader, T: number, f: EarlyExitFlags, log: (line: string) => void): Promise<ExitChoice | undefined> {
  const drop = exitDrop(f);
  if (drop === undefined) return undefined;
  const r = await simulate(snn, train, { T: [T], record: f.exitCriterion, limit: f.exitSamples });
  const choice = chooseExitThreshold(r.trajectories!, drop);
  log(`early exit (${choice.criterion}): threshold ${choice.threshold.toPrecision(4)} from step ${choice.minStep} on, chosen on ${choice.samples} training samples: average T ${choice.averageT.toFixed(2)} of ${T}, accuracy ${(100 * choice.accuracy).toFixed(2)} % (full T ${(100 * choice.fullAccuracy).toFixed(2)} %)`);
  return choice;
}

/**
 * What the chosen threshold does on the test samples, replayed from the test simulation's trajectories (the same
 * exits and predictions as a run that drops the samples: test/convert/early-exit.test.ts).
 */
export function summarizeEarlyExit(choice: ExitChoice, test: SimulationResult): EarlyExitSummary {
  const tr = test.trajectories;
  if (!tr) throw new SnnkitError('early exit: the test simulation recorded no trajectories', 'INVALID_ARGUMENT');
  return { choice, T: tr.T, test: exitPoint(tr, choice.threshold, choice.minStep), curve: exitCurve(tr, choice.minStep) };
}

/** The checkpoint metadata of a choice. */
export function storedEarlyExit(c: ExitChoice, T: number): StoredEarlyExit {
  // JSON has no +∞ (no threshold that loses little enough: never exit early): stored as null
  return { criterion: c.criterion, threshold: Number.isFinite(c.threshold) ? c.threshold : null as unknown as number, minStep: c.minStep, T, drop: c.drop, samples: c.samples };
}

/**
 * The early exit an SNN checkpoint stores, checked.
 * @throws SnnkitError naming the file when the metadata is malformed
 */
export function readStoredEarlyExit(meta: Record<string, unknown>, path: string): StoredEarlyExit | undefined {
  const e = meta['early_exit'] as Partial<StoredEarlyExit> | undefined;
  if (e === undefined) return undefined;
  const ok = typeof e === 'object' && e !== null && EXIT_CRITERIA.includes(e.criterion!) && (typeof e.threshold === 'number' || e.threshold === null) && Number.isInteger(e.T) && e.T! >= 1 &&
    (e.minStep === undefined || (Number.isInteger(e.minStep) && e.minStep >= 1));
  if (!ok) throw new SnnkitError(`${path}: metadata early_exit must be {criterion: ${EXIT_CRITERIA.join('|')}, threshold: number or null, minStep: positive integer, T: positive integer}, got ${JSON.stringify(e)}`, 'INVALID_ARGUMENT');
  return { ...e, threshold: e.threshold ?? Infinity, minStep: e.minStep ?? 1 } as StoredEarlyExit;
}
