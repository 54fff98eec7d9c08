// Helpers of the in-memory data sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundRobinByClass } from '../../src/data/dataset.js';

test('round-robin by class: one sample of each class in turn, classes that run out dropping out, stable within a class', () => {
  assert.deepEqual(roundRobinByClass([0, 0, 0, 1, 1, 2]), [0, 3, 5, 1, 4, 2]);
  assert.deepEqual(roundRobinByClass([2, 0, 2, 0]), [1, 0, 3, 2], 'classes in label order, samples in stored order');
  assert.deepEqual(roundRobinByClass([]), []);
  // A sorted 10-class set of 100 a class: every tenth of the result holds 10 of each class.
  const sorted = Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100));
  const order = roundRobinByClass(sorted);
  assert.deepEqual([...order].sort((a, b) => a - b), sorted.map((_, i) => i), 'a permutation');
  for (let part = 0; part < 10; part++) {
    const counts = new Array<number>(10).fill(0);
    for (const i of order.slice(part * 100, (part + 1) * 100)) counts[sorted[i]!]!++;
    assert.deepEqual(counts, new Array(10).fill(10), `tenth ${part}`);
  }
});
