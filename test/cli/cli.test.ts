import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('snnkit --help lists the commands; --version prints the package version', () => {
  const h = run('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: snnkit/);
  assert.match(h.stdout, /info \[options\]\s+show the engine configuration/);
  assert.match(run('--version').stdout, /^\d+\.\d+\.\d+\n$/);
  assert.match(run('info', '--help').stdout, /--json\s+print one JSON object as the last line/);
});

test('snnkit info --json prints the engine configuration as the last line', () => {
  const r = run('info', '--json');
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torchVersion: string; threads: number; allocator: string };
  assert.match(last.torchVersion, /^\d+\.\d+/);
  assert.ok(last.threads >= 1);
  assert.equal(last.allocator, 'caching');
});

test('an unknown command fails with exit code 1 and says so', () => {
  const r = run('bogus');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: unknown command 'bogus'/);
});

test('a bad option value is one error line (and a hint), not the whole usage text', () => {
  for (const [args, line] of [
    [['train-snn', '--T', 'abc'], /^error: option '--T <n>' argument 'abc' is invalid\. expected an integer >= 1, got 'abc'$/],
    [['train-ann', '--epochs', '0'], /^error: option '--epochs <n>' argument '0' is invalid\. expected an integer >= 1, got '0'$/],
    [['convert', '--T', '-1'], /^snnkit: --T: expected positive integers, got '-1' \[INVALID_ARGUMENT\]$/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stderr, /Usage:/);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length <= 2, r.stderr);
    assert.match(lines[0]!, line);
    if (lines.length === 2) assert.equal(lines[1], '(snnkit <command> --help shows its options)');
  }
});

test('a bad --out (a file, or under one) fails in a second with one line, before any work, and creates nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-out-'));
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  try {
    const common = ['--dataset', 'mnist', '--epochs', '1'];
    const commands = [['train-ann', ...common, '--arch', 'mnist-cnn'], ['train-snn', ...common, '--arch', 'snn-mnist-cnn', '--T', '2'],
      ['convert', '--model', 'model.safetensors', '--dataset', 'mnist'], ['calibrate', '--model', 'model.safetensors', '--dataset', 'mnist']];
    for (const [cmd, ...rest] of commands) {
      for (const [out, why] of [[file, /is a file; expected a folder/], [join(file, 'sub'), /lies under the file '.*a-file'; expected a folder/], ['/proc/snnkit-out', /cannot be written: '\/proc' refuses new files \(\w+\)/]] as const) {
        const t0 = performance.now();
        const r = run(cmd!, ...rest, '--out', out);
        assert.equal(r.status, 1, `${cmd} ${out}: ${r.stderr}`);
        assert.match(r.stderr.trim(), new RegExp(`^snnkit: --out '${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' ${why.source} \\[IO_ERROR\\]$`), cmd);
        assert.ok(performance.now() - t0 < 5000, `${cmd} took ${performance.now() - t0} ms`);
      }
    }
    assert.deepEqual(readdirSync(dir), ['a-file']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help and argument errors work without the native addon (a copy of dist/ with no build/)', () => {
  const root = mkdtempSync(join(tmpdir(), 'snnkit-noaddon-'));
  try {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    cpSync(join(repo, 'dist'), join(root, 'dist'), { recursive: true });
    cpSync(join(repo, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    const copy = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8' });
    const h = copy('train-snn', '--help');
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /Usage: snnkit train-snn/);
    assert.match(copy('train-snn', '--T', 'abc').stderr, /^error: option '--T <n>' argument 'abc' is invalid/);
    const info = copy('info');
    assert.equal(info.status, 1);
    assert.match(info.stderr, /^snnkit: snnkit could not load its native engine\. the addon is not built: run `npm run setup`/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('npx --no-install snnkit in the repository runs the built CLI in seconds and leaves the addon untouched', () => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const addon = join(repo, 'build/Release/snnkit.node');
  const before = statSync(addon).mtimeMs;
  const cache = mkdtempSync(join(tmpdir(), 'snnkit-npm-cache-')); // a first npx use: nothing cached
  try {
    const t0 = performance.now();
    const r = spawnSync('npx', ['--no-install', 'snnkit', 'info', '--json'], { cwd: repo, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_cache: cache } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim().split('\n').pop()!, /^\{"torchVersion":/);
    assert.ok(performance.now() - t0 < 30_000, `npx took ${performance.now() - t0} ms (it recompiled the addon before)`);
    assert.equal(statSync(addon).mtimeMs, before);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
