import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nn, convert, data, neurons, cat, tidy } from '../../src/index.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { assertClose } from '../helpers.js';

const shared = join(process.cwd(), '..', 'shared');
const model = join(shared, 'models/cifar10-resnet20/cifar10-resnet20.safetensors');
const exact = join(shared, 'data/cifar10-exact-subset');

test('simulation in any chunk of steps gives the same spikes on the converted ResNet-20 (the default chunk is an exact speed-up)', { skip: !existsSync(model) && 'no ../shared' }, async () => {
  const ck = loadCheckpoint(model);
  const ann = nn.createModel('cifar-resnet20');
  ann.loadStateDict(ck.weights);
  const norm = [data.normalize(ck.meta.mean as number[], ck.meta.std as number[])];
  ck.dispose();
  const loader = (file: string, n: number) => new data.DataLoader(data.loadCifar10Binary(join(exact, file), 'test'), { batchSize: n, transforms: norm, workers: 0 });
  const { snn } = await convert.convertToSnn(ann, { calibration: loader('train_first4000.bin', 64), samples: 64, shift: 'potential' });
  const run = async (chunk: number | undefined) => {
    const mon = new neurons.SpikeMonitor(snn, { recordSpikes: true });
    const r = await convert.simulate(snn, loader('test_first1000.bin', 12), { T: [4, 8], limit: 12, keepOutputs: true, ...(chunk ? { chunk } : {}) });
    const spikes = new Map(mon.layers().map((l) => [l, cat(mon.records(l).spikes.map((s) => s.reshape(-1))).keep()]));
    mon.detach();
    return { r, spikes };
  };
  const [a, b, c] = [await run(8), await run(3), await run(undefined)];
  assert.equal(a.spikes.size, 19);
  for (const other of [b, c]) {
    for (const [layer, s] of a.spikes) assert.equal(tidy(() => s.ne(other.spikes.get(layer)!).sum().item()), 0, `${layer}: the same spikes in every chunking`);
    assert.deepEqual(other.r.accuracy, a.r.accuracy);
    // the outputs differ only by the last layer's rounding (OpenBLAS blocks a matrix product by its row count)
    assertClose(Array.from(other.r.outputs!), Array.from(a.r.outputs!), 1e-5, 1e-3);
  }
  assert.ok([...a.spikes.values()].some((s) => tidy(() => s.ne(0).any().item()) === 1), 'the network spikes');
  for (const x of [a, b, c]) for (const s of x.spikes.values()) s.dispose();
});
