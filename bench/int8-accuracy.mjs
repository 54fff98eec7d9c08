// The 8-bit option's accuracy and time on an SNN checkpoint (convert, calibrate or hybrid train-snn): the 1000 images of
// test_first1000.bin simulated at T in float32 (the exact path) and with convert.quantizeSpikeConvs, one after the other.
// Last line: JSON {T, float_accuracy, int8_accuracy, delta_points, seconds_float, seconds_int8, layers}.
// usage: node bench/int8-accuracy.mjs --model SNN.safetensors [--T 32] [--threads 2]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseFlags, round, nowMs } from './lib.mjs';

const flags = parseFlags({ model: { type: 'string' }, T: { type: 'string', default: '32', int: { min: 1 } },
  threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } } });
if (!flags.model) throw new Error('--model SNN.safetensors is required');
const sk = await import('../dist/src/index.js');
sk.setNumThreads(flags.threads);
const DATA = fileURLToPath(new URL('../../shared/data/cifar10-exact-subset/', import.meta.url));
const { converted, meta } = await sk.models.loadSnn(flags.model);
const run = async () => {
  const l = new sk.data.DataLoader(sk.data.loadCifar10Binary(join(DATA, 'test_first1000.bin'), 'test'), { batchSize: 100, transforms: [sk.data.normalize(meta.mean, meta.std)], workers: 1 });
  const t0 = nowMs();
  const r = await sk.convert.simulate(converted.snn, l, { T: [flags.T] });
  const s = (nowMs() - t0) / 1000;
  await l.close();
  return { accuracy: r.accuracy[0], seconds: s };
};
const f = await run();
const layers = sk.convert.quantizeSpikeConvs(converted.snn);
const q = await run();
console.log(`T = ${flags.T}: float ${(100 * f.accuracy).toFixed(2)} % (${f.seconds.toFixed(1)} s), 8-bit ${(100 * q.accuracy).toFixed(2)} % (${q.seconds.toFixed(1)} s, ${layers.length} layers)`);
console.log(JSON.stringify({ T: flags.T, float_accuracy: f.accuracy, int8_accuracy: q.accuracy, delta_points: round(100 * (q.accuracy - f.accuracy), 2),
  seconds_float: round(f.seconds, 2), seconds_int8: round(q.seconds, 2), layers: layers.length, model: flags.model }));
