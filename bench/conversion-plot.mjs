// Combined accuracy-vs-T plots from the report.json files of several `snnkit convert` runs.
// usage: node bench/conversion-plot.mjs RUNS_DIR IMG_DIR   (RUNS_DIR holds mnist-* and resnet20-* folders)
import { readdirSync, readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../dist/src/report/plot.js';

const [runs, img] = process.argv.slice(2);
mkdirSync(img, { recursive: true });
for (const prefix of ['mnist', 'resnet20']) {
  const series = [];
  let ann;
  for (const d of readdirSync(runs).filter((x) => x.startsWith(prefix)).sort()) {
    const f = join(runs, d, 'report.json');
    if (!existsSync(f)) continue;
    const r = JSON.parse(readFileSync(f, 'utf8'));
    const name = `${r.settings.threshold}${r.settings.shift === 'potential' ? ' + shift' : ''}`;
    series.push({ name, points: r.simulation.T.map((t, i) => ({ x: t, y: r.simulation.accuracy[i] })) });
    ann = { name: 'ANN', points: r.simulation.T.map((t) => ({ x: t, y: r.simulation.annAccuracy })) };
  }
  if (!series.length) continue;
  const title = prefix === 'mnist' ? 'MNIST CNN → SNN (2000 test images)' : 'ResNet-20 → SNN, no calibration (CIFAR-10 exact test subset)';
  writeFileSync(join(img, `conversion-${prefix}.svg`), await lineChart([...series, ann], { title, xLabel: 'time steps T', yLabel: 'accuracy', percent: true, xScale: 'log' }));
  console.log(`${join(img, `conversion-${prefix}.svg`)}: ${series.map((s) => s.name).join(', ')}`);
}
