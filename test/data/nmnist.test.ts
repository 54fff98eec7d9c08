// N-MNIST as a data set: the project's nmnist-small archive (list layout) and a hand-made folder in the original
// Train/<digit>/*.bin layout, frames that keep every event, the frame cache, denoising, and the typed errors of bad
// folders, lists and files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { c as tarCreate } from 'tar';
import { data, formats } from '../../src/index.js';
import { errorOf } from '../helpers.js';

/** Encodes events as N-MNIST bytes (the layout of Read_Ndataset.m). */
function encode(events: [x: number, y: number, p: number, t: number][]): Uint8Array {
  return Uint8Array.from(events.flatMap(([x, y, p, t]) => [x, y, (p << 7) | ((t >> 16) & 0x7f), (t >> 8) & 0xff, t & 0xff]));
}
const sum = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0);
const small = join(process.cwd(), '..', 'shared', 'data', 'nmnist-small');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'snnkit-nmnist-ds-'));

test('nmnist-small (a folder holding only the archive): 1000/100 recordings, labels from the lists, frames holding every event, then the cache', async () => {
  const cacheDir = tmp();
  const train = await data.loadDataset('nmnist', { data: small, split: 'train', frames: 4, cacheDir });
  assert.equal(train.length, 1000);
  assert.deepEqual(train.shape, [8, 34, 34]);
  assert.deepEqual([...train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]); // train1K.txt: samples 1..5
  assert.match(train.source[0]!, /nmnist-small\/1\.bs2$/);
  // Sample 27 (index 26) has 2220 events (test/formats/events.test.ts); no pixel of a frame reaches 255 here.
  const per = 8 * 34 * 34;
  const s27 = train.images.subarray(26 * per, 27 * per);
  assert.equal(sum(s27), 2220);
  assert.equal(sum(s27), formats.readNmnistFile(train.source[26]!).x.length);
  // Equal event counts: each of the 4 frames holds 2220/4 = 555 events.
  for (let f = 0; f < 4; f++) assert.equal(sum(s27.subarray(f * 2 * 34 * 34, (f + 1) * 2 * 34 * 34)), 555);
  const test1 = await data.loadDataset('nmnist', { data: join(small, 'nmnist-small.tar.gz'), split: 'test', frames: 4, cacheDir });
  assert.equal(test1.length, 100);
  assert.deepEqual([...test1.labels.subarray(0, 5)], [7, 2, 1, 0, 4]); // test100.txt: samples 60001..60005
  assert.deepEqual(data.labelCounts(test1).reduce((a, b) => a + b, 0), 100);
  const again = await data.loadNmnist(small, 'train', { frames: 4, cacheDir });
  assert.match(again.source[0]!, /events\/nmnist-train-T4-count-[0-9a-f]{12}\.bin$/);
  assert.deepEqual(again.images, train.images);
  assert.deepEqual(again.labels, train.labels);
  // Other options are another cache entry, not a stale hit: binning by time moves events between frames.
  const byTime = await data.loadNmnist(small, 'train', { frames: 4, by: 'time', cacheDir });
  assert.equal(sum(byTime.images.subarray(26 * per, 27 * per)), 2220);
  assert.notDeepEqual(byTime.images.subarray(26 * per, 27 * per), s27);
});

/** Writes an original-layout folder: Train/<digit>/*.bin, Test/<digit>/*.bin. */
function originalLayout(): string {
  const root = join(tmp(), 'NMNIST');
  const files: [string, [number, number, number, number][]][] = [
    ['Train/3/00001.bin', [[1, 2, 1, 10], [2, 2, 0, 20], [3, 3, 1, 30], [4, 4, 1, 40]]],
    ['Train/7/00002.bin', [[0, 0, 0, 5], [33, 33, 1, 6]]],
    ['Test/0/00003.bin', [[5, 5, 1, 100]]],
  ];
  for (const [f, ev] of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), encode(ev));
  }
  return root;
}

