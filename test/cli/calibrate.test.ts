import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = process.cwd();
const shared = join(root, '..', 'shared');
const onnx = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.onnx');
const exact = join(shared, 'data/cifar10-exact-subset');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
const norm = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];

test('snnkit calibrate: the ONNX ResNet-20, two pipelines, checkpoints that eval reproduces, a report with plots', { skip: !existsSync(onnx) && 'no ../shared' }, () => {
  const out = mkdtempSync(join(tmpdir(), 'snnkit-calibrate-'));
  // What a write of an earlier run, killed, left in the folder (its process is gone): the rerun removes it.
  const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const stale = join(out, `.report.md.${deadPid}.0123456789ab.tmp`);
  writeFileSync(stale, 'partial');
  try {
    const r = run('calibrate', '--model', onnx, '--dataset', 'cifar10', '--data', join(exact, 'test_first1000.bin'), '--calib-data', join(exact, 'train_first4000.bin'),
      ...norm, '--T', '8', '--pipeline', 'none,advanced', '--samples', '512', '--correction-samples', '64', '--batch-size', '64', '--test-limit', '128',
      '--early-exit', '1', '--exit-samples', '128', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(stale), 'the killed run\'s temporary file is removed');
    const j = lastJson(r.stdout);
    const acc = j['accuracy'] as Record<string, number>;
    assert.deepEqual(Object.keys(acc), ['none@T=8', 'advanced@T=8']);
    assert.equal(j['count'], 128);
    // At T = 8, max thresholds lose most of the accuracy; calibration brings most of it back (ANN 91.5% on all 1000).
    assert.ok(acc['advanced@T=8']! > acc['none@T=8']! + 0.2, `advanced ${acc['advanced@T=8']} vs none ${acc['none@T=8']}`);
    // (512 calibration and 128 test images, one image 0.8 point: 0.617, 0.680, 0.727, 0.711 with seeds 0-3 on 2 AMD
    // EPYC cores. 128 calibration images varied too much: 0.49-0.74 over seeds, and seed 0 gave 0.594 on Intel, 0.492
    // on AMD. The full setting, 1024 and 1000, gives 68.6 %.)
    assert.ok(acc['advanced@T=8']! > 0.55, `advanced at T=8: ${acc['advanced@T=8']}`);
    const runs = j['runs'] as { pipeline: string; checkpoint: string; steps: string[]; seconds: Record<string, number>; earlyExit: { accuracy: number; averageT: number } }[];
    assert.deepEqual(runs.map((x) => x.steps), [[], ['threshold', 'bias', 'potential']]);
    for (const x of runs) assert.ok(x.seconds['calibration']! > 0 && x.seconds['simulation']! > 0);
    // The checkpoint holds the calibrated network: eval gives the same accuracy at the calibrated T by default.
    const e = run('eval', '--model', runs[1]!.checkpoint, '--dataset', 'cifar10', '--data', join(exact, 'test_first1000.bin'), '--limit', '128', '--json');
    assert.equal(e.status, 0, e.stderr);
    const ej = lastJson(e.stdout);
    assert.deepEqual(ej['T'], [8]);
    assert.deepEqual(ej['accuracy'], [acc['advanced@T=8']]);
    // the early exit chosen on training samples, stored in the checkpoint: eval's real run gives what the report replayed
    const ee = ej['earlyExit'] as { accuracy: number; averageT: number };
    assert.deepEqual([ee.accuracy, ee.averageT], [runs[1]!.earlyExit.accuracy, runs[1]!.earlyExit.averageT]);
    assert.ok(ee.averageT <= 8, JSON.stringify(ee));
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, /\| pipeline \| T=8 \|/);
    assert.match(md, /\| advanced \| \d+\.\d\d % \|/);
    assert.match(md, /\| layer \| V_th \| converted \| threshold \| bias \| potential \|/);
    assert.match(md, /### Early exit\n\nA sample stops at the first step from step \d+ on at which the margin of its mean output reaches/);
    for (const f of ['accuracy.svg', 'errors-T8-none.svg', 'errors-T8-advanced.svg', 'early-exit-T8-advanced.svg', 'report.json']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'accuracy.svg'), 'utf8'), /<svg/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('snnkit calibrate --signed with the quantize step: signed-neuron checkpoints that eval reproduces', { skip: !existsSync(onnx) && 'no ../shared' }, () => {
  const out = mkdtempSync(join(tmpdir(), 'snnkit-calibrate-'));
  try {
    const r = run('calibrate', '--model', onnx, '--dataset', 'cifar10', '--data', join(exact, 'test_first1000.bin'), '--calib-data', join(exact, 'train_first4000.bin'),
      ...norm, '--T', '8', '--signed', '--pipeline', 'custom', '--steps', 'quantize,threshold,bias,potential', '--quantize-epochs', '1', '--calib-samples', '128',
      '--quantize-samples', '256', '--quantize-levels', '4', '--val-size', '100',
      '--correction-samples', '64', '--batch-size', '64', '--test-limit', '128', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /DeprecationWarning: snnkit calibrate: '--calib-samples' is deprecated and goes in snnkit 0\.3: use '--samples'/, 'the former spelling still works, with a warning');
    const j = lastJson(r.stdout);
    const runs = j['runs'] as { pipeline: string; checkpoint: string; steps: string[] }[];
    assert.deepEqual(runs.map((x) => [x.pipeline, x.steps]), [['quantize+threshold+bias+potential', ['quantize', 'threshold', 'bias', 'potential']]]);
    assert.ok((j['accuracy'] as number) > 0.5, `signed, T = 8: ${j['accuracy']}`); // IF with max thresholds: about 0.2
    const e = run('eval', '--model', runs[0]!.checkpoint, '--dataset', 'cifar10', '--data', join(exact, 'test_first1000.bin'), '--limit', '128', '--json');
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(lastJson(e.stdout)['accuracy'], [j['accuracy']]);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, /signed IF/);
    assert.match(md, /\| quantize \| 4 levels, 1 epochs of 256 samples,/);
    // --val-size: the last 100 calibration images are held out, and the SNN's accuracy on them reported
    const v = (j['runs'] as { validation: number }[])[0]!.validation;
    assert.ok(v > 0.5 && v <= 1 && Number.isInteger(v * 100), `validation accuracy ${v} of 100 images`);
    assert.match(md, /Validation accuracy[^\n]*\n\n\| pipeline \| T=8 \|\n\|---\|---:\|\n\| quantize\+threshold\+bias\+potential \| \d+\.00 % \|/);
    // the quantized ANN's own accuracy, on the test and the validation images: the SNN's ceiling
    const q = (j['runs'] as { quantizedAnn: { test: number; validation: number } }[])[0]!.quantizedAnn;
    assert.ok(q.test > 0.5 && q.test <= 1 && Number.isInteger(q.test * 128), `quantized ANN test accuracy ${q.test}`);
    assert.ok(q.validation > 0.5 && Number.isInteger(q.validation * 100), `quantized ANN validation accuracy ${q.validation}`);
    assert.match(md, /The quantized ANN after the quantize step[^\n]*\n\n\| pipeline \| T=8 \|\n\|---\|---:\|\n\| quantize\+threshold\+bias\+potential \| \d+\.\d\d % \(validation \d+\.00 %\) \|/);
    const big = run('calibrate', '--model', onnx, '--dataset', 'cifar10', '--data', join(exact, 'test_first1000.bin'), '--calib-data', join(exact, 'train_first4000.bin'),
      ...norm, '--T', '8', '--val-size', '4000', '--out', join(out, 'big'));
    assert.equal(big.status, 1);
    assert.match(big.stderr, /--val-size 4000 leaves no training sample \(cifar10 has 4000\)/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('snnkit calibrate rejects bad pipelines and steps with clear messages', () => {
  const base = ['calibrate', '--model', onnx, '--dataset', 'cifar10', '--out', join(tmpdir(), 'never')];
  const custom = run(...base, '--pipeline', 'custom');
  assert.equal(custom.status, 1);
  assert.match(custom.stderr, /--pipeline custom needs --steps/);
  assert.match(run(...base, '--pipeline', 'heavy').stderr, /unknown pipeline 'heavy'; expected one of none, light, advanced, custom/);
  assert.match(run(...base, '--pipeline', 'custom', '--steps', 'threshold,magic').stderr, /steps.*threshold, weight, bias, potential.*magic/);
  assert.match(run(...base, '--steps', 'bias').stderr, /--steps applies to --pipeline custom only/);
  assert.match(run(...base, '--T', '8,x').stderr, /option '--T <list>' argument '8,x' is invalid. expected comma-separated numbers/);
  assert.match(run(...base, '--T', '8,0').stderr, /--T: expected positive integers, got '8,0'/);
  assert.match(run(...base, '--grid', 'log').stderr, /--grid/);
  assert.match(run(...base, '--augment', 'rotate').stderr, /--augment/);
  assert.match(run(...base, '--shift', 'late').stderr, /option '--shift <mode>' argument 'late' is invalid\. expected one of none, potential, bias/);
});
