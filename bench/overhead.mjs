// Per-op overhead of the binding: a tiny op (3 elements) through the Tensor API, inside tidy, and as a raw native
// call, each followed by freeing the result. PyTorch from Python is about 1 µs for the same (docs/results/engine.md).
// usage: node bench/overhead.mjs [--n 200000]
import { parseFlags, nowMs, round } from './lib.mjs';

const { n } = parseFlags({ n: { type: 'string', default: '200000', int: { min: 1000 } } });
const { tensor, tidy } = await import('../dist/src/index.js');
const { native } = await import('../dist/src/native/load.js');
const a = tensor([1, 2, 3]);
const cases = {
  'a.add(1).dispose()': () => a.add(1).dispose(),
  'tidy(() => a.add(1))': () => tidy(() => a.add(1)),
  'native binary + dispose': () => native.dispose(native.binary(0, a.handle, 1, 0)),
};
const out = {};
for (const [name, fn] of Object.entries(cases)) {
  for (let i = 0; i < 10000; i++) fn();
  const t0 = nowMs();
  for (let i = 0; i < n; i++) fn();
  out[name] = round(((nowMs() - t0) / n) * 1000, 2);
  console.log(`${name.padEnd(26)} ${out[name]} µs/op`);
}
console.log(JSON.stringify({ us_per_op: out }));
