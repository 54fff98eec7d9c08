/**
 * Event-camera recordings as arrays, and the N-MNIST binary format (Orchard, Jayawant, Cohen & Thakor, "Converting
 * Static Image Datasets to Spiking Neuromorphic Datasets Using Saccades", Front. Neurosci. 2015; the layout its
 * Read_Ndataset.m reads, as tonic's N-MNIST reader does). Each event is 5 bytes, bit fields big-endian:
 *
 *   byte 0: x · byte 1: y · byte 2, bit 7: polarity (1 = ON, brighter) · byte 2 bits 6..0, bytes 3, 4: 23-bit time in µs
 *
 * An event with y = 240 is not an event but a time-overflow marker: 2^13 µs is added to every later time stamp (as
 * Read_Ndataset.m does). A 23-bit time that falls back by more than 2^22 µs is the counter wrapping (every 8.4 s):
 * 2^23 µs is added from there on. Any other step back in time is an error, as are coordinates outside the sensor.
 * (docs/methods.md §7)
 */
import { SnnkitError, invalidArg } from '../errors.js';
import { readFileBytes } from './read.js';

/** A recording: one entry per event in each array, times in µs, non-decreasing. */
export interface Events {
  x: Uint16Array;
  y: Uint16Array;
  /** Time stamps in µs (non-decreasing). */
  t: Float64Array;
  /** Polarity: 1 ON (brighter), 0 OFF. */
  p: Uint8Array;
  /** The sensor's width and height: every x < width, y < height. */
  width: number;
  height: number;
}

/** N-MNIST's sensor: 34 × 34 pixels (28 × 28 digits moved by the saccades). */
export const NMNIST_SIZE = 34;
const OVERFLOW_Y = 240;
const WRAP = 2 ** 23;

/**
 * Decodes N-MNIST events.
 * @param bytes the file's content
 * @param file the file's name, for messages
 * @param size the sensor's width and height (default 34 × 34)
 * @returns the events, overflow markers removed
 * @throws SnnkitError (FILE_FORMAT) naming the file and the byte offset: a length that is not a whole number of
 *   5-byte events, a coordinate outside the sensor, a time stamp that goes back
 * @example
 * const ev = formats.decodeNmnist(fs.readFileSync('00002.bin'), '00002.bin');
 * ev.x.length; // the number of events; ev.t[ev.t.length - 1] is the recording's length in µs
 */
export function decodeNmnist(bytes: Uint8Array, file = '<bytes>', size: { width: number; height: number } = { width: NMNIST_SIZE, height: NMNIST_SIZE }): Events {
  const fail = (msg: string): never => { throw new SnnkitError(`N-MNIST events: ${file}: ${msg}`, 'FILE_FORMAT'); };
  if (bytes.length % 5 !== 0) fail(`${bytes.length} bytes is not a whole number of 5-byte events: the event at byte ${bytes.length - (bytes.length % 5)} is cut short`);
  const n = bytes.length / 5;
  let markers = 0;
  for (let i = 0; i < n; i++) if (bytes[5 * i + 1] === OVERFLOW_Y) markers++;
  const m = n - markers;
  const out: Events = { x: new Uint16Array(m), y: new Uint16Array(m), t: new Float64Array(m), p: new Uint8Array(m), ...size };
  let offset = 0, lastRaw = -1, lastT = -Infinity, k = 0;
  for (let i = 0; i < n; i++) {
    const at = 5 * i, x = bytes[at]!, y = bytes[at + 1]!, b2 = bytes[at + 2]!;
    if (y === OVERFLOW_Y) {
      offset += 2 ** 13;
      continue;
    }
    if (x >= size.width || y >= size.height) fail(`the event at byte ${at} is at (${x}, ${y}), outside the ${size.width} × ${size.height} sensor`);
    const raw = ((b2 & 0x7f) << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!;
    if (raw < lastRaw && lastRaw - raw > WRAP / 2) offset += WRAP;
    const t = raw + offset;
    if (t < lastT) fail(`the event at byte ${at} has time ${t} µs, before the previous event's ${lastT} µs (time stamps must not go back)`);
    out.x[k] = x;
    out.y[k] = y;
    out.p[k] = b2 >> 7;
    out.t[k] = t;
    lastRaw = raw;
    lastT = t;
    k++;
  }
  return out;
}

/**
 * Reads an N-MNIST event file.
 * @throws SnnkitError FILE_NOT_FOUND / IO_ERROR naming the file, and the errors of decodeNmnist
 * @example
 * const ev = formats.readNmnistFile('nmnist/Test/0/00004.bin');
 */
export function readNmnistFile(path: string): Events {
  return decodeNmnist(readFileBytes('N-MNIST events', path), path);
}

/**
 * Checks events given as arrays (a recording of your own): equal lengths, coordinates inside the sensor, polarities
 * 0/1, finite non-decreasing times.
 * @returns the same events
 * @throws SnnkitError naming the array and the first bad index
 * @example
 * const ev = formats.checkEvents({ x, y, t, p, width: 34, height: 34 });
 */
export function checkEvents(ev: Events): Events {
  const n = ev.x.length;
  for (const k of ['y', 't', 'p'] as const) if (ev[k].length !== n) throw invalidArg('events', k, `${n} entries, as x`, `${ev[k].length} entries`);
  for (const k of ['width', 'height'] as const) if (!(Number.isInteger(ev[k]) && ev[k] >= 1)) throw invalidArg('events', k, 'a positive integer', ev[k]);
  for (let i = 0; i < n; i++) {
    if (ev.x[i]! >= ev.width || ev.y[i]! >= ev.height) throw invalidArg('events', `x/y[${i}]`, `inside the ${ev.width} × ${ev.height} sensor`, `(${ev.x[i]}, ${ev.y[i]})`);
    if (ev.p[i]! > 1) throw invalidArg('events', `p[${i}]`, '0 or 1', ev.p[i]);
    if (!Number.isFinite(ev.t[i]!) || (i > 0 && ev.t[i]! < ev.t[i - 1]!)) throw invalidArg('events', `t[${i}]`, `a finite time not before t[${i - 1}] = ${ev.t[i - 1]}`, ev.t[i]);
  }
  return ev;
}
