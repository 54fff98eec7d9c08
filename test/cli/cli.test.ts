import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
