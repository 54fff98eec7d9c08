// Shared helpers of the benchmarks in bench/: timing, robust statistics, flags, child processes and a plain table.
// Benchmarks compare snnkit with a reference run in the same script, so everything here is engine-agnostic.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

/**
 * The environment of a PyTorch reference process: glibc malloc tuned as snnkit's allocator keeps memory (freed blocks
 * kept, no page-fault storms; without it the first variant in a process ran up to 4x slower than the same one after).
 */
export const tunedMallocEnv = () => ({ ...process.env, MALLOC_MMAP_THRESHOLD_: String(1 << 30), MALLOC_TRIM_THRESHOLD_: String(1 << 30), MALLOC_TOP_PAD_: String(256 << 20) });

/** @returns a monotonic timestamp in milliseconds (sub-microsecond resolution). */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * CPU time the whole machine has spent busy (all processes, all cores), from /proc/stat; with the CPU time a child
 * reports for itself, this tells how much other load shared the machine while it ran.
 * @returns {number | undefined} milliseconds, or undefined where /proc/stat does not exist
 */
export function machineBusyMs() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + steal) * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * Waits (blocking) until the machine's CPUs are mostly idle, so that a measurement does not start in the middle of
 * another job's burst.
 * @param {{ maxLoad: number, maxWaitMs: number, sampleMs?: number }} opts maxLoad: busy share of all CPUs, 0..1
 * @returns {number} the milliseconds waited (maxWaitMs when the machine stayed busy, 0 without /proc/stat)
 */
export function waitForQuiet({ maxLoad, maxWaitMs, sampleMs = 250 }) {
  const cores = cpus().length;
  const start = nowMs();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (nowMs() - start < maxWaitMs) {
    const b0 = machineBusyMs();
    if (b0 === undefined) return 0;
    const t0 = nowMs();
    Atomics.wait(sleeper, 0, 0, sampleMs);
    if ((machineBusyMs() - b0) / ((nowMs() - t0) * cores) <= maxLoad) return nowMs() - start;
  }
  return nowMs() - start;
}

/**
 * Runs `fn` `warmup` times untimed, then `iters` times, timing each call on its own.
 * @param {() => void} fn a synchronous iteration
 * @param {{ warmup: number, iters: number }} opts
 * @returns {number[]} the wall time of each timed call, in ms
 */
export function timeIterations(fn, { warmup, iters }) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = [];
  for (let i = 0; i < iters; i++) {
    const t0 = nowMs();
    fn();
    samples.push(nowMs() - t0);
  }
  return samples;
}

/**
 * The q-quantile with linear interpolation between order statistics (numpy's default, torch.quantile's 'linear').
 * @param {number[]} values non-empty
 * @param {number} q in [0, 1]
 */
export function quantile(values, q) {
  if (values.length === 0) throw new Error('quantile: no values');
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * @param {number[]} samples timings in ms
 * @returns {{ n: number, median: number, q1: number, q3: number, iqr: number, min: number, max: number }}
 */
export function summarize(samples) {
  const q1 = quantile(samples, 0.25);
  const q3 = quantile(samples, 0.75);
  return {
    n: samples.length,
    median: quantile(samples, 0.5),
    q1,
    q3,
    iqr: q3 - q1,
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** Rounds to `digits` decimals, for JSON output that stays readable. */
export function round(x, digits = 3) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Parses command-line flags with node:util parseArgs (strict: unknown flags are errors) and checks integer flags.
 * @param {Record<string, { type: 'string' | 'boolean', default?: string | boolean, int?: { min: number } }>} spec
 * @param {string[]} [argv] default: process.argv.slice(2)
 * @returns {Record<string, string | number | boolean | undefined>} integer flags as numbers
 * @throws Error naming the flag and what it expected
 */
export function parseFlags(spec, argv = process.argv.slice(2)) {
  const options = {};
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.type };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const out = {};
  for (const [name, s] of Object.entries(spec)) {
    const raw = values[name] ?? s.default;
    if (s.int && raw !== undefined) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < s.int.min) {
        throw new Error(`--${name} must be an integer >= ${s.int.min}, got '${raw}'`);
      }
      out[name] = n;
    } else {
      out[name] = raw;
    }
  }
  return out;
}

/** @returns the last line of `text` that parses as a JSON object, or undefined */
export function lastJsonLine(text) {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      // not JSON after all: keep looking upward
    }
  }
  return undefined;
}

/**
 * Runs a command to completion and returns the JSON object on the last line of its stdout.
 * @param {string} cmd executable
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [opts]
 * @throws Error with the command line, exit status and stderr when it fails or prints no JSON
 */
export function runJsonChild(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  });
  const where = `${cmd} ${args.join(' ')}`;
  if (r.error) throw new Error(`${where}: ${r.error.message}`);
  const json = r.status === 0 ? lastJsonLine(r.stdout) : undefined;
  if (!json) {
    const why = r.status === 0 ? 'printed no JSON line' : `exited with ${r.status ?? r.signal}`;
    throw new Error(`${where} ${why}\n--- stderr ---\n${r.stderr.trim()}\n--- stdout ---\n${r.stdout.trim()}`);
  }
  return json;
}

/**
 * Formats rows as a fixed-width text table (numbers right-aligned).
 * @param {string[]} header
 * @param {(string | number)[][]} rows
 * @returns {string}
 */
export function formatTable(header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.every((r) => typeof r[c] === 'number' || /^[-\d.,x ×%]+$/.test(String(r[c]))));
  const line = (r) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
