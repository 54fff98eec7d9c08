import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { execFileSync } from 'node:child_process';
import { tensor, randn, tidy, dispose, memory, noGrad, F, Generator, SnnkitError, zeros } from '../../src/index.js';

test('tidy frees everything created inside except what it returns', () => {
  const before = memory().liveTensors;
  const kept = tidy(() => {
    const a = randn([10, 10]);
    const b = a.mul(2).add(1);
    return { out: b.sum(), list: [b.mean()] };
  });
  assert.equal(memory().liveTensors, before + 2);
  dispose(kept);
  assert.equal(memory().liveTensors, before);
});

test('nested tidy moves returned tensors to the enclosing scope; keep() survives all scopes', () => {
  const before = memory().liveTensors;
  let survivor = zeros([1]);
  tidy(() => {
    const inner = tidy(() => randn([3]).mul(2));
    assert.equal(inner.isDisposed, false);
    survivor = randn([2]).keep();
  });
  assert.equal(memory().liveTensors, before + 2); // zeros([1]) created outside, and the kept one
  assert.equal(survivor.isDisposed, false);
  survivor.dispose();
});

test('tidy disposes on throw and rejects async functions', () => {
  const before = memory().liveTensors;
  assert.throws(() => tidy(() => { randn([4]); throw new Error('inside'); }), /inside/);
  assert.equal(memory().liveTensors, before);
  assert.throws(() => tidy(() => Promise.resolve(1) as never), /tidy: the function returned a Promise/);
});

test('dispose is idempotent and a disposed tensor cannot be used', () => {
  const a = tensor([1, 2]);
  a.dispose();
  a.dispose();
  assert.equal(a.isDisposed, true);
  assert.throws(() => a.add(1), (e: SnnkitError) => e.code === 'DISPOSED' && /^binary: argument 1 is a tensor that was already disposed/.test(e.message));
  assert.equal(a.describe(), 'disposed tensor');
});

test('memory() reports bytes and the caching allocator reuses blocks', () => {
  const m0 = memory();
  assert.equal(m0.allocator, 'caching');
  const t = zeros([1024, 1024]);
  assert.equal(memory().liveBytes - m0.liveBytes, 4 * 1024 * 1024);
  t.dispose();
  const hits = memory().cacheHits;
  zeros([1024, 1024]).dispose();
  assert.equal(memory().cacheHits, hits + 1);
});

test('leak test: 10,000 training steps keep the live-tensor count constant and RSS within 10%', () => {
  const g = new Generator(0);
  const w = randn([16, 32], { generator: g }).mul(0.1).requiresGrad_(true).keep();
  const b = zeros([16]).requiresGrad_(true).keep();
  const x = randn([8, 32], { generator: g }).keep();
  const y = tensor([0, 1, 2, 3, 4, 5, 6, 7], { dtype: 'int64' }).keep();
  const step = () => tidy(() => {
    const loss = F.crossEntropy(F.linear(x, w, b).relu(), y);
    loss.backward();
    noGrad(() => {
      for (const p of [w, b]) {
        const gr = p.grad!;
        p.sub_(gr, 0.01);
      }
    });
    w.grad = undefined;
    b.grad = undefined;
    return loss.item();
  });
  for (let i = 0; i < 1000; i++) step();
  const live0 = memory().liveTensors;
  const rss0 = process.memoryUsage().rss;
  let first = 0, last = 0;
  for (let i = 0; i < 10000; i++) {
    const l = step();
    if (i === 0) first = l;
    last = l;
  }
  const rss1 = process.memoryUsage().rss;
  assert.equal(memory().liveTensors, live0);
  assert.ok(rss1 <= rss0 * 1.1, `RSS grew from ${(rss0 / 2 ** 20).toFixed(1)} MiB to ${(rss1 / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(last < first, `the loss should fall (${first} -> ${last}), proving the steps did work`);
  dispose([w, b, x, y]);
});

test('a tensor dropped without dispose() is freed by the GC backstop once the event loop turns', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await settle(); // let garbage from earlier tests go first
  const before = memory();
  (() => {
    randn([256, 256]); // created outside any scope and never disposed
  })();
  assert.equal(memory().liveTensors, before.liveTensors + 1);
  for (let i = 0; i < 10 && memory().liveTensors > before.liveTensors; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(memory().liveTensors, before.liveTensors);
  assert.equal(memory().collectedByGc, before.collectedByGc + 1);
});

test('the caching allocator serves a request from a larger freed block (best fit, split), and resets its peak on demand', () => {
  // In a fresh process, so that no earlier test left free blocks.
  const index = new URL('../../src/index.js', import.meta.url).href;
  const code = `
    import { memory, resetPeakMemory, tidy, zeros } from '${index}';
    const MB = 2 ** 20;
    // 12 blocks of 8 MB, freed (cached); then 12 blocks of 6 MB: each takes a freed 8 MB block, split.
    tidy(() => { Array.from({ length: 12 }, () => zeros([2 * MB])); });
    const high = memory().peakBytes, cachedBefore = memory().cachedBytes;
    const kept = Array.from({ length: 12 }, () => zeros([1.5 * MB]));
    const m = memory();
    resetPeakMemory();
    console.log(JSON.stringify({ high, cachedBefore, allocator: m.allocator, live: m.allocatedBytes, cached: m.cachedBytes, peak: m.peakBytes, resetPeak: memory().peakBytes, resetLive: memory().allocatedBytes }));`;
  const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).trim().split('\n').at(-1)!);
  assert.equal(r.allocator, 'caching');
  assert.ok(r.cachedBefore >= 96 * 2 ** 20, 'the freed 8 MB blocks were cached');
  assert.ok(r.live + r.cached <= r.high, `live ${r.live} + cached ${r.cached} bytes exceed the live peak ${r.high}`);
  assert.equal(r.cached, r.cachedBefore - r.live, 'no new memory: the 6 MB blocks were cut from the freed ones');
  assert.equal(r.resetPeak, r.resetLive);
});
