/** VGG-16 for CIFAR with average pooling, as in the conversion papers. */
import { activation } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { AvgPool2d, Conv2d, Dropout, Flatten, Linear } from '../layers.js';
import type { Module } from '../module.js';
import { Sequential } from '../sequential.js';
import type { ZooOptions } from './common.js';

const CFG: (number | 'P')[] = [64, 64, 'P', 128, 128, 'P', 256, 256, 256, 'P', 512, 512, 512, 'P', 512, 512, 512, 'P'];

/**
 * `cifar-vgg16`: 13 conv3×3 layers (64-64-P-128-128-P-256×3-P-512×3-P-512×3-P, batch norm after each, average
 * pooling P instead of max pooling) → flatten → linear 512→4096 → ReLU → dropout → 4096→4096 → ReLU → dropout →
 * 4096→classes, for 3×32×32 inputs. Names: `features.N.*` (as torchvision's VGG), `classifier.N.*`.
 * @param opts zoo options; `dropout` (default 0.5) for the classifier
 * @returns the model (33.6 M parameters)
 * @example
 * const net = nn.zoo.cifarVgg16({ numClasses: 100, dropout: 0.3 });
 */
export function cifarVgg16(opts: ZooOptions & { dropout?: number } = {}): Sequential {
  const g = opts.generator;
  const features: Module[] = [];
  let c = opts.inChannels ?? 3;
  for (const v of CFG) {
    if (v === 'P') features.push(new AvgPool2d(2));
    else {
      features.push(new Conv2d(c, v, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(v), activation(opts.clipRelu, opts.activation));
      c = v;
    }
  }
  const p = opts.dropout ?? 0.5;
  return new Sequential({
    features: new Sequential(...features),
    flatten: new Flatten(),
    classifier: new Sequential(
      new Linear(512, 4096, { generator: g }), activation(opts.clipRelu, opts.activation), new Dropout(p),
      new Linear(4096, 4096, { generator: g }), activation(opts.clipRelu, opts.activation), new Dropout(p),
      new Linear(4096, opts.numClasses ?? 10, { generator: g }),
    ),
  });
}
