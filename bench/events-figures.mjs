#!/usr/bin/env node
// Pictures for docs/results/events.md from a trained snn-nmnist checkpoint: the event frames of the first test
// recording of each of 5 digits (the frames the checkpoint was trained on), the spikes of the first spiking layer's
// first 8 channels on the first of them, and the firing rate of every spiking layer over the test set.
// usage: node bench/events-figures.mjs --model runs/events/final-crop-s1/last.safetensors [--data PATH] [--out docs/results]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAnn } from '../dist/src/cli/model.js';
import { loadDataset } from '../dist/src/data/registry.js';
import { DataLoader } from '../dist/src/data/loader.js';
import { normalize } from '../dist/src/data/transforms.js';
import { SpikeMonitor } from '../dist/src/neurons/monitor.js';
import { barChart } from '../dist/src/report/plot.js';
import { eventFramesPng, spikeMapsPng, writePng } from '../dist/src/report/events.js';
import { writeFileAtomic } from '../dist/src/formats/atomic.js';
import { noGrad, tensor, tidy } from '../dist/src/index.js';

const { values: f } = parseArgs({ options: { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string', default: 'docs/results' } } });
if (!f.model) throw new Error('--model is required');
const { model, meta } = loadAnn(f.model, undefined);
const ev = meta.events, T = ev.frames;
const test = await loadDataset('nmnist', { data: f.data, split: 'test', frames: T, by: ev.by, ...(ev.denoise ? { denoise: ev.denoise } : {}) });
const per = 2 * T * 34 * 34;
const picks = [];
for (let i = 0; i < test.length && picks.length < 5; i++) if (!picks.some((j) => test.labels[j] === test.labels[i])) picks.push(i);
await writePng(join(f.out, 'events-frames.png'), eventFramesPng(picks.map((i) => test.images.subarray(i * per, (i + 1) * per)), [T, 34, 34]));
console.log(`events-frames.png: test recordings ${picks.join(', ')} (digits ${picks.map((i) => test.labels[i]).join(', ')}), ${T} frames each`);

model.eval();
const mon = new SpikeMonitor(model, { recordSpikes: true });
const first = mon.layers()[0];
tidy(() => noGrad(() => {
  const x = tensor(Float32Array.from(test.images.subarray(picks[0] * per, (picks[0] + 1) * per)), [1, 2 * T, 34, 34]);
  const pred = model.forward(x).argmax(1).item();
  console.log(`recording ${picks[0]} (digit ${test.labels[picks[0]]}): predicted ${pred}`);
}));
const rec = mon.records(first).spikes[0]; // [T, 1, C, H, W]
const [C, H, W] = rec.shape.slice(-3);
await writePng(join(f.out, 'events-spikes.png'), spikeMapsPng(rec.reshape(-1).toArray(), [T, C, H, W], 8));
console.log(`events-spikes.png: layer ${first}, channels 0-7 of ${C}, ${T} steps`);
mon.reset();
const mon2 = new SpikeMonitor(model);
mon.detach();
const loader = new DataLoader(test, { batchSize: 50, transforms: [normalize(meta.mean, meta.std)], workers: 0 });
for await (const b of loader.epoch(0)) { tidy(() => noGrad(() => { model.forward(b.x); })); b.dispose(); }
await loader.close();
const rates = mon2.rates();
mon2.detach();
writeFileAtomic(join(f.out, 'events-rates.svg'), await barChart(Object.entries(rates).map(([layer, r]) => ({ category: layer, series: 'test set', value: r })),
  { title: `snn-nmnist firing rates (spikes per neuron per step), T = ${T}`, yLabel: 'rate' }));
console.log(JSON.stringify({ picks, rates }));
