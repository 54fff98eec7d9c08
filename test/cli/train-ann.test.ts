import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_DEFAULT_DIR } from '../../src/data/idx.js';
import { OFFICIAL_SOURCES } from '../../src/data/download.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const hasFashion = existsSync(FASHION_MNIST_DEFAULT_DIR);
let server: Server, base = '', requests = 0;

/** Runs the CLI without blocking this process's event loop (the mirror below lives in it). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: process.cwd() });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!) as Record<string, unknown>;

before(async () => {
  // A localhost mirror of the official Fashion-MNIST files (Debian's copies), with a bounded request budget.
  server = createServer((req, res) => {
    if (++requests > 20) return void res.writeHead(503).end();
    const name = (req.url ?? '').replace(/^\/fashion\//, '');
    const ok = OFFICIAL_SOURCES['fashion-mnist'].files.some((f) => f.name === name);
    if (!ok || !hasFashion) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(join(FASHION_MNIST_DEFAULT_DIR, name)));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/fashion/`;
});
after(() => server.close());

test('train-ann --download trains from a mirror, and eval of best.safetensors reproduces its test accuracy', { skip: !hasFashion && 'dataset-fashion-mnist not installed' }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'snnkit-dl-')), out = mkdtempSync(join(tmpdir(), 'snnkit-run-'));
  const t = await run(['train-ann', '--dataset', 'fashion-mnist', '--download', '--mirror', base, '--data', data, '--arch', 'mnist-cnn',
    '--epochs', '2', '--train-limit', '1024', '--test-limit', '300', '--batch-size', '64', '--lr', '0.05', '--out', out, '--json']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /fashion-mnist: downloaded 4 file\(s\) into /);
  assert.match(t.stderr, /epoch 2\/2 {2}loss [\d.]+ {2}train [\d.]+% {2}test [\d.]+%/);
  const r = lastJson(t.stdout);
  assert.equal(r['command'], 'train-ann');
  assert.ok((r['bestAccuracy'] as number) > 0.5, `a CNN learns something in 2 short epochs: ${r['bestAccuracy']}`);
  assert.deepEqual(readdirSync(out).sort(), ['best.safetensors', 'curves.svg', 'last.safetensors', 'log.csv', 'log.json']);
  const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg [^>]*width="\d+" height="\d+">/);
  assert.match(svg, /mnist-cnn on fashion-mnist accuracy/);
  const e = await run(['eval', '--model', join(out, 'best.safetensors'), '--dataset', 'fashion-mnist', '--data', data, '--limit', '300', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const j = lastJson(e.stdout);
  assert.equal(j['arch'], 'mnist-cnn', 'the architecture comes from the checkpoint metadata');
  assert.equal((j['normalization'] as { source: string }).source, 'checkpoint');
  assert.ok(Math.abs((j['accuracy'] as number) - (r['bestAccuracy'] as number)) < 1e-9, `eval ${j['accuracy']} vs training ${r['bestAccuracy']}`);
  // Convert it to an SNN, then evaluate the SNN checkpoint: the same samples give the same accuracies.
  const snnDir = mkdtempSync(join(tmpdir(), 'snnkit-snn-'));
  const c = await run(['convert', '--model', join(out, 'best.safetensors'), '--dataset', 'fashion-mnist', '--data', data, '--T', '4,16', '--shift',
    '--samples', '128', '--test-limit', '100', '--analyze-limit', '32', '--early-exit', '1', '--exit-samples', '128', '--out', snnDir, '--json']);
  assert.equal(c.status, 0, c.stderr);
  const cj = lastJson(c.stdout);
  assert.deepEqual(cj['T'], [4, 16]);
  assert.equal((cj['thresholds'] as unknown[]).length, 3);
  assert.deepEqual(readdirSync(snnDir).sort(), ['accuracy.svg', 'early-exit.svg', 'errors.svg', 'rates.svg', 'report.json', 'report.md', 'snn.safetensors']);
  const md = readFileSync(join(snnDir, 'report.md'), 'utf8');
  assert.match(md, /## Conversion error per layer \(32 samples\)/);
  assert.match(md, /## Early exit\n\nA sample stops at the first step from step \d+ on at which the margin of its mean output reaches \S+\n.*chosen on 128\n/);
  assert.match(c.stderr, /early exit \(margin\): threshold \S+ from step \d+ on, chosen on 128 training samples: average T [\d.]+ of 16/);
  const exit = cj['earlyExit'] as { accuracy: number; averageT: number; T: number };
  assert.ok(exit.averageT >= 1 && exit.averageT <= 16 && exit.T === 16, JSON.stringify(exit));
  const se = await run(['eval', '--model', join(snnDir, 'snn.safetensors'), '--dataset', 'fashion-mnist', '--data', data, '--limit', '100', '--T', '4,16', '--json']);
  assert.equal(se.status, 0, se.stderr);
  const sj = lastJson(se.stdout);
  assert.deepEqual(sj['accuracy'], cj['accuracy'], 'the SNN checkpoint reproduces the converted network');
  // eval runs the stored early exit for real (samples leave the batch); convert replayed it from the recorded steps
  const run2 = sj['earlyExit'] as { accuracy: number; averageT: number };
  assert.deepEqual([run2.accuracy, run2.averageT], [exit.accuracy, exit.averageT]);
  // A second run in the same folder with the same settings resumes: nothing left to do, same result. (Where the
  // download came from is not a setting; the learning rate is, and must be given again.)
  const again = await run(['train-ann', '--dataset', 'fashion-mnist', '--data', data, '--arch', 'mnist-cnn', '--epochs', '2',
    '--train-limit', '1024', '--test-limit', '300', '--batch-size', '64', '--lr', '0.05', '--out', out, '--json']);
  assert.match(again.stderr, /resuming from .*last\.safetensors: 2 of 2 epochs done/);
  assert.equal(lastJson(again.stdout)['resumedFrom'], 2);
});

test('train-ann rejects bad arguments with clear messages', async () => {
  const bad = await run(['train-ann', '--dataset', 'mnist', '--arch', 'resnet9000', '--epochs', '1', '--out', '/tmp/x']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /option '--arch <name>' argument 'resnet9000' is invalid\. expected one of mnist-cnn, nmnist-cnn, cifar-vgg16, cifar-resnet20/);
  assert.match((await run(['train-ann', '--dataset', 'mnist', '--arch', 'mnist-cnn', '--epochs', '0', '--out', '/tmp/x'])).stderr, /'--epochs <n>' argument '0' is invalid\. expected an integer >= 1/);
  assert.match((await run(['train-ann', '--dataset', 'mnist', '--arch', 'cifar-resnet20', '--epochs', '1', '--out', '/tmp/x'])).stderr, /cifar-resnet20 takes 3×32×32 inputs but mnist has 1×28×28 images \[SHAPE_MISMATCH\]/);
  assert.match((await run(['train-ann', '--dataset', 'mnist', '--arch', 'mnist-cnn', '--epochs', '1', '--out', '/tmp/x', '--augment', 'rotate'])).stderr, /--augment: unknown augmentation 'rotate'/);
  assert.match((await run(['train-ann', '--dataset', 'cifar10-jpeg', '--download', '--arch', 'cifar-resnet20', '--epochs', '1', '--out', '/tmp/x'])).stderr, /--download: 'cifar10-jpeg' has no official download/);
});
