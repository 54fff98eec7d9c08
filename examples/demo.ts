/**
 * `npm run demo`: a small end-to-end run of the engine. It builds a conv net with snnkit's nn modules, trains it with
 * SGD (momentum, cosine schedule) on a synthetic 4-class image task (oriented bars in noise), and reports loss,
 * accuracy, speed and memory. Real data sets and the ANN→SNN pipeline arrive with the next issues.
 */
import {
  nn, F, optim, Generator, tidy, noGrad, randn, randint, randperm, arange, stack, memory, buildInfo, getNumThreads, type Tensor,
} from '../src/index.js';

const SIZE = 12;

/** Images of one bar (horizontal, vertical, or one of the diagonals) at a random place, plus Gaussian noise. */
function makeData(n: number, g: Generator): { x: Tensor; y: Tensor } {
  return tidy(() => {
    const y = randint(0, 4, [n], { generator: g });
    const labels = y.toTypedArray() as BigInt64Array;
    const offsets = randint(2, SIZE - 2, [n], { generator: g }).toTypedArray() as BigInt64Array;
    const r = arange(SIZE, undefined, 1, { dtype: 'float32' });
    const rows = r.reshape(SIZE, 1).expand(SIZE, SIZE), cols = r.reshape(1, SIZE).expand(SIZE, SIZE);
    const imgs: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const o = Number(offsets[i]);
      const c = Number(labels[i]);
      const d = c === 0 ? rows.sub(o) : c === 1 ? cols.sub(o) : c === 2 ? rows.sub(cols) : rows.add(cols).sub(SIZE - 1);
      imgs.push(d.abs().lt(0.5 + (c >= 2 ? o % 3 : 0)).to('float32'));
    }
    const x = stack(imgs).unsqueeze(1).add(randn([n, 1, SIZE, SIZE], { generator: g }).mul(0.6));
    return { x, y };
  });
}

function main(): void {
  const info = buildInfo();
  console.log(`snnkit demo — libtorch ${info.torchVersion}, ${getNumThreads()} threads, allocator ${memory().allocator}`);
  const g = new Generator(0);
  const train = makeData(2048, g), test = makeData(512, g);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1, generator: g }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(), new nn.Linear(32, 4, { generator: g }),
  );
  const epochs = 6, batch = 64, steps = 2048 / batch;
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const sched = new optim.CosineAnnealingLR(opt, epochs * steps);
  const live0 = memory().liveTensors;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    model.train();
    let lossSum = 0;
    const perm = randperm(2048, { generator: g });
    for (let s = 0; s < steps; s++) {
      lossSum += tidy(() => {
        const idx = perm.slice(0, s * batch, (s + 1) * batch);
        const loss = F.crossEntropy(model.forward(train.x.indexSelect(0, idx)), train.y.indexSelect(0, idx));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        sched.step();
        return loss.item();
      });
    }
    perm.dispose();
    model.eval();
    const acc = tidy(() => noGrad(() => model.forward(test.x).argmax(1).eq(test.y).to('float32').mean().item()));
    const ms = performance.now() - t0;
    console.log(`epoch ${epoch}/${epochs}  loss ${(lossSum / steps).toFixed(4)}  test accuracy ${(100 * acc).toFixed(1)}%  ` +
      `${((2048 / ms) * 1000).toFixed(0)} images/s`);
  }
  console.log(`live tensors: ${live0} before training, ${memory().liveTensors} after (optimizer state adds ${memory().liveTensors - live0})`);
}

main();
