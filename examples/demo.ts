/**
 * `npm run demo`: the main job end to end on MNIST. Trains the MNIST CNN (3 epochs; reused from runs/demo when a
 * previous run left it there), converts it to a spiking network (99.9th-percentile thresholds, V_th/2 shift),
 * calibrates it layer by layer for each T (threshold search, bias and potential correction: the "advanced" pipeline
 * of Li, Deng et al. 2021; and with weight calibration at T <= 4; and with signed IF neurons), and prints the accuracy against the number of time
 * steps T next to the ANN's. About 2 minutes on 2 cores (1 minute with the CNN reused).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nn, data, convert, calibrate, trainAnn, loadCheckpoint, buildInfo, getNumThreads, memory, Generator } from '../src/index.js';
import { TerminalProgress } from '../src/report/progress.js';

const OUT = join(process.cwd(), 'runs', 'demo');
const NORM = data.normalize([0.1307], [0.3081]);

async function main(): Promise<void> {
  const t0 = performance.now();
  const info = buildInfo();
  console.log(`snnkit demo — libtorch ${info.torchVersion}, ${getNumThreads()} threads, allocator ${memory().allocator}`);
  const trainSet = data.loadMnist({ split: 'train' }), testSet = data.loadMnist({ split: 'test' });
  const train = new data.DataLoader(trainSet, { batchSize: 128, shuffle: true, transforms: [NORM] });
  const test = new data.DataLoader(testSet, { batchSize: 250, transforms: [NORM] });
  const model = nn.createModel('mnist-cnn', { generator: new Generator(0) });
  const best = join(OUT, 'best.safetensors');
  if (existsSync(join(OUT, 'last.safetensors')) && existsSync(best)) console.log(`reusing the MNIST CNN in ${OUT} (delete it to train again)`);
  // trainAnn resumes from OUT/last.safetensors, so a finished run costs nothing here.
  await trainAnn({ model, train, test, epochs: 3, lr: 0.05, outDir: OUT, progress: new TerminalProgress({ lineEverySeconds: 15 }),
    meta: { arch: 'mnist-cnn', dataset: 'mnist', mean: [0.1307], std: [0.3081] } });
  const ck = loadCheckpoint(best);
  model.loadStateDict(ck.weights);
  ck.dispose();

  console.log('converting to a spiking network (99.9th-percentile thresholds from 1024 training images, V_th/2 shift)...');
  const converted = await convert.convertToSnn(model, { calibration: train, samples: 1024, threshold: { percentile: 99.9 }, shift: 'potential' });
  const testSubset = { ...testSet, images: testSet.images.subarray(0, 1000 * 784), labels: testSet.labels.subarray(0, 1000), length: 1000 };
  const testLoader = new data.DataLoader(testSubset, { batchSize: 250, transforms: [NORM], workers: 0 });
  const Ts = [2, 4, 8, 16, 32, 64];
  const sim = await convert.simulate(converted.snn, testLoader, { T: Ts, ann: model });
  console.log('calibrating layer by layer for each T (threshold search, bias and potential correction; with weight calibration too at T <= 4; and with signed IF neurons)...');
  const calibrated: number[] = [], withWeights: number[] = [], signed: number[] = [];
  for (const T of Ts) {
    // Weight calibration where it matters (the shortest T); it costs about a minute per T on 2 cores.
    const advanced = calibrate.PIPELINES.advanced;
    const runs: [calibrate.CalibrationSteps, number[], boolean][] = [[advanced, calibrated, false], ...(T <= 4 ? [[{ ...advanced, weight: true }, withWeights, false] as [calibrate.CalibrationSteps, number[], boolean]] : []), [advanced, signed, true]];
    for (const [steps, into, sign] of runs) {
      const c = await calibrate.calibrateSnn(model, { T, calibration: train, samples: 1024, steps, weight: { lr: 1e-3, iterations: 1000 }, signed: sign });
      into.push((await convert.simulate(c.snn, testLoader, { T: [T] })).accuracy[0]!);
      c.snn.dispose();
    }
    if (T > 4) withWeights.push(NaN);
  }
  await Promise.all([train.close(), test.close()]);

  console.log(`\nMNIST CNN → SNN, first 1000 test images (ANN: ${(100 * sim.annAccuracy!).toFixed(2)}%)`);
  console.log('   T   converted   calibrated   + weight calibration   signed IF, calibrated');
  const pc = (x: number, w: number) => (Number.isNaN(x) ? `${'—'.padStart(w + 1)}` : `${(100 * x).toFixed(2).padStart(w)}%`);
  Ts.forEach((T, i) => console.log(`${String(T).padStart(4)}   ${pc(sim.accuracy[i]!, 8)}   ${pc(calibrated[i]!, 9)}   ${pc(withWeights[i]!, 19)}   ${pc(signed[i]!, 19)}`));
  console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(0)} s; for reports and plots: snnkit convert --model ${best} --dataset mnist --shift --out runs/demo-snn`);
  console.log(`  or: snnkit calibrate --model ${best} --dataset mnist --T 4,8 --pipeline none,light,advanced --out runs/demo-cal`);
}

await main();
