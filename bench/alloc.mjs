// Large-tensor allocation: time and RSS of a loop that allocates, touches and frees 16 MiB tensors, under each
// allocator (SNNKIT_ALLOCATOR is read when the addon loads, so each runs in its own child process).
// usage: node bench/alloc.mjs [--iters K]
import { fileURLToPath } from 'node:url';
import { parseFlags, runJsonChild, round, formatTable, nowMs } from './lib.mjs';

const flags = parseFlags({ iters: { type: 'string', default: '400', int: { min: 10 } }, worker: { type: 'boolean', default: false } });

if (flags.worker) {
  const { zeros, randn, tidy, memory } = await import('../dist/src/index.js');
  const x = randn([4, 1024, 1024]).keep(); // 16 MiB
  const step = () => tidy(() => x.mul(2).add(1).relu().sum().item()); // three 16 MiB temporaries a step
  for (let i = 0; i < 20; i++) step();
  let peak = 0;
  const t0 = nowMs();
  for (let i = 0; i < flags.iters; i++) {
    step();
    if (i % 20 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = (nowMs() - t0) / flags.iters;
  void zeros;
  console.log(JSON.stringify({ allocator: memory().allocator, ms_per_step: ms, peak_rss_mib: peak / 2 ** 20 }));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows = [];
  const out = {};
  for (const a of ['caching', 'tuned-malloc', 'system']) {
    const r = runJsonChild(process.execPath, [self, '--worker', '--iters', String(flags.iters)], { env: { ...process.env, SNNKIT_ALLOCATOR: a } });
    out[a] = r;
    rows.push([a, round(r.ms_per_step, 2), round(r.peak_rss_mib, 0)]);
  }
  console.log('16 MiB tensors: x*2+1, relu, sum (3 large temporaries a step)');
  console.log(formatTable(['allocator', 'ms/step', 'peak RSS MiB'], rows));
  console.log(JSON.stringify({ ...out, system_over_caching: round(out.system.ms_per_step / out.caching.ms_per_step, 2), tuned_over_caching: round(out['tuned-malloc'].ms_per_step / out.caching.ms_per_step, 2) }));
}
