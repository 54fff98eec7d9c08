// One accuracy-vs-T plot from the report.json files of several `snnkit calibrate` runs (every pipeline of each).
// usage: node bench/calibration-plot.mjs OUT.svg RUN_DIR_OR_LOG...   (the folders bench/calibration-results.sh writes;
// or the stderr log of a run that stopped before its report, whose lines read "T=8 light: 70.20% (ANN 91.50%), ...")
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../dist/src/report/plot.js';

const [out, ...dirs] = process.argv.slice(2);
const byPipeline = new Map();
let ann;
// Custom step lists as the results doc names them.
const NAMES = { 'threshold+weight+bias+potential': 'advanced + WC', 'threshold+weight+bias+potential+distill': 'advanced + WC + distill',
  'quantize+threshold+weight+bias+potential+distill': 'quantize + advanced + WC + distill', 'quantize+threshold+bias+potential': 'quantize + advanced' };
const add = (p, x, y, pipeline = NAMES[p] ?? p) => (byPipeline.get(pipeline) ?? byPipeline.set(pipeline, []).get(pipeline)).push({ x, y });
for (const d of dirs) {
  const f = join(d, 'report.json');
  if (d.endsWith('.err') || d.endsWith('.log')) {
    for (const m of readFileSync(d, 'utf8').matchAll(/T=(\d+) (\S+): ([\d.]+)% \(ANN ([\d.]+)%\)/g)) { add(m[2], Number(m[1]), Number(m[3]) / 100); ann = Number(m[4]) / 100; }
    continue;
  }
  if (!existsSync(f)) continue;
  const r = JSON.parse(readFileSync(f, 'utf8'));
  ann = r.annAccuracy;
  // Signed-neuron runs and the bias form of the shift are other series than the same pipeline with IF neurons.
  const signed = r.settings?.neurons === 'signed IF', bias = r.settings?.shift === 'bias';
  for (const run of r.runs) {
    const name = NAMES[run.pipeline] ?? run.pipeline;
    add(run.pipeline, run.T, run.accuracy, `${signed ? 'signed IF: ' : ''}${name}${bias ? ' (bias shift)' : ''}`);
  }
}
// A plot of signed-neuron runs only says so once, in its title, rather than in every series name.
const allSigned = [...byPipeline.keys()].every((k) => k.startsWith('signed IF: '));
const series = [...byPipeline].map(([name, points]) => ({ name: allSigned ? name.slice('signed IF: '.length) : name, points: points.sort((a, b) => a.x - b.x) }));
const Ts = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
if (ann !== undefined) series.push({ name: 'ANN', points: Ts.map((x) => ({ x, y: ann })) });
writeFileSync(out, await lineChart(series, { title: `ResNet-20 (ONNX) → calibrated SNN${allSigned ? ' with signed IF neurons' : ''}, CIFAR-10 exact test subset`, xLabel: 'time steps T', yLabel: 'accuracy', percent: true, xScale: 'log' }));
console.log(`${out}: ${series.map((s) => s.name).join(', ')}`);
