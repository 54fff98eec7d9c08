// N-MNIST events: every field of hand-made bytes, the overflow marker and the 23-bit wrap, real recordings of
// ../shared/data/nmnist-small, and the typed errors of truncated and corrupt files; frames keep every event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x as tarExtract } from 'tar';
import { data, formats } from '../../src/index.js';
import { errorOf } from '../helpers.js';

/** Encodes events as N-MNIST bytes (the layout of Read_Ndataset.m). */
function encode(events: [x: number, y: number, p: number, t: number][]): Uint8Array {
  return Uint8Array.from(events.flatMap(([x, y, p, t]) => [x, y, (p << 7) | ((t >> 16) & 0x7f), (t >> 8) & 0xff, t & 0xff]));
}

test('hand-made bytes: x, y, the polarity bit and the 23-bit time; overflow markers add 2^13 µs; a wrapped counter adds 2^23', () => {
  const ev = formats.decodeNmnist(encode([[0, 0, 0, 0], [33, 7, 1, 1], [5, 33, 1, 2 ** 23 - 1], [1, 240, 0, 0], [2, 3, 0, 5]]));
  assert.deepEqual([...ev.x], [0, 33, 5, 2]);
  assert.deepEqual([...ev.y], [0, 7, 33, 3]);
  assert.deepEqual([...ev.p], [0, 1, 1, 0]);
  // The marker (y = 240) is dropped and adds 8192 µs to what follows; 5 after 2^23 − 1 is the counter wrapping.
  assert.deepEqual([...ev.t], [0, 1, 2 ** 23 - 1, 2 ** 23 + 2 ** 13 + 5]);
  assert.deepEqual([ev.width, ev.height], [34, 34]);
});

test('truncated and corrupt bytes give FILE_FORMAT errors naming the file and the byte offset', () => {
  const cases: [Uint8Array, RegExp][] = [
    [encode([[1, 1, 0, 0]]).subarray(0, 4), /^N-MNIST events: f\.bin: 4 bytes is not a whole number of 5-byte events: the event at byte 0 is cut short$/],
    [Uint8Array.from([...encode([[1, 1, 0, 0]]), 1, 2]), /7 bytes .* the event at byte 5 is cut short/],
    [encode([[1, 1, 0, 0], [34, 2, 0, 1]]), /the event at byte 5 is at \(34, 2\), outside the 34 × 34 sensor/],
    [encode([[1, 1, 0, 0], [3, 239, 0, 1]]), /the event at byte 5 is at \(3, 239\)/],
    [encode([[1, 1, 0, 10], [2, 2, 0, 9]]), /the event at byte 5 has time 9 µs, before the previous event's 10 µs/],
  ];
  for (const [bytes, msg] of cases) {
    const e = errorOf(() => formats.decodeNmnist(bytes, 'f.bin'));
    assert.equal(e.code, 'FILE_FORMAT');
    assert.match(e.message, msg);
  }
  assert.equal(errorOf(() => formats.readNmnistFile('/nonexistent/x.bin')).code, 'FILE_NOT_FOUND');
  assert.match(errorOf(() => formats.checkEvents({ x: Uint16Array.of(1), y: Uint16Array.of(1), t: Float64Array.of(5, 4), p: Uint8Array.of(1), width: 34, height: 34 })).message,
    /events: argument 't' must be 1 entries, as x/);
});

const archive = join(process.cwd(), '..', 'shared', 'data', 'nmnist-small', 'nmnist-small.tar.gz');
test('real recordings (nmnist-small): event counts, first and last events, polarities as an independent reading gives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'snnkit-nmnist-'));
  await tarExtract({ file: archive, cwd: dir, filter: (p) => /(27\.bs2|tonic_sample_nmnist\.bin)$/.test(p) });
  // Known values from a separate Python reading of Read_Ndataset.m's layout (5 bytes an event, no markers in these files).
  const known = [['27.bs2', 2220, [32, 8, 1, 436], [18, 30, 0, 309094], 1137], ['tonic_sample_nmnist.bin', 4325, [7, 15, 1, 654], [21, 14, 1, 311175], 2145]] as const;
  for (const [name, n, first, last, on] of known) {
    const ev = formats.readNmnistFile(join(dir, 'nmnist-small', name));
    const at = (i: number) => [ev.x[i], ev.y[i], ev.p[i], ev.t[i]];
    assert.equal(ev.x.length, n, name);
    assert.deepEqual([at(0), at(n - 1)], [first, last], name);
    assert.equal(ev.p.reduce((a, b) => a + b, 0), on, name);
    formats.checkEvents(ev);
    for (const by of ['count', 'time'] as const) {
      const frames = data.eventsToFrames(ev, { T: 7, by });
      assert.equal(frames.length, 7 * 2 * 34 * 34);
      assert.equal(frames.reduce((a, b) => a + b, 0), n, `${name} by ${by}: frames sum to the event count`);
      const onSum = Array.from({ length: 7 }, (_, f) => frames.subarray((f * 2 + 1) * 1156, (f * 2 + 2) * 1156).reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
      assert.equal(onSum, on, 'ON events in channel 1');
    }
    const counts = Array.from({ length: 7 }, (_, f) => data.eventsToFrames(ev, { T: 7 }).subarray(f * 2312, (f + 1) * 2312).reduce((a, b) => a + b, 0));
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `equal-count bins: ${counts}`);
  }
});
