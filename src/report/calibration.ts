/** The calibration report: accuracy per T and pipeline, per-layer thresholds and errors, SVG plots. */
import { join } from 'node:path';
import type { LayerCalibration } from '../calibrate/options.js';
import { writeFileAtomic } from '../formats/atomic.js';
import { barChart, lineChart } from './plot.js';
import type { EarlyExitSummary } from '../convert/early-exit.js';
import { earlyExitSection } from './conversion.js';

/** One calibrated SNN: its T, pipeline, accuracy, wall times and what calibration did per layer. */
export interface CalibrationRun {
  T: number;
  pipeline: string;
  steps: string[];
  accuracy: number;
  /** Accuracy on the calibration data's held-out validation samples (calibrate --val-size), when asked for. */
  validation?: number;
  /** The quantized ANN's accuracy (after the quantize step) on the test samples and on the validation samples. */
  quantizedAnn?: { test: number; validation?: number };
  agreement?: number;
  /** With --early-exit: the threshold chosen on training samples and what it gives on the test samples. */
  earlyExit?: EarlyExitSummary;
  /** Seconds: calibration phases, the simulation, and the whole run. */
  seconds: Record<string, number>;
  layers: LayerCalibration[];
  checkpoint: string;
}

/** Everything the report shows. */
export interface CalibrationReport {
  title: string;
  command?: string;
  settings: Record<string, unknown>;
  annAccuracy?: number;
  count: number;
  runs: CalibrationRun[];
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const sci = (x: number): string => x.toExponential(2);
const th = (v: number | number[]): string => (typeof v === 'number' ? v.toFixed(4) : `${v.length} channels, ${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)}`);

/** The validation accuracies (held-out calibration samples) as a table like the test one; none when not measured. */
function validationTable(runs: CalibrationRun[], pipelines: string[], Ts: number[], at: (p: string, T: number) => CalibrationRun | undefined): string[] {
  if (!runs.some((x) => x.validation !== undefined)) return [];
  return ['Validation accuracy (calibration samples held out of calibration, `--val-size`):', '',
    `| pipeline | ${Ts.map((T) => `T=${T}`).join(' | ')} |`, `|---|${Ts.map(() => '---:').join('|')}|`,
    ...pipelines.map((p) => `| ${p} | ${Ts.map((T) => { const v = at(p, T)?.validation; return v !== undefined ? pct(v) : '—'; }).join(' | ')} |`), ''];
}

/** The quantized ANNs' accuracies (test, and validation when measured) as a table; none without a quantize step. */
function quantizedTable(runs: CalibrationRun[], pipelines: string[], Ts: number[], at: (p: string, T: number) => CalibrationRun | undefined): string[] {
  if (!runs.some((x) => x.quantizedAnn)) return [];
  const cell = (q: CalibrationRun['quantizedAnn']): string => (q ? `${pct(q.test)}${q.validation !== undefined ? ` (validation ${pct(q.validation)})` : ''}` : '—');
  return ['The quantized ANN after the quantize step (the clip-floor network the SNN is calibrated against: its ceiling):', '',
    `| pipeline | ${Ts.map((T) => `T=${T}`).join(' | ')} |`, `|---|${Ts.map(() => '---:').join('|')}|`,
    ...pipelines.filter((p) => Ts.some((T) => at(p, T)?.quantizedAnn)).map((p) => `| ${p} | ${Ts.map((T) => cell(at(p, T)?.quantizedAnn)).join(' | ')} |`), ''];
}

/**
 * Writes report.md, report.json, accuracy.svg and one errors-T<T>-<pipeline>.svg per run into `dir`.
 * @returns the paths written
 */
export async function writeCalibrationReport(dir: string, r: CalibrationReport): Promise<string[]> {
  const files: string[] = [];
  const put = (name: string, text: string): void => { writeFileAtomic(join(dir, name), text); files.push(join(dir, name)); };
  put('report.json', JSON.stringify(r, null, 1) + '\n');
  const pipelines = [...new Set(r.runs.map((x) => x.pipeline))], Ts = [...new Set(r.runs.map((x) => x.T))].sort((a, b) => a - b);
  const at = (p: string, T: number): CalibrationRun | undefined => r.runs.find((x) => x.pipeline === p && x.T === T);
  const series = pipelines.map((p) => ({ name: p, points: Ts.flatMap((T) => { const x = at(p, T); return x ? [{ x: T, y: x.accuracy }] : []; }) }));
  if (r.annAccuracy !== undefined) series.push({ name: 'ANN', points: Ts.map((T) => ({ x: T, y: r.annAccuracy! })) });
  put('accuracy.svg', await lineChart(series, { title: `${r.title}: accuracy vs T`, xLabel: 'time steps T', yLabel: 'test accuracy', percent: true, xScale: Ts.length > 1 ? 'log' : 'linear' }));
  const md: string[] = [`# ${r.title}`, ''];
  if (r.command) md.push('```bash', r.command, '```', '');
  md.push('| setting | value |', '|---|---|', ...Object.entries(r.settings).map(([k, v]) => `| ${k} | ${typeof v === 'string' ? v : JSON.stringify(v)} |`), '');
  md.push(`## Accuracy (${r.count} test samples${r.annAccuracy !== undefined ? `, ANN ${pct(r.annAccuracy)}` : ''})`, '',
    `| pipeline | ${Ts.map((T) => `T=${T}`).join(' | ')} |`, `|---|${Ts.map(() => '---:').join('|')}|`,
    ...pipelines.map((p) => `| ${p} | ${Ts.map((T) => { const x = at(p, T); return x ? pct(x.accuracy) : '—'; }).join(' | ')} |`), '',
    ...validationTable(r.runs, pipelines, Ts, at), ...quantizedTable(r.runs, pipelines, Ts, at),
    '![accuracy vs T](accuracy.svg)', '', '## Wall time (seconds: calibration, simulation of the test set, whole run)', '',
    `| pipeline | ${Ts.map((T) => `T=${T}`).join(' | ')} |`, `|---|${Ts.map(() => '---:').join('|')}|`,
    ...pipelines.map((p) => `| ${p} | ${Ts.map((T) => { const x = at(p, T); return x ? `${x.seconds['calibration']!.toFixed(1)} + ${x.seconds['simulation']!.toFixed(1)} = ${x.seconds['total']!.toFixed(1)}` : '—'; }).join(' | ')} |`), '');
  for (const run of r.runs) {
    const name = `errors-T${run.T}-${run.pipeline.replace(/[^A-Za-z0-9_.-]/g, '_')}.svg`;
    const stepsSeen = [...new Set(run.layers.flatMap((l) => l.errors.map((e) => e.step)))];
    md.push(`## T=${run.T}, ${run.pipeline} (${run.steps.join(', ') || 'no steps'}): ${pct(run.accuracy)}`, '',
      `Checkpoint: \`${run.checkpoint}\`. Per layer: the threshold, and the mean squared error between the ANN's activation and the SNN's rate`,
      '(first calibration batch) after each step; "converted" is before any.', '',
      `| layer | V_th | ${stepsSeen.join(' | ')} |`, `|---|---:|${stepsSeen.map(() => '---:').join('|')}|`,
      ...run.layers.map((l) => `| ${l.layer} | ${th(l.vTh)} | ${stepsSeen.map((s) => { const e = l.errors.find((x) => x.step === s); return e ? sci(e.mse) : '—'; }).join(' | ')} |`),
      '', `![errors](${name})`, '');
    if (run.earlyExit) md.push(...(await earlyExitSection(run.earlyExit, { T: [run.T], accuracy: [run.accuracy] }, put, `early-exit-T${run.T}-${run.pipeline.replace(/[^A-Za-z0-9_.-]/g, '_')}.svg`)).map((l) => l.replace(/^## /, '### ')));
    const rows = run.layers.flatMap((l) => [
      { category: l.layer, series: 'before', value: l.errors[0]!.mse },
      { category: l.layer, series: 'after', value: l.errors[l.errors.length - 1]!.mse },
    ]);
    put(name, await barChart(rows, { title: `T=${run.T}, ${run.pipeline}: per-layer error before and after calibration`, yLabel: 'MSE (ANN activation − SNN rate)' }));
  }
  put('report.md', md.join('\n') + '\n');
  return files;
}
