/** Options shared by the model-zoo constructors. */
import type { Generator } from '../../tensor/creation.js';

import type { Module } from '../module.js';

/** Options of every zoo model. */
export interface ZooOptions {
  /** Output classes (default 10). */
  numClasses?: number;
  /** Input channels (default: 1 for MNIST models, 3 for CIFAR models). */
  inChannels?: number;
  /** Train with a clipped ReLU min(max(x, 0), max) instead of ReLU (docs/methods.md §3); `learnable` makes max a parameter. */
  clipRelu?: { max: number; learnable?: boolean };
  /** ResNets: 'A' (default) subsamples and zero-pads, 'B' projects with a 1×1 convolution and batch norm (He et al. 2016). */
  shortcut?: 'A' | 'B';
  /**
   * Makes each activation module in place of ReLU (one call per activation, in network order). The spiking zoo passes
   * a neuron factory here, so a spiking network keeps its ANN's layout and parameter names.
   */
  activation?: () => Module;
  /** Seed the weight initialisation. */
  generator?: Generator;
}
