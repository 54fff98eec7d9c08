/** The model zoo: architectures by name, as the CLI's --arch takes them. */
import { invalidArg } from '../../errors.js';
import type { Module } from '../module.js';
import type { ZooOptions } from './common.js';
import { mnistCnn } from './mnist.js';
import { CifarResNet } from './resnet.js';
import { cifarVgg16 } from './vgg.js';

export type { ZooOptions } from './common.js';
export { mnistCnn } from './mnist.js';
export { cifarVgg16 } from './vgg.js';
export { CifarResNet, BasicBlock, OptionAShortcut } from './resnet.js';

/** What a zoo entry is made for. */
export interface ZooEntry {
  /** Builds the model with fresh weights. */
  create: (opts?: ZooOptions) => Module;
  /** Input [C, H, W]. */
  inputShape: [number, number, number];
  description: string;
}

/** Every architecture, by name. */
export const ZOO: Readonly<Record<string, ZooEntry>> = {
  'mnist-cnn': { create: mnistCnn, inputShape: [1, 28, 28], description: 'MNIST/Fashion-MNIST CNN: 3 convs 32-64-128 with BN, avg pooling, linear head' },
  'nmnist-cnn': { create: (o) => mnistCnn({ inChannels: 2, ...o }, 34), inputShape: [2, 34, 34],
    description: 'the MNIST CNN for N-MNIST event frames summed over time (--frames 1), 2×34×34 event counts' },
  'cifar-vgg16': { create: cifarVgg16, inputShape: [3, 32, 32], description: 'VGG-16 with BN and average pooling, 4096-4096 classifier' },
  'cifar-resnet20': { create: (o) => new CifarResNet(3, o), inputShape: [3, 32, 32], description: 'He et al. ResNet-20 (16/32/64 channels, option A)' },
  'cifar-resnet32': { create: (o) => new CifarResNet(5, o), inputShape: [3, 32, 32], description: 'He et al. ResNet-32' },
  'cifar-resnet44': { create: (o) => new CifarResNet(7, o), inputShape: [3, 32, 32], description: 'He et al. ResNet-44' },
  'cifar-resnet56': { create: (o) => new CifarResNet(9, o), inputShape: [3, 32, 32], description: 'He et al. ResNet-56' },
};

/** The valid architecture names. */
export const MODEL_NAMES = Object.keys(ZOO);

/**
 * Creates a zoo model by name.
 * @param name one of MODEL_NAMES
 * @param opts classes, input channels, clipped ReLU, seed
 * @returns a new model in training mode
 * @throws SnnkitError listing the valid names when `name` is unknown
 * @example
 * const net = createModel('cifar-resnet20'); net.loadStateDict(weights);
 */
export function createModel(name: string, opts: ZooOptions = {}): Module {
  const entry = ZOO[name];
  if (!entry) throw invalidArg('createModel', 'arch', `one of ${MODEL_NAMES.join(', ')}`, name);
  return entry.create(opts);
}
