// The stability check of the Dspike search's finite differences (issue: "computed in float64 or with an ε shown to be
// in the range where it is stable"). On one training batch and a trained SNN checkpoint, for each ε: the float32 FDG
// of sampled first-layer weights, its norm and how many of its entries are non-zero, its cosine with the FDG at the
// neighbouring ε, with a float64 FDG at the same ε (fewer weights: float64 convolutions are slow on the CPU), and the
// cosine of the Dspike surrogate gradient at several b with it (what the search compares).
// usage: node bench/fdg-eps.mjs --model runs/x/last.safetensors --dataset fashion-mnist [--eps 1e-4,3e-4,...] [--weights 64] [--weights64 16] [--batch 64]
import { parseArgs } from 'node:util';
import {
  setNumThreads, tidy, Generator, F, finiteDifferenceGradient, sampleIndices, cosine, setDspikeTemperature, firstLayerWeight,
} from '../dist/src/index.js';
import { loadAnn } from '../dist/src/cli/model.js';
import { chooseNormalization, makeLoader, subset } from '../dist/src/cli/common.js';
import { loadDataset } from '../dist/src/data/registry.js';

const { values: a } = parseArgs({ options: {
  model: { type: 'string' }, dataset: { type: 'string', default: 'fashion-mnist' }, eps: { type: 'string', default: '1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1' },
  'eps64': { type: 'string', default: '1e-3,1e-2' }, weights: { type: 'string', default: '64' }, weights64: { type: 'string', default: '16' },
  batch: { type: 'string', default: '64' }, b: { type: 'string', default: '1,2,3,4,5' }, threads: { type: 'string', default: '2' },
} });
if (!a.model) throw new Error('--model is required (a train-snn checkpoint)');
setNumThreads(Number(a.threads));
const { model: snn, meta } = loadAnn(a.model, undefined);
snn.eval();
const ds = subset(await loadDataset(a.dataset, { split: 'train' }), Number(a.batch));
const loader = makeLoader(ds, chooseNormalization(a.dataset, {}, meta), { batchSize: Number(a.batch), shuffle: false, seed: 0, workers: 0 });
let batch;
for await (const b of loader.epoch(0)) batch = { x: b.x.keep(), y: b.y.keep() };
await loader.close();
const loss = meta.snn_train?.loss ?? { kind: 'mean-ce' };
const w = firstLayerWeight(snn);
const idx = sampleIndices(w, Number(a.weights), new Generator(1));
const idx64 = idx.slice(0, Number(a.weights64));
const epsList = a.eps.split(',').map(Number), bs = a.b.split(',').map(Number);
const objective = () => F.snnLoss(snn.forwardSteps(batch.x), batch.y, loss).item();

function surrogateGrads() {
  return bs.map((b) => {
    setDspikeTemperature(snn, b);
    snn.zeroGrad();
    const g = tidy(() => {
      F.snnLoss(snn.forwardSteps(batch.x), batch.y, loss).backward();
      const flat = w.grad.reshape(-1).toArray();
      return idx.map((i) => flat[i]);
    });
    snn.zeroGrad();
    return g;
  });
}
const sg = surrogateGrads();
const rows = [];
let prev;
for (const eps of epsList) {
  const t0 = performance.now();
  const g = finiteDifferenceGradient(objective, w, { eps, indices: idx });
  const secs = (performance.now() - t0) / 1000;
  const row = { eps, norm: Math.hypot(...g), nonzero: g.filter((v) => v !== 0).length / g.length, cos_prev_eps: prev ? cosine(prev, g) : null,
    cos_b: Object.fromEntries(bs.map((b, k) => [b, cosine(sg[k], g)])), seconds: secs };
  prev = g;
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
// float64 against float32 at the same ε, on the first weights64 of the sample
const f32 = {};
for (const eps of a.eps64.split(',').map(Number)) f32[eps] = finiteDifferenceGradient(objective, w, { eps, indices: idx64 });
snn.to('float64');
const x64 = batch.x.to('float64');
const obj64 = () => F.snnLoss(snn.forwardSteps(x64), batch.y, loss).item();
const vs64 = [];
for (const eps of a.eps64.split(',').map(Number)) {
  const t0 = performance.now();
  const g64 = finiteDifferenceGradient(obj64, w, { eps, indices: idx64 });
  const r = { eps, weights: idx64.length, cos_f32_f64: cosine(f32[eps], g64), rel_diff: Math.hypot(...g64.map((v, i) => v - f32[eps][i])) / Math.hypot(...g64), seconds64: (performance.now() - t0) / 1000 };
  vs64.push(r);
  process.stderr.write(`${JSON.stringify(r)}\n`);
}
console.log('| ε | ‖FDG‖ | non-zero | cos with previous ε | ' + bs.map((b) => `cos Dspike b=${b}`).join(' | ') + ' | s |');
console.log('|---|---:|---:|---:|' + bs.map(() => '---:').join('|') + '|---:|');
for (const r of rows) console.log(`| ${r.eps} | ${r.norm.toExponential(3)} | ${(100 * r.nonzero).toFixed(0)} % | ${r.cos_prev_eps === null ? '—' : r.cos_prev_eps.toFixed(3)} | ` +
  bs.map((b) => r.cos_b[b].toFixed(3)).join(' | ') + ` | ${r.seconds.toFixed(0)} |`);
console.log('\n| ε | weights | cos(float32, float64) | relative difference | float64 s |\n|---|---:|---:|---:|---:|');
for (const r of vs64) console.log(`| ${r.eps} | ${r.weights} | ${r.cos_f32_f64.toFixed(4)} | ${r.rel_diff.toExponential(2)} | ${r.seconds64.toFixed(0)} |`);
console.log(JSON.stringify({ bench: 'fdg-eps', model: a.model, batch: Number(a.batch), weights: idx.length, rows, vs64 }));
