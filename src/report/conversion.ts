/** The conversion report: Markdown for people, JSON for programs, SVG plots (accuracy vs T, per-layer errors, rates). */
import { join } from 'node:path';
import type { ConversionAnalysis } from '../convert/analysis.js';
import type { SimulationResult } from '../convert/simulate.js';
import type { EarlyExitSummary } from '../convert/early-exit.js';
import { writeFileAtomic } from '../formats/atomic.js';
import { barChart, lineChart } from './plot.js';

/** Everything the report shows. */
export interface ConversionReport {
  title: string;
  command?: string;
  settings: Record<string, unknown>;
  thresholds: { layer: string; vTh: number }[];
  simulation: SimulationResult;
  analysis?: ConversionAnalysis;
  earlyExit?: EarlyExitSummary;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const num = (x: number, d = 4) => (Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(d));

/**
 * Writes report.md, report.json, accuracy.svg and (with an analysis) errors.svg and rates.svg into `dir`.
 * @returns the paths written
 */
export async function writeConversionReport(dir: string, r: ConversionReport): Promise<string[]> {
  const sim = r.simulation, a = r.analysis;
  const files: string[] = [];
  const put = (name: string, text: string) => { writeFileAtomic(join(dir, name), text); files.push(join(dir, name)); };
  put('report.json', JSON.stringify({ ...r, simulation: { ...sim, trajectories: undefined, outputs: undefined } }, null, 1) + '\n');
  const series = [{ name: 'SNN', points: sim.T.map((t, i) => ({ x: t, y: sim.accuracy[i]! })) }];
  if (sim.annAccuracy !== undefined) series.push({ name: 'ANN', points: sim.T.map((t) => ({ x: t, y: sim.annAccuracy! })) });
  put('accuracy.svg', await lineChart(series, { title: `${r.title}: accuracy vs T`, xLabel: 'time steps T', yLabel: 'test accuracy', percent: true, xScale: 'log' }));
  const md: string[] = [`# ${r.title}`, ''];
  if (r.command) md.push('```bash', r.command, '```', '');
  md.push('| setting | value |', '|---|---|', ...Object.entries(r.settings).map(([k, v]) => `| ${k} | ${typeof v === 'string' ? v : JSON.stringify(v)} |`), '');
  md.push('## Accuracy', '', `| T | ${sim.T.join(' | ')} |`, `|---|${sim.T.map(() => '---:').join('|')}|`, `| SNN | ${sim.accuracy.map(pct).join(' | ')} |`);
  if (sim.agreement) md.push(`| agreement with the ANN | ${sim.agreement.map(pct).join(' | ')} |`);
  if (sim.annAccuracy !== undefined) md.push('', `ANN accuracy on the same ${sim.count} samples: ${pct(sim.annAccuracy)}.`);
  md.push('', '![accuracy vs T](accuracy.svg)', '');
  if (r.earlyExit) md.push(...await earlyExitSection(r.earlyExit, sim, put));
  md.push('## Thresholds', '', '| layer | V_th |', '|---|---:|', ...r.thresholds.map((t) => `| ${t.layer} | ${num(t.vTh)} |`), '');
  if (a) {
    const tLo = a.T[0]!, tHi = a.T[a.T.length - 1]!;
    md.push(`## Conversion error per layer (${a.samples} samples)`, '',
      'Isolated: the SNN layer driven by the ANN layer\'s own pre-activation; signed means, total = clipping + flooring',
      '(docs/methods.md §3). End to end: mean |ANN activation − SNN rate| inside the full SNN.', '',
      `| layer | mean ANN activation | clipping | flooring T=${tLo} | flooring T=${tHi} | end-to-end T=${tLo} | end-to-end T=${tHi} | firing rate T=${tHi} |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...a.layers.map((l) => `| ${l.layer} | ${num(l.annMean)} | ${num(l.clipping)} | ${num(l.flooring[tLo]!)} | ${num(l.flooring[tHi]!)} | ${num(l.endToEnd[tLo]!)} | ${num(l.endToEnd[tHi]!)} | ${num(l.firingRate[tHi]!, 3)} |`),
      '', '![per-layer errors](errors.svg)', '', '![firing rates](rates.svg)', '',
      '## Operations and energy (per image)', '',
      'SNN operations: the analog first layer costs its MACs at every step; every later layer costs accumulates (SOPs:',
      'its MACs × the events per input neuron). Energy: 4.6 pJ a MAC, 0.9 pJ an accumulate (Horowitz, ISSCC 2014, 45 nm, fp32).', '',
      `| | ANN | ${a.T.map((t) => `SNN T=${t}`).join(' | ')} |`, `|---|---:|${a.T.map(() => '---:').join('|')}|`,
      `| MACs | ${num(a.ops.annMacs, 0)} | ${a.T.map((t) => num(a.ops.snnMacs[t]!, 0)).join(' | ')} |`,
      `| SOPs | — | ${a.T.map((t) => num(a.ops.snnSops[t]!, 0)).join(' | ')} |`,
      `| energy µJ | ${num(a.ops.annEnergyUj, 3)} | ${a.T.map((t) => num(a.ops.snnEnergyUj[t]!, 3)).join(' | ')} |`, '');
    const rows = a.layers.flatMap((l) => [
      { category: l.layer, series: 'clipping', value: l.clipping },
      { category: l.layer, series: `flooring T=${tLo}`, value: l.flooring[tLo]! },
      { category: l.layer, series: `flooring T=${tHi}`, value: l.flooring[tHi]! },
    ]);
    put('errors.svg', await barChart(rows, { title: 'Isolated conversion error per layer (signed mean)', yLabel: 'error' }));
    const hist = a.layers.flatMap((l) => l.rateHistogram.map((c, i) => ({ category: `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`, series: l.layer, value: c / Math.max(1, l.rateHistogram.reduce((x, y) => x + y, 0)) })));
    put('rates.svg', await barChart(hist, { title: `Firing-rate distribution per layer at T=${tHi}`, xLabel: 'spikes per step', yLabel: 'fraction of neurons' }));
  }
  put('report.md', md.join('\n') + '\n');
  return files;
}

/**
 * The early-exit section: the threshold chosen on training samples, what it gives on the test samples, and the
 * accuracy–average-T curve beside the fixed-T accuracies (`file`, default early-exit.svg).
 * @returns the Markdown lines
 */
export async function earlyExitSection(e: EarlyExitSummary, sim: Pick<SimulationResult, 'T' | 'accuracy'>, put: (name: string, text: string) => void, file = 'early-exit.svg'): Promise<string[]> {
  const c = e.choice;
  put(file, await lineChart([
    { name: `early exit from step ${c.minStep} (test)`, points: e.curve.map((p) => ({ x: p.averageT, y: p.accuracy })) },
    { name: 'fixed T (test)', points: sim.T.map((t, i) => ({ x: t, y: sim.accuracy[i]! })) },
    { name: 'chosen threshold', points: [{ x: e.test.averageT, y: e.test.accuracy }] },
  ], { title: 'Early exit: accuracy against the average number of steps', xLabel: 'average time steps per sample', yLabel: 'test accuracy', percent: true }));
  return ['## Early exit', '',
    `A sample stops at the first step from step ${c.minStep} on at which the ${c.criterion} of its mean output reaches ${c.threshold.toPrecision(4)}`,
    `(SEENN-I, Li et al., NeurIPS 2023, with a minimum step), else at T = ${e.T}. Threshold and minimum step were chosen on ${c.samples}`,
    `training samples as the lowest average T that loses at most ${(100 * c.drop).toFixed(2)} points there (${pct(c.accuracy)} at average T`,
    `${c.averageT.toFixed(2)}, against ${pct(c.fullAccuracy)} at T = ${e.T}).`, '',
    '| | average T | accuracy |', '|---|---:|---:|',
    `| test, early exit | ${e.test.averageT.toFixed(2)} | ${pct(e.test.accuracy)} |`,
    `| test, T = ${e.T} | ${e.T} | ${pct(e.curve.at(-1)!.accuracy)} |`, '',
    `![early exit](${file})`, ''];
}
