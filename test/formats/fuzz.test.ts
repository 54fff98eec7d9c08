// The fuzz suite in small: a few hundred seeded mutants per parser, each in the fuzzer's child process with its
// memory cap and timeout, the leak the first run found is a test in test/formats/pytorch.test.ts. Every input must
// be accepted or rejected with a typed error, leaving no live tensor. `npm run fuzz` runs 10 000 per parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
interface Row { target: string; tried: number; accepted: number; typed: number }
const fuzz = (...args: string[]): { fuzz: Row[]; bad: number } => {
  const r = spawnSync(process.execPath, ['fuzz/run.mjs', '--json', '--save', '/tmp/snnkit-fuzz-found', ...args], { cwd: repo, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { fuzz: Row[]; bad: number };
};

test('150 seeded mutants per parser: each accepted or a typed error, no hang, crash, blow-up or leak', () => {
  const out = fuzz('--count', '150', '--seed', '7');
  assert.equal(out.bad, 0);
  assert.deepEqual(out.fuzz.map((r) => r.target), ['onnx', 'pt-zip', 'pt-legacy', 'safetensors', 'idx', 'idx-gz', 'cifar', 'nmnist', 'nmnist-list', 'image']);
  for (const r of out.fuzz) {
    assert.equal(r.tried, 150, r.target);
    assert.equal(r.accepted + r.typed, 150, r.target);
    assert.ok(r.typed > 0, `${r.target}: the mutants reach the error paths`);
  }
});
