// --dataset nmnist in the commands: train-snn trains on frames (one a step), eval reads the frames the checkpoint was
// trained on, train-ann and convert take all events summed into one image; event flags on image data are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/models/checkpoint.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
const data = join(process.cwd(), '..', 'shared', 'data', 'nmnist-small');

test('train-snn on nmnist: T frames a sample, binned by time and denoised as asked, recorded so that eval reads the same frames', () => {
  const out = mkdtempSync(join(tmpdir(), 'snnkit-nmnist-cli-'));
  const t = run('train-snn', '--dataset', 'nmnist', '--data', data, '--arch', 'snn-nmnist', '--T', '3', '--epochs', '1', '--train-limit', '96',
    '--val-size', '32', '--test-limit', '40', '--batch-size', '16', '--frames-by', 'time', '--denoise', '5000', '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  const r = lastJson(t.stdout);
  const ck = loadCheckpoint(join(out, 'last.safetensors'));
  assert.deepEqual(ck.meta['events'], { frames: 3, by: 'time', denoise: 5000 });
  ck.dispose();
  const e = run('eval', '--model', join(out, 'last.safetensors'), '--dataset', 'nmnist', '--data', data, '--limit', '40', '--json');
  assert.equal(e.status, 0, e.stderr);
  assert.equal(lastJson(e.stdout)['accuracy'], r['finalAccuracy'], 'eval on the recorded frames reproduces the final test accuracy');
  // Other frames than the network was trained on: refused with the shapes named.
  const other = run('eval', '--model', join(out, 'last.safetensors'), '--dataset', 'nmnist', '--data', data, '--limit', '40', '--frames', '4');
  assert.equal(other.status, 1);
  assert.match(other.stderr, /'sequence' input float32\[\d+,8,34,34\] does not hold T = 3 steps of \[2, 34, 34\]/);
});

test('train-ann and convert on nmnist see every event summed into one 2×34×34 image', () => {
  const out = mkdtempSync(join(tmpdir(), 'snnkit-nmnist-ann-'));
  const t = run('train-ann', '--dataset', 'nmnist', '--data', data, '--arch', 'nmnist-cnn', '--epochs', '1', '--train-limit', '64',
    '--test-limit', '20', '--batch-size', '16', '--out', join(out, 'ann'), '--json');
  assert.equal(t.status, 0, t.stderr);
  const c = run('convert', '--model', join(out, 'ann', 'last.safetensors'), '--dataset', 'nmnist', '--data', data, '--T', '4',
    '--test-limit', '20', '--samples', '32', '--out', join(out, 'snn'), '--json');
  assert.equal(c.status, 0, c.stderr);
  const j = lastJson(c.stdout);
  assert.equal(j['command'], 'convert');
  assert.ok(existsSync(join(out, 'snn')));
});

test('event flags on image data, and event data in a shape the network does not take, are refused in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-nmnist-bad-'));
  const cases: [string[], RegExp][] = [
    [['train-snn', '--dataset', 'mnist', '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '1', '--denoise', '100'], /^snnkit: --denoise: 'mnist' is not event data \[INVALID_ARGUMENT\]$/],
    [['train-ann', '--dataset', 'mnist', '--arch', 'mnist-cnn', '--epochs', '1', '--frames', '2', '--frames-by', 'time'], /^snnkit: --frames, --frames-by: 'mnist' is not event data/],
    [['train-snn', '--dataset', 'nmnist', '--data', data, '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '1'], /^snnkit: snn-mnist-cnn takes 1×28×28 inputs a step but nmnist has 2×34×34 frames \[SHAPE_MISMATCH\]$/],
    [['train-snn', '--dataset', 'mnist', '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '1', '--encoding', 'sequence'], /^snnkit: --encoding sequence takes event data \(nmnist\); 'mnist' holds images/],
    [['train-snn', '--dataset', 'nmnist', '--data', data, '--arch', 'snn-nmnist', '--T', '2', '--epochs', '1', '--frames-by', 'spikes'], /^error: option '--frames-by <how>' argument 'spikes' is invalid\. expected count or time/],
  ];
  for (const [args, msg] of cases) {
    const out = join(dir, `out-${args.join('_').replace(/[^\w-]/g, '')}`);
    const r = run(...args, '--out', out);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim().split('\n')[0]!, msg);
    assert.ok(!existsSync(out), `${args.join(' ')}: no output folder`);
  }
});