test('the original layout Train/<digit>/*.bin, as a folder, its parent and a .tar.gz: labels from the folders, frames by count', async () => {
  const root = originalLayout(), cacheDir = tmp();
  for (const path of [root, dirname(root)]) {
    const ds = await data.loadDataset('nmnist', { data: path, split: 'train', frames: 2, cacheDir, ...(path === root ? {} : { by: 'time' as const }) });
    assert.deepEqual([ds.length, ...ds.shape], [2, 4, 34, 34]);
    assert.deepEqual([...ds.labels], [3, 7]);
    const plane = 34 * 34;
    // Sample 0: events 0,1 in frame 0 (ON at (1,2), OFF at (2,2)), events 2,3 in frame 1 (ON) — by count and by time alike.
    const s0 = ds.images.subarray(0, 4 * plane);
    assert.equal(s0[plane + 2 * 34 + 1], 1);
    assert.equal(s0[2 * 34 + 2], 1);
    assert.equal(s0[3 * plane + 3 * 34 + 3], 1);
    assert.equal(s0[3 * plane + 4 * 34 + 4], 1);
    assert.equal(sum(s0), 4);
  }
  const archive = join(tmp(), 'nmnist.tar.gz');
  await tarCreate({ gzip: true, file: archive, cwd: dirname(root) }, ['NMNIST']);
  const test1 = await data.loadNmnist(archive, 'test', { frames: 1, cacheDir });
  assert.deepEqual([test1.length, ...test1.labels], [1, 0]);
  assert.equal(test1.images[34 * 34 + 5 * 34 + 5], 1);
});

test('denoising drops events with no recent neighbour (the rule of tonic\'s Denoise)', () => {
  const ev = formats.decodeNmnist(encode([[10, 10, 1, 50_000], [11, 10, 1, 55_000], [20, 20, 0, 60_000], [10, 11, 0, 80_000], [11, 10, 1, 100_000]]));
  const kept = data.denoiseEvents(ev, 10_000);
  // (11,10) at 55 ms has (10,10) 5 ms before; (10,11) at 80 ms: (10,10) fired 30 ms before (too old), (11,11) never:
  // dropped; (11,10) at 100 ms: (10,10) old, (11,11) never, (12,10) never, (11,9) never: dropped.
  assert.deepEqual([...kept.t], [55_000]);
  // Every pixel counts as having fired at 0: events in the first window all pass.
  assert.equal(data.denoiseEvents(formats.decodeNmnist(encode([[20, 20, 0, 500]])), 10_000).x.length, 1);
  assert.equal(errorOf(() => data.denoiseEvents(ev, 0)).code, 'INVALID_ARGUMENT');
});

test('bad folders, lists, recordings and options give typed errors naming the file and what was expected', async () => {
  const cacheDir = tmp();
  const load = async (path: string, o: Record<string, unknown> = {}): Promise<{ code: string; message: string }> => {
    try { await data.loadDataset('nmnist', { data: path, split: 'train', cacheDir, ...o }); } catch (x) { return x as { code: string; message: string }; }
    return assert.fail(`loading ${path} with ${JSON.stringify(o)} succeeded`);
  };
  const dir = tmp();
  writeFileSync(join(dir, 'train.txt'), '#sample #class\n1\t3\n2\t4\n');
  writeFileSync(join(dir, '1.bs2'), encode([[1, 1, 0, 0]]));
  let e = await load(dir);
  assert.equal(e.code, 'FILE_NOT_FOUND');
  assert.match(e.message, /train\.txt: line 3 names sample '2', but .*\/2\.bs2 \(or \.bin\) does not exist/);
  writeFileSync(join(dir, '2.bs2'), encode([[1, 1, 0, 0]]).subarray(0, 3));
  e = await load(dir);
  assert.equal(e.code, 'FILE_FORMAT');
  assert.match(e.message, /2\.bs2: 3 bytes is not a whole number of 5-byte events: the event at byte 0 is cut short/);
  writeFileSync(join(dir, 'train.txt'), '#sample #class\n1\t12\n');
  e = await load(dir);
  assert.match(e.message, /train\.txt: line 2 is '1\t12'; expected "sample class" with a class 0\.\.9/);
  const empty = tmp();
  e = await load(empty);
  assert.equal(e.code, 'FILE_FORMAT');
  assert.match(e.message, /holds no N-MNIST train split: expected Train\/<digit>\/\*\.bin/);
  mkdirSync(join(empty, 'Train', 'ten'), { recursive: true });
  e = await load(empty);
  assert.match(e.message, /Train: holds folders \[ten\]; expected the digit folders 0\.\.9/);
  for (const bad of [{ frames: 0 }, { frames: 1.5 }, { by: 'events' }, { denoise: -1 }]) {
    e = await load(small, bad);
    assert.equal(e.code, 'INVALID_ARGUMENT', JSON.stringify(bad));
  }
  e = await load(join(small, 'missing'));
  assert.equal(e.code, 'FILE_NOT_FOUND');
});
