/** The MNIST CNN: three 3×3 convolutions with batch norm, ReLU and average pooling, and a linear head. */
import { activation } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { AvgPool2d, Conv2d, Flatten, Linear } from '../layers.js';
import { Sequential } from '../sequential.js';
import type { ZooOptions } from './common.js';

/**
 * `mnist-cnn`: [conv3×3 32, BN, ReLU, avgpool 2] → [conv3×3 64, BN, ReLU, avgpool 2] → [conv3×3 128, BN, ReLU,
 * avgpool 2] → flatten → linear 10, for 1×28×28 inputs (28 → 14 → 7 → 3), or `size`×`size` ones. Convolutions without
 * bias (batch norm follows); average pooling, so the converted SNN pools spikes linearly. Parameter names:
 * `features.N.*`, `classifier.*`. `nmnist-cnn` is the same for 2×34×34 event frames (34 → 17 → 8 → 4).
 * @param size the input's height and width (default 28)
 * @returns the model (0.10 M parameters)
 * @example
 * const net = nn.zoo.mnistCnn({ numClasses: 10, generator: new Generator(0) }); // as createModel('mnist-cnn', ...)
 */
export function mnistCnn(opts: ZooOptions = {}, size = 28): Sequential {
  const g = opts.generator;
  const c = [opts.inChannels ?? 1, 32, 64, 128];
  const layers = [];
  for (let i = 0; i < 3; i++) {
    layers.push(new Conv2d(c[i]!, c[i + 1]!, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(c[i + 1]!),
      activation(opts.clipRelu, opts.activation), new AvgPool2d(2));
  }
  return new Sequential({
    features: new Sequential(...layers),
    flatten: new Flatten(),
    classifier: new Linear(128 * (size >> 3) ** 2, opts.numClasses ?? 10, { generator: g }),
  });
}
