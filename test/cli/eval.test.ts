import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { nn, tidy } from '../../src/index.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = process.cwd();
const shared = join(root, '..', 'shared');
const model = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.safetensors');
const testBin = join(shared, 'data/cifar10-exact-subset/test_first1000.bin');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;

test('the shared ResNet-20 loads strictly into cifar-resnet20', { skip: !existsSync(model) && 'no ../shared/models' }, () => {
  const ck = loadCheckpoint(model);
  const net = nn.createModel('cifar-resnet20');
  assert.deepEqual(tidy(() => net.loadStateDict(ck.weights, { strict: true })), { missingKeys: [], unexpectedKeys: [] });
  assert.equal(ck.meta.arch, 'cifar-resnet20');
  assert.deepEqual(ck.meta.mean, [0.485, 0.456, 0.406]);
  ck.dispose();
  net.dispose();
});

test('snnkit eval: the pretrained ResNet-20 scores 91.5% on the exact CIFAR-10 test subset', { skip: !existsSync(model) && 'no ../shared' }, () => {
  const r = run('eval', '--model', model, '--arch', 'cifar-resnet20', '--dataset', 'cifar10', '--data', testBin, '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.ok(Math.abs((j['accuracy'] as number) - 0.915) <= 0.001, `accuracy ${j['accuracy']}`);
  assert.equal(j['count'], 1000);
  assert.deepEqual(j['normalization'], { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], source: 'checkpoint' });
  // Flags win over the checkpoint; the wrong (dataset) normalisation costs accuracy, which shows it is applied.
  const f = lastJson(run('eval', '--model', model, '--dataset', 'cifar10', '--data', testBin, '--mean', '0,0,0', '--std', '1,1,1', '--json').stdout);
  assert.equal((f['normalization'] as { source: string }).source, 'flags');
  assert.ok((f['accuracy'] as number) < 0.8, `unnormalised input should hurt: ${f['accuracy']}`);
});

test('snnkit eval reports bad input clearly', () => {
  const missing = run('eval', '--model', '/nonexistent/m.safetensors', '--dataset', 'cifar10');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /\/nonexistent\/m\.safetensors.*\[FILE_NOT_FOUND\]/);
  assert.match(run('eval', '--dataset', 'cifar10').stderr, /error: required option '--model <file>' not specified/);
  assert.match(run('eval', '--model', 'x', '--dataset', 'cifar10', '--batch-size', '0').stderr, /option '--batch-size <n>' argument '0' is invalid\. expected an integer >= 1, got '0'/);
  if (existsSync(model)) {
    const wrongArch = run('eval', '--model', model, '--arch', 'cifar-resnet32', '--dataset', 'cifar10', '--data', testBin);
    assert.equal(wrongArch.status, 1);
    assert.match(wrongArch.stderr, /loadStateDict: CifarResNet does not match the state dict: missing keys: layer1\.3\.conv1\.weight.*\[STATE_DICT_MISMATCH\]/);
    const wrongData = run('eval', '--model', model, '--dataset', 'mnist');
    assert.match(wrongData.stderr, /cifar-resnet20 takes 3×32×32 inputs but mnist has 1×28×28 images \[SHAPE_MISMATCH\]/);
    assert.match(run('eval', '--model', model, '--dataset', 'cifar10', '--mean', '0.5').stderr, /give both --mean and --std, or neither/);
  }
});

test('snnkit eval takes the ONNX and the PyTorch copies of the pretrained ResNet-20 too (91.5% each)', { skip: !existsSync(model) && 'no ../shared' }, () => {
  const dir = join(shared, 'models/cifar10-resnet20');
  const norm = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];
  const onnx = run('eval', '--model', join(dir, 'cifar10-resnet20.onnx'), '--dataset', 'cifar10', '--data', testBin, ...norm, '--json');
  assert.equal(onnx.status, 0, onnx.stderr);
  assert.ok(Math.abs((lastJson(onnx.stdout)['accuracy'] as number) - 0.915) <= 0.001, onnx.stdout);
  const th = run('eval', '--model', join(dir, 'resnet20-12fca82f.th'), '--arch', 'cifar-resnet20', '--dataset', 'cifar10', '--data', testBin, ...norm, '--json');
  assert.equal(th.status, 0, th.stderr);
  assert.ok(Math.abs((lastJson(th.stdout)['accuracy'] as number) - 0.915) <= 0.001, th.stdout);
  const noArch = run('eval', '--model', join(dir, 'resnet20-12fca82f.th'), '--dataset', 'cifar10', '--data', testBin);
  assert.match(noArch.stderr, /resnet20-12fca82f\.th: a PyTorch checkpoint holds weights only: pass --arch \(one of mnist-cnn, /);
});
