// Pictures of event frames and spike maps: sizes, the colour of a hand-placed event, white where a neuron fired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { eventFramesPng, spikeMapsPng } from '../../src/report/events.js';

const pixels = async (png: Buffer) => {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { at: (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)], info };
};

test('event frames: one cell a frame, ON red and OFF blue at the event\'s pixel, each sample scaled to its peak', async () => {
  // T = 2 frames of 3 × 4: an ON event at (x 1, y 2) in frame 0 (count 2), an OFF event at (x 3, y 0) in frame 1 (count 1).
  const s = new Uint8Array(2 * 2 * 12);
  s[1 * 12 + 2 * 4 + 1] = 2;
  s[2 * 12 + 0 * 4 + 3] = 1;
  const { at, info } = await pixels(await eventFramesPng([s, s], [2, 3, 4], { scale: 2, gap: 1 }));
  assert.deepEqual([info.width, info.height], [2 * (4 * 2 + 1) + 1, 2 * (3 * 2 + 1) + 1]);
  const cell = (col: number, x: number, y: number) => at(1 + col * 9 + 2 * x, 1 + 2 * y);
  assert.deepEqual(cell(0, 1, 2), [255, 0, 0], 'the ON event at its peak count');
  assert.deepEqual(cell(1, 3, 0), [0, 0, 128], 'the OFF event, half the peak');
  assert.deepEqual(cell(0, 0, 0), [0, 0, 0]);
  assert.deepEqual(at(0, 0), [96, 96, 96], 'the gap');
  await assert.rejects(eventFramesPng([new Uint8Array(5)], [2, 3, 4]), /samples\[0\]' must be 48 counts/);
});

test('spike maps: one row a channel, one column a step, white where a neuron fired', async () => {
  const spikes = new Float32Array(2 * 3 * 2 * 2); // [T 2, C 3, H 2, W 2]
  spikes[(1 * 3 + 2) * 4 + 3] = 0.7; // step 1, channel 2, pixel (1, 1): a spike carrying its threshold
  const { at, info } = await pixels(await spikeMapsPng(spikes, [2, 3, 2, 2], 3, { scale: 1, gap: 1 }));
  assert.deepEqual([info.width, info.height], [2 * 3 + 1, 3 * 3 + 1]);
  assert.deepEqual(at(1 + 3 + 1, 1 + 2 * 3 + 1), [255, 255, 255]);
  assert.deepEqual(at(1 + 1, 1 + 2 * 3 + 1), [0, 0, 0], 'the same neuron at step 0');
  const two = await pixels(await spikeMapsPng(spikes, [2, 3, 2, 2], 2, { scale: 1, gap: 1 }));
  assert.equal(two.info.height, 2 * 3 + 1, 'only the first two channels');
});
