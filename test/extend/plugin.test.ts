// `snnkit --plugin FILE`: a module of your own registers a surrogate; train-snn trains with it and eval reloads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('a --plugin module registers a surrogate that train-snn uses and eval finds again; without it, eval names what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-plugin-'));
  const plugin = join(dir, 'superspike.mjs');
  writeFileSync(plugin, `import { surrogate as S } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
S.registerSurrogate('superspike', (k = 10) => S.defineSurrogate({ name: 'superspike', param: k, paramName: 'k',
  grad: (x) => x.abs().mul(k).add(1).square().reciprocal() }));\n`);
  const out = join(dir, 'run');
  const t = run('--plugin', plugin, 'train-snn', '--dataset', 'fashion-mnist', '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '1',
    '--train-limit', '256', '--val-size', '64', '--test-limit', '100', '--surrogate', 'superspike:5', '--batch-size', '32', '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  const acc = (JSON.parse(t.stdout.trim().split('\n').pop()!) as { finalAccuracy: number }).finalAccuracy;
  assert.ok(acc > 0.3, `it learns something from 192 images: ${acc}`);
  const e = run('--plugin', plugin, 'eval', '--model', join(out, 'last.safetensors'), '--dataset', 'fashion-mnist', '--limit', '100', '--json');
  assert.equal(e.status, 0, e.stderr);
  assert.equal((JSON.parse(e.stdout.trim().split('\n').pop()!) as { accuracy: number }).accuracy, acc);
  const bare = run('eval', '--model', join(out, 'last.safetensors'), '--dataset', 'fashion-mnist', '--limit', '100');
  assert.match(bare.stderr, /^snnkit: .*last\.safetensors: the model was trained with the surrogate superspike\(k=5\), which is neither built in nor registered: give the module that registers it with --plugin \[INVALID_ARGUMENT\]\n$/);
  assert.match(run('--plugin', join(dir, 'none.mjs'), 'info').stderr, /^snnkit: --plugin: '.*none\.mjs' does not exist \(expected a JavaScript module that imports snnkit\) \[FILE_NOT_FOUND\]\n$/);
});
