#!/usr/bin/env node
// Summarises part 3 of training-results.sh (surrogates compared on one budget) from the runs recorded in
// docs/results/training-cmp/: final test accuracy, mean ± sample std over the seeds, per dataset and surrogate; whether
// Dspike with the FDG search is at least as good as the best fixed surrogate; and the search's temperature and
// cosines per epoch. Prints markdown (for docs/results/training.md) and, last, one JSON line.
// usage: node bench/training-cmp-table.mjs [--dir docs/results/training-cmp]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({ options: { dir: { type: 'string', default: 'docs/results/training-cmp' } } });
const SURROGATES = ['rectangle1', 'triangle1', 'atan2', 'dspike3', 'dspike3fdg'];
const LABEL = { rectangle1: 'rectangle (a = 1)', triangle1: 'triangle (γ = 1)', atan2: 'arctangent (α = 2)', dspike3: 'Dspike, b = 3', dspike3fdg: 'Dspike + FDG search' };
const runs = existsSync(flags.dir) ? readdirSync(flags.dir).filter((f) => f.endsWith('.json')) : [];
const parse = (f) => /^cmp-(.+)-([a-z]+\d(?:fdg)?)-s(\d+)\.json$/.exec(f);
const by = new Map();
for (const f of runs) {
  const m = parse(f);
  if (!m) continue;
  const r = JSON.parse(readFileSync(join(flags.dir, f), 'utf8'));
  const key = `${m[1]}/${m[2]}`;
  by.set(key, [...(by.get(key) ?? []), { seed: Number(m[3]), acc: 100 * r.finalAccuracy, seconds: r.wall_seconds, commit: r.commit, csv: f.replace(/\.json$/, '.csv') }]);
}
const stats = (xs) => {
  const n = xs.length, mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, std };
};
const out = { datasets: {} };
for (const ds of ['fashion-mnist', 'mnist']) {
  console.log(`\n**${ds}** (final-epoch test accuracy, %, mean ± std over seeds; n = runs recorded)\n`);
  console.log('| surrogate | mean ± std | n | per seed | minutes per run |\n|---|---:|---:|---|---:|');
  const row = {};
  for (const s of SURROGATES) {
    const rs = (by.get(`${ds}/${s}`) ?? []).sort((a, b) => a.seed - b.seed);
    const st = stats(rs.map((r) => r.acc));
    row[s] = { ...st, seeds: rs.map((r) => r.seed) };
    const mins = rs.length ? (rs.reduce((a, r) => a + r.seconds, 0) / rs.length / 60).toFixed(1) : '-';
    console.log(`| ${LABEL[s]} | ${st.n ? `${st.mean.toFixed(2)} ± ${Number.isNaN(st.std) ? '-' : st.std.toFixed(2)}` : '-'} | ${st.n} | ${rs.map((r) => `s${r.seed} ${r.acc.toFixed(2)}`).join(', ')} | ${mins} |`);
  }
  const fixed = SURROGATES.filter((s) => s !== 'dspike3fdg' && row[s].n === 3);
  const best = fixed.sort((a, b) => row[b].mean - row[a].mean)[0];
  const complete = fixed.length === 4 && row.dspike3fdg.n === 3;
  const verdict = complete ? row.dspike3fdg.mean >= row[best].mean : null;
  out.datasets[ds] = { ...row, bestFixed: best ?? null, searchAtLeastAsGood: verdict };
  console.log(`\n${complete ? `Best fixed surrogate: ${LABEL[best]}; the search is ${verdict ? '' : '**not** '}at least as good (${row.dspike3fdg.mean.toFixed(2)} against ${row[best].mean.toFixed(2)}).` : 'Incomplete: not every surrogate has its 3 seeds yet.'}`);
  for (const r of by.get(`${ds}/dspike3fdg`) ?? []) {
    const csv = readFileSync(join(flags.dir, r.csv), 'utf8').trim().split('\n').map((l) => l.split(','));
    const col = (name) => csv[0].indexOf(name);
    console.log(`\nseed ${r.seed}, per epoch: ${csv.slice(1).map((c) => `b ${c[col('dspike_b')]} (cos −/0/+ ${['cos_minus', 'cos_mid', 'cos_plus'].map((k) => Number(c[col(k)]).toFixed(3)).join(' / ')})`).join('; ')}`);
  }
}
console.log(JSON.stringify(out));
