// Prints the compiler/linker flags for libtorch, for binding.gyp.
// LIBTORCH=/path/to/libtorch (a downloaded CPU or CUDA libtorch) wins over Debian's libtorch-dev.
// oneDNN (the 8-bit spike convolution, native/src/ops/spikeconv.cc): with Debian's libtorch-dev, Debian's libdnnl-dev,
// the same library libtorch links; a downloaded libtorch carries its own oneDNN inside and no headers, so the addon is
// built without it there (the 8-bit option then reports that it is unavailable).
// usage: node scripts/torch-config.mjs include|libs|ldflags|defines
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
  const dnnl = existsSync('/usr/include/oneapi/dnnl/dnnl.hpp');
  if (what === 'include') out.push('/usr/include', '/usr/include/torch/csrc/api/include');
  if (what === 'libs') out.push('-ltorch', '-ltorch_cpu', '-lc10', ...(dnnl ? ['-ldnnl'] : []));
  if (what === 'defines' && dnnl) out.push('SNNKIT_DNNL=1');
}
// gyp needs a value for every expansion
if (what === 'defines' && out.length === 0) out.push('SNNKIT_NO_DNNL=1');
console.log(out.join(' '));
