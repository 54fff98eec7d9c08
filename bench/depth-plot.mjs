// Per-layer error against depth from the report.json files of `snnkit calibrate` runs: the root-mean-square error
// between the ANN's activation and the SNN's rate at each residual block's output neuron (after the addition: the
// residual stream, where the error grows), by the neuron's place among all spiking layers, after the last step of a
// pipeline or before any ("converted").
// usage: node bench/depth-plot.mjs OUT.svg LABEL=RUN_DIR:pipeline[:converted] ...
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../dist/src/report/plot.js';

const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length === 0) throw new Error('usage: node bench/depth-plot.mjs OUT.svg LABEL=RUN_DIR:pipeline[:converted] ...');
const series = specs.map((spec) => {
  const [label, where] = spec.split('=');
  const [dir, pipeline, when] = where.split(':');
  const run = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).runs.find((r) => r.pipeline === pipeline);
  if (!run) throw new Error(`${dir}: no run of pipeline ${pipeline}`);
  // ONNX names: the stem's neuron is "Relu", a block's inner one "layerS_B_Relu", its output "layerS_B_Relu_1".
  const points = run.layers.map((l, i) => ({ x: i + 1, stream: !/_Relu$/.test(l.layer), y: Math.sqrt((when === 'converted' ? l.errors[0] : l.errors.at(-1)).mse) }))
    .filter((p) => p.stream).map(({ x, y }) => ({ x, y }));
  return { name: label, points };
});
writeFileSync(out, await lineChart(series, { title: 'ANN–SNN error at each block output (T = 32, first calibration batch)',
  xLabel: 'spiking layer (input side → output side)', yLabel: 'RMS error (activation units)', yScale: 'log', width: 560 }));
console.log(`${out}: ${series.map((s) => s.name).join('; ')}`);
