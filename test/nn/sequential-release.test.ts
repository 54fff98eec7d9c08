import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, memory, nn, randn, tidy } from '../../src/index.js';

test('Sequential.releaseIntermediates: same outputs and gradients, fewer live tensors after forward', () => {
  const make = () => new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1, generator: new Generator(1) }), new nn.BatchNorm2d(4), new nn.ReLU(),
    new nn.Flatten(), new nn.Identity(), new nn.Linear(4 * 5 * 5, 3, { generator: new Generator(2) }));
  const x = randn([6, 2, 5, 5], { generator: new Generator(3) }).keep();
  const run = (release: boolean) => tidy(() => {
    const net = make();
    net.releaseIntermediates = release;
    const before = memory().liveTensors;
    const y = net.forward(x);
    const live = memory().liveTensors - before;
    y.square().sum().backward();
    return { y: y.toArray(), g: net.parameters().map((p) => p.grad!.toArray()), live };
  });
  const a = run(false), b = run(true);
  assert.deepEqual(b.y, a.y);
  assert.deepEqual(b.g, a.g);
  assert.ok(b.live < a.live, `live tensors after forward: ${b.live} released vs ${a.live} kept`);
  x.dispose();
});
