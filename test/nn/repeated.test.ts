// Layers reading a direct-encoded input (T identical copies folded into the batch) compute once and repeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, memory, neurons, nn, randn, tidy, type Tensor } from '../../src/index.js';

const grads = (m: nn.Module): Tensor[] => m.parameters().map((p) => p.grad!.clone());

test('direct encoding: the first conv runs once per image, with the outputs and gradients of running it T times', () => {
  tidy(() => {
    const T = 3;
    const snn = neurons.createSpikingModel('snn-mnist-cnn', { T, generator: new Generator(1) }).to('float64');
    const x = randn([4, 1, 28, 28], { dtype: 'float64', generator: new Generator(2) }).mul(2);
    const y = randn([T, 4, 10], { dtype: 'float64', generator: new Generator(3) });
    // Reference: the folded body on the T explicit copies, without the classifier's declaration.
    const body = (h: Tensor) => { snn.resetMemories(); const out = snn.children().reduce((a, m) => m.forward(a), h); snn.resetMemories(); return out; };
    const ref = body(snn.encode(x)).reshape(T, 4, 10);
    ref.mul(y).sum().backward();
    const refGrads = grads(snn);
    snn.zeroGrad();
    const out = snn.forwardSteps(x);
    out.mul(y).sum().backward();
    assert.ok(out.sub(ref).abs().max().item() < 1e-12, 'the same outputs');
    for (const [i, g] of grads(snn).entries()) assert.ok(g.sub(refGrads[i]!).abs().max().item() < 1e-10, `the same gradient of ${snn.namedParameters()[i]![0]}`);
  });
});

test('perSample computes on one block only for the declared tensor, and repeats it', () => {
  tidy(() => {
    const x = randn([2, 3], { generator: new Generator(4) }).repeat(3, 1), other = x.clone();
    const seen: number[] = [];
    const layer = (h: Tensor) => { seen.push(h.shape[0]!); return h.mul(2); };
    const [a, b, c] = nn.withRepeatedInput(x, 3, () => [nn.perSample(x, layer), nn.perSample(other, layer), nn.perSample(x.clone(), layer)]);
    assert.deepEqual(seen, [2, 6, 6], 'one block of the declared input; all rows of any other tensor');
    assert.deepEqual(a!.toArray(), x.mul(2).toArray());
    assert.deepEqual(b!.toArray(), c!.toArray());
    nn.perSample(x, layer);
    assert.equal(seen.at(-1), 6, 'the declaration ends with the call');
  });
});

test('direct encoding keeps one copy of the first layer for backward instead of T', () => {
  tidy(() => {
    const T = 3, N = 4;
    const make = (encoding: 'direct' | 'sequence') => neurons.createSpikingModel('snn-mnist-cnn', { T, encoding, generator: new Generator(1) }).to('float64');
    const direct = make('direct'), seq = make('sequence');
    const x = randn([N, 1, 28, 28], { dtype: 'float64', generator: new Generator(2) }).mul(2);
    // The same network on the T copies given as a sequence: nothing is declared repeated, everything runs T times.
    const grown = (f: () => Tensor): [number, Tensor] => { const m0 = memory().allocatedBytes; const y = f(); return [memory().allocatedBytes - m0, y]; };
    const [dBytes, dOut] = grown(() => direct.forwardSteps(x));
    const [sBytes, sOut] = grown(() => seq.forwardSteps(x.unsqueeze(1).expand(N, T, 1, 28, 28).contiguous()));
    assert.ok(dOut.sub(sOut).abs().max().item() < 1e-12);
    const block = N * 128 * 28 * 28 * 8; // the first batch norm's input, one step, float64
    assert.ok(sBytes - dBytes >= 0.9 * (T - 1) * block, `kept ${(sBytes - dBytes) / 2 ** 20} MB less, expected ${(T - 1) * block / 2 ** 20}`);
  });
});
