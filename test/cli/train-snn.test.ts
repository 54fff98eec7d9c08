import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nn } from '../../src/index.js';
import { saveModel } from '../../src/models/checkpoint.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;

test('train-snn trains snn-mnist-cnn on Fashion-MNIST with TET and the Dspike search; eval of the checkpoint reproduces its accuracy', () => {
  const out = mkdtempSync(join(tmpdir(), 'snnkit-snn-cli-'));
  const t = run('train-snn', '--dataset', 'fashion-mnist', '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '1', '--train-limit', '384',
    '--val-size', '64', '--test-limit', '100', '--neuron', 'plif', '--loss', 'tet', '--surrogate', 'dspike:3', '--fdg', '--fdg-weights', '6', '--batch-size', '32', '--lr', '2e-3',
    '--fdg-eps', '0.01', '--out', out, '--json');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /Dspike search: b 2\.500 \(cos -?[\d.]+\), 3\.000 \(cos -?[\d.]+\), 3\.500 \(cos -?[\d.]+\) -> [23]\.[05]00 \[6 weights/);
  assert.match(t.stderr, /epoch 1\/1 {2}loss [\d.]+ {2}train [\d.]+% {2}val [\d.]+% {2}test [\d.]+%/);
  const r = lastJson(t.stdout);
  assert.equal(r['command'], 'train-snn');
  assert.ok((r['finalAccuracy'] as number) > 0.3, `an SNN learns something from 320 images: ${r['finalAccuracy']}`);
  assert.ok([2.5, 3, 3.5].includes(r['dspikeB'] as number));
  assert.deepEqual(readdirSync(out).sort(), ['best.safetensors', 'curves.svg', 'dspike.svg', 'last.safetensors', 'log.csv', 'log.json']);
  assert.match(readFileSync(join(out, 'dspike.svg'), 'utf8'), /Dspike temperature b/);
  assert.match(readFileSync(join(out, 'log.csv'), 'utf8'), /,decay_2,decay_6,decay_10,dspike_b,cos_minus,cos_mid,cos_plus,fdg_norm,fdg_seconds\n/);
  const e = run('eval', '--model', join(out, 'best.safetensors'), '--dataset', 'fashion-mnist', '--limit', '100', '--json');
  assert.equal(e.status, 0, e.stderr);
  const j = lastJson(e.stdout);
  assert.equal(j['arch'], 'snn-mnist-cnn');
  assert.ok(Math.abs((j['accuracy'] as number) - (r['finalAccuracy'] as number)) < 1e-9, `eval ${j['accuracy']} vs training ${r['finalAccuracy']}`);
  // Resuming with other settings names each one that differs, and touches nothing.
  const before = readFileSync(join(out, 'last.safetensors'));
  const again = run('train-snn', '--dataset', 'fashion-mnist', '--arch', 'snn-mnist-cnn', '--T', '2', '--epochs', '2', '--train-limit', '384',
    '--val-size', '64', '--test-limit', '100', '--neuron', 'plif', '--loss', 'tet', '--surrogate', 'dspike:3', '--fdg', '--fdg-weights', '6', '--batch-size', '16', '--lr', '1e-3',
    '--fdg-eps', '0.01', '--out', out, '--json');
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /last\.safetensors is a run with other settings \(epochs: 1 → 2; lr: 0\.002 → 0\.001; data\.batch_size: 32 → 16\): resume it with the same settings, or use another --out/);
  assert.ok(readFileSync(join(out, 'last.safetensors')).equals(before));
});

test('train-snn refuses bad options in one line naming the value and what is valid, and leaves no files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-snn-bad-'));
  const other = join(dir, 'ann.safetensors');
  saveModel(other, nn.createModel('mnist-cnn'), { arch: 'mnist-cnn' });
  const base = ['train-snn', '--dataset', 'mnist', '--arch', 'snn-mnist-cnn', '--epochs', '1', '--train-limit', '64'];
  const cases: [string[], RegExp][] = [
    [['--T', '4', '--surrogate', 'relu'], /^snnkit: --surrogate: 'relu' is not a surrogate: expected NAME or NAME:PARAM with NAME one of rectangle, triangle, exponential, sigmoid, atan, dspike \[INVALID_ARGUMENT\]$/],
    [['--T', '0'], /^error: option '--T <n>' argument '0' is invalid\. expected an integer >= 1, got '0'$/],
    [['--T', '4', '--init', other], /^snnkit: --init: .*ann\.safetensors does not have the model's layout: not in the model: .*classifier\.weight.* \[STATE_DICT_MISMATCH\]$/],
    [['--T', '4', '--fdg'], /^snnkit: --fdg searches Dspike's temperature: give --surrogate dspike\[:B0\], not 'atan:2' \[INVALID_ARGUMENT\]$/],
    [['--T', '4', '--loss', 'tet:7'], /^snnkit: --loss: 'tet:7' has λ = '7'/],
    [['--T', '4', '--neuron', 'alif'], /^error: option '--neuron <kind>' argument 'alif' is invalid\. expected one of if, lif, plif, got 'alif'$/],
    [['--T', '4', '--val-size', '64'], /^snnkit: --val-size 64 leaves no training sample \(mnist has 64\) \[INVALID_ARGUMENT\]$/],
  ];
  for (const [args, msg] of cases) {
    const out = join(dir, `out-${args.join('_').replace(/[^\w-]/g, '')}`);
    const r = run(...base, ...args, '--out', out);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    // One line says what is wrong (commander prints the usage after its own errors).
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => /^(error|snnkit):/.test(l)).length, 1, r.stderr);
    assert.match(lines[0]!, msg);
    assert.ok(!existsSync(out), `${args.join(' ')}: no output folder`);
  }
});

