// Prints the compiler/linker flags for libtorch, for binding.gyp.
// LIBTORCH=/path/to/libtorch (a downloaded CPU or CUDA libtorch) wins over Debian's libtorch-dev.
// usage: node scripts/torch-config.mjs include|libs|ldflags
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.LIBTORCH;
const what = process.argv[2];
const out = [];
if (root) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (what === 'include') out.push(inc, join(inc, 'torch/csrc/api/include'));
  if (what === 'libs') {
    out.push('-ltorch', '-ltorch_cpu', '-lc10');
    // A CUDA libtorch registers its kernels from libtorch_cuda; keep it linked even if no symbol is used.
    if (existsSync(join(lib, 'libtorch_cuda.so'))) out.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  }
  if (what === 'ldflags') out.push(`-L${lib}`, `-Wl,-rpath,${lib}`);
} else {
  if (what === 'include') out.push('/usr/include', '/usr/include/torch/csrc/api/include');
  if (what === 'libs') out.push('-ltorch', '-ltorch_cpu', '-lc10');
}
console.log(out.join(' '));
