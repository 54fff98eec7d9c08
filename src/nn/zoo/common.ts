/** Options shared by the model-zoo constructors. */
import type { Generator } from '../../tensor/creation.js';

/** Options of every zoo model. */
export interface ZooOptions {
  /** Output classes (default 10). */
  numClasses?: number;
  /** Input channels (default: 1 for MNIST models, 3 for CIFAR models). */
  inChannels?: number;
  /** Train with a clipped ReLU min(max(x, 0), max) instead of ReLU (METHODS §3); `learnable` makes max a parameter. */
  clipRelu?: { max: number; learnable?: boolean };
  /** ResNets: 'A' (default) subsamples and zero-pads, 'B' projects with a 1×1 convolution and batch norm (He et al. 2016). */
  shortcut?: 'A' | 'B';
  /** Seed the weight initialisation. */
  generator?: Generator;
}
