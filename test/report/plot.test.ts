import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { barChart, lineChart, writeTrainingCurves } from '../../src/report/plot.js';

test('lineChart renders every series as an SVG path with its title and axis labels', async () => {
  const svg = await lineChart([{ name: 'alpha', points: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }, { name: 'beta', points: [{ x: 1, y: 1 }, { x: 2, y: 5 }] }],
    { title: 'My chart', xLabel: 'steps T', yLabel: 'accuracy' });
  assert.match(svg, /^<svg /);
  for (const text of ['My chart', 'steps T', 'accuracy', 'alpha', 'beta']) assert.ok(svg.includes(text), `missing '${text}'`);
  assert.equal((svg.match(/<path [^>]*class="[^"]*"|aria-roledescription="line mark"/g) ?? []).length >= 2, true);
});

test('writeTrainingCurves writes one SVG with an accuracy and a loss chart', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'snnkit-plot-')), 'curves.svg');
  const h = [1, 2, 3].map((e) => ({ epoch: e, trainLoss: 1 / e, testLoss: 1.2 / e, trainAccuracy: 0.5 + e / 10, testAccuracy: 0.45 + e / 10 }));
  await writeTrainingCurves(path, h, 'demo');
  const svg = readFileSync(path, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+">/);
  assert.ok(svg.includes('demo accuracy') && svg.includes('demo loss'));
});

test('barChart renders one bar per value, with categories and series named', async () => {
  const svg = await barChart([{ category: 'fwd', series: 'a', value: 1 }, { category: 'fwd', series: 'b', value: 3 }, { category: 'bwd', series: 'a', value: 2 }], { yLabel: 'ms' });
  for (const text of ['fwd', 'bwd', 'ms']) assert.ok(svg.includes(text), `missing '${text}'`);
  assert.equal((svg.match(/aria-roledescription="bar"/g) ?? []).length, 3);
});
