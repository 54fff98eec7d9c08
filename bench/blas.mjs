// Matmul throughput: snnkit's matmul (libtorch → libblas.so.3) against PyTorch's, same threads, same run.
// Debian's libblas.so.3 is reference BLAS unless OpenBLAS is installed (~15x slower): this is the check that it is not.
// usage: node bench/blas.mjs [--n 1024] [--threads N]
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseFlags, timeIterations, summarize, round, lastJsonLine } from './lib.mjs';

const flags = parseFlags({ n: { type: 'string', default: '1024', int: { min: 16 } }, threads: { type: 'string', default: String(availableParallelism()), int: { min: 1 } } });
const { randn, tidy, setNumThreads } = await import('../dist/src/index.js');
setNumThreads(flags.threads);
const n = flags.n;
const a = randn([n, n]).keep(), b = randn([n, n]).keep();
const ms = summarize(timeIterations(() => tidy(() => { a.matmul(b); }), { warmup: 3, iters: 15 })).median;
const py = `
import torch, time, json
torch.set_num_threads(${flags.threads})
a = torch.randn(${n}, ${n}); b = torch.randn(${n}, ${n})
for _ in range(3): a @ b
s = []
for _ in range(15):
    t = time.perf_counter(); a @ b; s.append((time.perf_counter() - t) * 1000)
s.sort(); print(json.dumps({"ms": s[len(s) // 2]}))`;
const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
const ref = lastJsonLine(r.stdout ?? '');
const gflops = (t) => round((2 * n ** 3) / (t * 1e6), 1);
console.log(`matmul ${n}x${n}x${n}, ${flags.threads} threads: snnkit ${round(ms, 2)} ms (${gflops(ms)} GFLOP/s)` +
  (ref ? `, PyTorch ${round(ref.ms, 2)} ms (${gflops(ref.ms)} GFLOP/s)` : ', PyTorch not available'));
console.log(JSON.stringify({ n, threads: flags.threads, snnkit_gflops: gflops(ms), torch_gflops: ref ? gflops(ref.ms) : null, ratio: ref ? round(ms / ref.ms, 3) : null }));
