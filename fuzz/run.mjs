#!/usr/bin/env node
// npm run fuzz: mutated and structure-aware inputs for every file parser of snnkit, each parsed in a child process
// with a memory cap and a timeout. Prints a table (tried / accepted / typed / untyped / hang / crash / over the
// memory cap / leak) and exits 1 on anything but accepted or typed. Bad inputs are saved for triage; the ones found
// are turned into regression tests written by hand (replay a folder of saved inputs with --corpus DIR/<target>/*.bin).
// usage: node fuzz/run.mjs [--count 10000] [--seed 1] [--targets onnx,pt-zip,...] [--timeout 10] [--cap-mb 2048]
//                          [--save fuzz/found] [--corpus DIR] [--json]
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './targets.mjs';
import { dice, mutateBytes, rng } from './mutate.mjs';

const { values: flags } = parseArgs({ options: {
  count: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, targets: { type: 'string', default: Object.keys(TARGETS).join(',') },
  timeout: { type: 'string', default: '10' }, 'cap-mb': { type: 'string', default: '2048' }, save: { type: 'string', default: 'fuzz/found' },
  corpus: { type: 'string' }, json: { type: 'boolean', default: false },
} });
const OUTCOMES = ['accepted', 'typed', 'untyped', 'hang', 'crash', 'over-cap', 'leak'];
const BAD = new Set(['untyped', 'hang', 'crash', 'over-cap', 'leak']);
const capMb = Number(flags['cap-mb']), timeoutMs = Number(flags.timeout) * 1000;
const childPath = fileURLToPath(new URL('./child.mjs', import.meta.url));

/** A child process that parses one input at a time; restarted after a crash, a hang or a blow-up. */
class Worker {
  start() {
    this.proc = fork(childPath, [], { execArgv: ['--max-old-space-size=3072'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.stderr = '';
    this.proc.stderr.on('data', (c) => { this.stderr = (this.stderr + c).slice(-2000); });
    return new Promise((resolve) => this.proc.once('message', resolve));
  }
  /** @returns the outcome of parsing `bytes` as `target`: { outcome, message } */
  async run(target, bytes) {
    if (!this.proc) await this.start();
    const proc = this.proc;
    return new Promise((resolve) => {
      let done = false;
      const finish = (r, restart) => {
        if (done) return;
        done = true;
        clearTimeout(timer); clearInterval(poll);
        proc.removeAllListeners('message'); proc.removeAllListeners('exit');
        if (restart) { proc.kill('SIGKILL'); this.proc = undefined; }
        resolve(r);
      };
      const timer = setTimeout(() => finish({ outcome: 'hang', message: `no answer in ${timeoutMs / 1000} s` }, true), timeoutMs);
      const poll = setInterval(() => {
        const mb = rssMb(proc.pid);
        if (mb > capMb) finish({ outcome: 'over-cap', message: `RSS reached ${Math.round(mb)} MB` }, true);
      }, 50);
      proc.once('exit', (code, signal) => finish({ outcome: 'crash', message: `exit ${code ?? signal}: ${this.stderr.slice(-600)}` }, true));
      proc.once('message', (m) => (m.maxRssMb > capMb ? finish({ outcome: 'over-cap', message: `peak RSS ${Math.round(m.maxRssMb)} MB` }, true) : finish(m, false)));
      proc.send({ id: 0, target, bytes });
    });
  }
  stop() { this.proc?.kill('SIGKILL'); }
}

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
}

/** The inputs of one target: replayed corpus files, or `count` mutants of its seeds. */
async function* inputs(name, t, d) {
  if (flags.corpus) {
    const dir = join(flags.corpus, name);
    for (const f of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bin')).sort() : []) yield { bytes: readFileSync(join(dir, f)), how: f };
    return;
  }
  const ctx = await t.seeds();
  for (let i = 0; i < Number(flags.count); i++) {
    const seed = d.pick(ctx.seeds);
    let bytes, how = 'bytes';
    if (d.chance(0.6)) {
      try { bytes = t.structured(seed, d, ctx, mutateBytes); how = 'structured'; } catch { bytes = undefined; }
      if (bytes && d.chance(0.1)) { bytes = mutateBytes(bytes, d); how = 'structured+bytes'; }
    }
    yield { bytes: bytes ?? mutateBytes(seed, d), how };
  }
}

async function fuzzTarget(name, worker, d) {
  const row = Object.fromEntries([['target', name], ['tried', 0], ...OUTCOMES.map((o) => [o, 0])]);
  const t0 = performance.now();
  for await (const { bytes, how } of inputs(name, TARGETS[name], d)) {
    const r = await worker.run(name, bytes);
    row.tried++;
    row[r.outcome]++;
    if (BAD.has(r.outcome)) {
      mkdirSync(flags.save, { recursive: true });
      const base = join(flags.save, `${name}-${r.outcome}-${row.tried}`);
      writeFileSync(`${base}.bin`, bytes);
      writeFileSync(`${base}.txt`, `${how}\n${r.message}\n`);
      process.stderr.write(`[fuzz] ${name} #${row.tried} ${r.outcome}: ${r.message.split('\n')[0].slice(0, 200)} (saved ${base}.bin)\n`);
    }
    if (row.tried % 1000 === 0) process.stderr.write(`[fuzz] ${name}: ${row.tried} tried, ${Math.round((performance.now() - t0) / 1000)} s\n`);
  }
  row.seconds = Math.round((performance.now() - t0) / 100) / 10;
  return row;
}

const rows = [];
const worker = new Worker();
const d = dice(rng(Number(flags.seed)));
try {
  for (const name of flags.targets.split(',')) {
    if (!TARGETS[name]) throw new Error(`unknown target '${name}': expected ${Object.keys(TARGETS).join(', ')}`);
    rows.push(await fuzzTarget(name, worker, d));
  }
} finally {
  worker.stop();
}
const cols = ['target', 'tried', ...OUTCOMES, 'seconds'];
console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
const bad = rows.reduce((a, r) => a + [...BAD].reduce((s, o) => s + r[o], 0), 0);
if (flags.json) console.log(JSON.stringify({ fuzz: rows, bad, seed: Number(flags.seed), count: Number(flags.count), corpus: flags.corpus ?? null }));
process.exitCode = bad ? 1 : 0;
