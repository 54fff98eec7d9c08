/**
 * Event recordings → frames an SNN reads one per time step: T frames of event counts, 2 polarity channels (OFF, ON),
 * the events split into T bins of equal event count or of equal time (as tonic's ToFrame with n_event_bins or
 * n_time_bins).
 */
import { invalidArg } from '../errors.js';
import type { Events } from '../formats/events.js';

/** How eventsToFrames bins the events. */
export interface FrameOptions {
  /** The number of frames (time steps). */
  T: number;
  /**
   * 'count' (default): T bins of equal event count (event i of n goes to frame ⌊i·T/n⌋), so every frame has about
   * n/T events whatever the recording's speed; 'time': T bins of equal length between the first and last events.
   */
  by?: 'count' | 'time';
}

/**
 * Bins a recording into frames.
 * @returns [T, 2, height, width] event counts, row-major (channel 0 OFF, 1 ON); they sum to the number of events
 * @throws SnnkitError for T not a positive integer or an unknown `by`
 * @example
 * const frames = data.eventsToFrames(formats.readNmnistFile('00004.bin'), { T: 8 });  // Float32Array of 8·2·34·34
 */
export function eventsToFrames(ev: Events, opts: FrameOptions): Float32Array {
  const { T } = opts, by = opts.by ?? 'count';
  if (!(Number.isInteger(T) && T >= 1)) throw invalidArg('eventsToFrames', 'T', 'a positive integer', T);
  if (by !== 'count' && by !== 'time') throw invalidArg('eventsToFrames', 'by', "'count' or 'time'", by);
  const { width: W, height: H } = ev, n = ev.x.length, plane = H * W;
  const out = new Float32Array(T * 2 * plane);
  if (n === 0) return out;
  const t0 = ev.t[0]!, span = ev.t[n - 1]! - t0;
  for (let i = 0; i < n; i++) {
    const f = by === 'count' ? Math.floor((i * T) / n) : span > 0 ? Math.min(T - 1, Math.floor(((ev.t[i]! - t0) * T) / span)) : 0;
    out[(f * 2 + ev.p[i]!) * plane + ev.y[i]! * W + ev.x[i]!]! += 1;
  }
  return out;
}

/**
 * Drops isolated events (noise): keeps an event when one of its 4 neighbouring pixels had an event less than
 * `filterTime` µs before it, the rule of tonic's `Denoise(filter_time)` (which, like this, treats every pixel as having
 * fired at time 0, so events in the first `filterTime` µs all pass).
 * @param ev the recording
 * @param filterTime the time window in µs (> 0)
 * @returns a new recording holding the kept events, in order
 * @throws SnnkitError for a filterTime that is not a positive number
 * @example
 * const clean = data.denoiseEvents(formats.readNmnistFile('00004.bin'), 10_000);
 */
export function denoiseEvents(ev: Events, filterTime: number): Events {
  if (!(Number.isFinite(filterTime) && filterTime > 0)) throw invalidArg('denoiseEvents', 'filterTime', 'a positive number of µs', filterTime);
  const { width: W, height: H } = ev, n = ev.x.length;
  const until = new Float64Array(W * H).fill(filterTime);
  const keep = new Uint8Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const x = ev.x[i]!, y = ev.y[i]!, t = ev.t[i]!, at = y * W + x;
    until[at] = t + filterTime;
    if ((x > 0 && until[at - 1]! > t) || (x < W - 1 && until[at + 1]! > t) || (y > 0 && until[at - W]! > t) || (y < H - 1 && until[at + W]! > t)) {
      keep[i] = 1;
      kept++;
    }
  }
  const out: Events = { x: new Uint16Array(kept), y: new Uint16Array(kept), t: new Float64Array(kept), p: new Uint8Array(kept), width: W, height: H };
  for (let i = 0, k = 0; i < n; i++) {
    if (!keep[i]) continue;
    out.x[k] = ev.x[i]!; out.y[k] = ev.y[i]!; out.t[k] = ev.t[i]!; out.p[k] = ev.p[i]!;
    k++;
  }
  return out;
}