const shared = join(process.cwd(), '..', 'shared');
const resnet20 = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.safetensors');
const cifarTest = join(shared, 'data/cifar10-exact-subset/test_first1000.bin');

test('hybrid start: snn-cifar-resnet20 from the network snnkit convert made of the pretrained ResNet-20 reproduces its accuracy', { skip: !existsSync(resnet20) && 'no ../shared/models' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-hybrid-'));
  const c = run('convert', '--model', resnet20, '--arch', 'cifar-resnet20', '--dataset', 'cifar10', '--data', cifarTest, '--calib-data', cifarTest,
    '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225', '--T', '16', '--threshold', '99.9', '--shift', '--samples', '128', '--test-limit', '60',
    '--analyze-limit', '4', '--out', dir, '--json');
  assert.equal(c.status, 0, c.stderr);
  const converted = lastJson(c.stdout)['accuracy'] as number[];
  const { neurons, evaluate } = await import('../../src/index.js');
  const { loadInitWeights } = await import('../../src/train/snn.js');
  const { makeLoader, subset } = await import('../../src/cli/common.js');
  const { loadDataset } = await import('../../src/data/registry.js');
  const snn = neurons.createSpikingModel('snn-cifar-resnet20', { T: 16, neuron: { kind: 'if', amplitude: 'threshold' } });
  assert.deepEqual(loadInitWeights(snn, join(dir, 'snn.safetensors')), []);
  assert.ok(snn.neurons().every(([, n]) => n.v0 === (n.vTh as number) / 2), 'the shift of the converted network: v(0) = V_th/2');
  const ds = subset(await loadDataset('cifar10', { data: cifarTest, split: 'test' }), 60);
  const loader = makeLoader(ds, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], source: 'flags' }, { batchSize: 30, shuffle: false, seed: 0, workers: 0 });
  const r = await evaluate(snn, loader);
  await loader.close();
  assert.ok(converted[0]! > 0.5, `the converted network works at T = 16: ${converted[0]}`);
  assert.ok(Math.abs(r.accuracy - converted[0]!) <= 1 / 60 + 1e-9, `trainable SNN ${r.accuracy} vs converted ${converted[0]}`);
});

