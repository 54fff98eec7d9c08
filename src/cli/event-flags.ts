/**
 * The flags of event data sets (N-MNIST), shared by every command: how recordings become frames. Training records
 * the choice in the checkpoint's metadata (`events`), so eval, convert and calibrate read the data the same way
 * unless told otherwise.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SnnkitError } from '../errors.js';
import { DATASETS } from '../data/registry.js';
import type { EventFrameOptions } from '../data/nmnist.js';
import type { CheckpointMeta } from '../models/checkpoint.js';
import { flagList } from './flags.js';

/** The event-data flags a command parsed. */
export interface EventFlags { frames?: number; framesBy?: 'count' | 'time'; denoise?: number }

/** What a checkpoint records of its event data: frames per sample, binning, denoising window (µs) or null. */
export interface EventMeta { frames: number; by: 'count' | 'time'; denoise: number | null }

const parse = (ok: (n: number) => boolean, what: string) => (v: string): number => {
  const n = Number(v);
  if (!ok(n)) throw new InvalidArgumentError(`expected ${what}, got '${v}'`);
  return n;
};
const by = (v: string): 'count' | 'time' => {
  if (v !== 'count' && v !== 'time') throw new InvalidArgumentError(`expected count or time, got '${v}'`);
  return v;
};

/**
 * Declares --frames-by and --denoise, and --frames for commands that have no T of their own.
 * @returns cmd
 */
export function eventOptions(cmd: Command, withFrames: boolean): Command {
  if (withFrames) cmd.option('--frames <n>', "event data: frames per sample (default: the checkpoint's, else 1: all events summed into one image)", parse((n) => Number.isInteger(n) && n >= 1 && n <= 127, 'an integer 1..127'));
  return cmd
    .option('--frames-by <how>', "event data: bin the events into frames of equal 'count' (default) or equal 'time'", by)
    .option('--denoise <us>', "event data: first drop events with no event at a neighbouring pixel in the last US µs (tonic's Denoise)", parse((n) => Number.isFinite(n) && n > 0, 'a positive number of µs'));
}

/**
 * The event settings of a run: the flags, else what the checkpoint recorded, else the defaults (frames from
 * `frames`, 1 when not given; by count; no denoising). Null for a data set of images.
 * @throws SnnkitError INVALID_ARGUMENT when event flags are given for a data set of images
 */
export function eventSettings(dataset: string, f: EventFlags, frames?: number, meta?: CheckpointMeta): EventMeta | null {
  const recorded = meta?.['events'] as EventMeta | undefined;
  if (!DATASETS[dataset]?.events) {
    const given = (['frames', 'framesBy', 'denoise'] as const).filter((k) => f[k] !== undefined);
    if (given.length) throw new SnnkitError(`${flagList(given)}: '${dataset}' is not event data`, 'INVALID_ARGUMENT');
    return null;
  }
  return { frames: frames ?? f.frames ?? recorded?.frames ?? 1, by: f.framesBy ?? recorded?.by ?? 'count', denoise: f.denoise ?? recorded?.denoise ?? null };
}

/** @returns the loadDataset options of the settings ({} for images) */
export function eventLoadOptions(ev: EventMeta | null): EventFrameOptions {
  return ev ? { frames: ev.frames, by: ev.by, ...(ev.denoise !== null ? { denoise: ev.denoise } : {}) } : {};
}
