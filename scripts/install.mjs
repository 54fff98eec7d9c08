#!/usr/bin/env node
// npm's install step for snnkit (in the repository and as a dependency). Without it npm runs its default
// `node-gyp rebuild` for a package with a binding.gyp, and `npx snnkit` in the repository recompiled the addon for
// minutes, deleting the working one meanwhile. This builds the addon only when it is missing or older than its
// sources, and only when libtorch is there; otherwise it says what to run and lets the install succeed (the CLI's
// --help works without the engine).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build/Release/snnkit.node');
const say = (msg) => process.stderr.write(`[snnkit install] ${msg}\n`);

/** The newest modification time under a path (a file or a folder). */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((f) => newest(join(p, f))));
}

const libtorch = process.env.LIBTORCH ? existsSync(join(process.env.LIBTORCH, 'lib')) : existsSync('/usr/include/torch/csrc/api/include/torch/torch.h');
if (existsSync(addon) && statSync(addon).mtimeMs >= Math.max(newest(join(root, 'native')), newest(join(root, 'binding.gyp')))) {
  say('the native addon is up to date');
} else if (!libtorch) {
  say('libtorch is not installed, so the native addon is not built yet: run `npm run setup` (installs libtorch with apt and builds it)');
} else {
  const r = spawnSync('bash', [join(root, 'scripts/build.sh'), 'addon'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) say('the addon build failed (see build.log); `npm run setup` retries it');
}