test('hybrid training from what calibrate wrote (no --arch): the SNN as it is, at its T, with the ANN as teacher; eval reads the result as an SNN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-hybrid-cli-'));
  const a = run('train-ann', '--dataset', 'mnist', '--arch', 'mnist-cnn', '--epochs', '1', '--train-limit', '1024', '--test-limit', '200', '--lr', '0.05', '--out', join(dir, 'ann'));
  assert.equal(a.status, 0, a.stderr);
  const c = run('calibrate', '--model', join(dir, 'ann', 'last.safetensors'), '--dataset', 'mnist', '--T', '4', '--pipeline', 'light', '--samples', '128',
    '--test-limit', '200', '--out', join(dir, 'cal'), '--json');
  assert.equal(c.status, 0, c.stderr);
  const calibrated = join(dir, 'cal', 'snn-T4-light.safetensors');
  const t = run('train-snn', '--init', calibrated, '--dataset', 'mnist', '--epochs', '1', '--train-limit', '640', '--val-size', '64', '--test-limit', '200',
    '--lr', '1e-4', '--weight-decay', '0', '--distill-weight', '1', '--distill-temperature', '2', '--out', join(dir, 'hybrid'), '--json');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /teacher: the ANN of .*snn-T4-light\.safetensors/);
  assert.match(t.stderr, /started from .*snn-T4-light\.safetensors: 3 IF layers, calibrated for T = 4 \(threshold, bias\); training at T = 4/);
  const r = lastJson(t.stdout);
  assert.deepEqual([r['hybrid'], r['T'], r['arch']], [true, 4, 'mnist-cnn']);
  const e = run('eval', '--model', join(dir, 'hybrid', 'last.safetensors'), '--dataset', 'mnist', '--limit', '200', '--json');
  assert.equal(e.status, 0, e.stderr);
  const j = lastJson(e.stdout);
  assert.deepEqual([j['kind'], j['T']], ['snn', [4]]);
  assert.equal((j['accuracy'] as number[])[0], r['finalAccuracy'], 'eval simulates the fine-tuned SNN at its T and reproduces the final accuracy');
  const bad: [string[], RegExp][] = [
    [['--init', join(dir, 'ann', 'last.safetensors')], /^snnkit: give --arch \(a spiking zoo model\), or --init with an SNN checkpoint of snnkit convert or calibrate \(.*last\.safetensors is not one\)/],
    [['--arch', 'snn-mnist-cnn', '--T', '2', '--distill-weight', '1'], /^snnkit: --teacher and --distill-weight go with hybrid training/],
    [['--init', calibrated, '--teacher', join(dir, 'ann', 'last.safetensors')], /^snnkit: --teacher needs --distill-weight/],
    [['--arch', 'snn-mnist-cnn'], /^snnkit: --T: the number of time steps is required with --arch/],
    [['--init', calibrated, '--neuron', 'lif', '--tau', '3'], /^snnkit: --neuron, --tau: hybrid training \(--init SNN, no --arch\) keeps the network's own IF neurons/],
  ];
  for (const [args, msg] of bad) {
    const b = run('train-snn', '--dataset', 'mnist', '--epochs', '1', ...args, '--out', join(dir, 'bad'));
    assert.equal(b.status, 1, b.stderr);
    assert.match(b.stderr.trim().split('\n')[0]!, msg);
  }
});

const resnet20Onnx = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.onnx');
test('hybrid training takes an ONNX model as calibrate imported it: the same command, eval reads the result', { skip: !existsSync(resnet20Onnx) && 'no ../shared/models' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-hybrid-onnx-'));
  const data = join(shared, 'data/cifar10-exact-subset');
  const c = run('calibrate', '--model', resnet20Onnx, '--dataset', 'cifar10', '--data', cifarTest, '--calib-data', join(data, 'train_first4000.bin'),
    '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225', '--T', '2', '--pipeline', 'light', '--samples', '64', '--test-limit', '40',
    '--out', join(dir, 'cal'), '--json');
  assert.equal(c.status, 0, c.stderr);
  const t = run('train-snn', '--init', join(dir, 'cal', 'snn-T2-light.safetensors'), '--dataset', 'cifar10', '--data', data, '--epochs', '1',
    '--train-limit', '96', '--val-size', '32', '--test-limit', '40', '--batch-size', '32', '--lr', '1e-4', '--weight-decay', '0',
    '--learn-threshold', '--distill-weight', '1', '--out', join(dir, 'hybrid'), '--json');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /started from .*snn-T2-light\.safetensors: 19 IF layers, calibrated for T = 2 \(threshold, bias\); training at T = 2/);
  const r = lastJson(t.stdout);
  assert.deepEqual([r['hybrid'], r['T'], r['arch']], [true, 2, 'onnx']);
  const e = run('eval', '--model', join(dir, 'hybrid', 'last.safetensors'), '--dataset', 'cifar10', '--data', cifarTest, '--limit', '40', '--layer-errors', '20', '--json');
  assert.equal(e.status, 0, e.stderr);
  const j = lastJson(e.stdout);
  assert.deepEqual([j['kind'], j['T']], ['snn', [2]]);
  const errs = j['layerErrors'] as { T: number; samples: number; layers: { rms: number; firingRate: number }[] }[];
  assert.deepEqual([errs.length, errs[0]!.T, errs[0]!.samples, errs[0]!.layers.length], [1, 2, 20, 19], 'one RMS error per spiking layer of the ONNX ResNet-20');
  assert.ok(errs[0]!.layers.every((l) => l.rms > 0 && l.firingRate >= 0 && l.firingRate <= 1), JSON.stringify(errs[0]!.layers));
  const ann = run('eval', '--model', resnet20Onnx, '--dataset', 'cifar10', '--data', cifarTest, '--limit', '10', '--layer-errors', '5');
  assert.match(ann.stderr, /--layer-errors: .*cifar10-resnet20\.onnx is not an SNN checkpoint/);
  assert.equal((j['accuracy'] as number[])[0], r['finalAccuracy'], 'eval simulates the fine-tuned ONNX SNN at its T (normalisation from the checkpoint) and reproduces the final accuracy');
});
