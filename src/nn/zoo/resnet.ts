/**
 * The CIFAR ResNets of He et al. 2016 (§4.2): 16/32/64 channels, three stages of n basic blocks (depth 6n + 2),
 * option-A shortcuts. Parameter names match Y. Idelbayev's PyTorch implementation, so its checkpoints (and
 * ../shared/models/cifar10-resnet20) load with strict: true.
 */
import { activation } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { AdaptiveAvgPool2d, Conv2d, Flatten, Identity, Linear } from '../layers.js';
import { Module } from '../module.js';
import { Sequential } from '../sequential.js';
import { invalidArg } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ZooOptions } from './common.js';

/**
 * He et al.'s option-A shortcut: subsample by 2 (`x[:, :, ::2, ::2]`) and zero-pad the new channels, half before and
 * half after. No parameters.
 */
export class OptionAShortcut extends Module {
  /**
   * @param extraChannels channels added (split evenly before and after)
   * @example new nn.zoo.OptionAShortcut(16) // [N, 16, 32, 32] → [N, 32, 16, 16]
   */
  constructor(readonly extraChannels: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    const half = this.extraChannels / 2;
    return x.slice(2, 0, undefined, 2).slice(3, 0, undefined, 2).pad([0, 0, 0, 0, Math.floor(half), Math.ceil(half)]);
  }
  protected override extraRepr(): string {
    return `+${this.extraChannels} channels, stride 2`;
  }
}

/** conv-BN-ReLU-conv-BN, plus the shortcut, then ReLU. Children: conv1, bn1, relu1, conv2, bn2, shortcut, relu2. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu1: Module;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Module;
  readonly relu2: Module;
  /**
   * @param inPlanes input channels
   * @param planes output channels
   * @param stride 1, or 2 to halve the resolution (then the shortcut is option A)
   * @example new nn.zoo.BasicBlock(16, 32, 2, {}) // [N, 16, 32, 32] → [N, 32, 16, 16]
   */
  constructor(inPlanes: number, planes: number, stride: number, opts: ZooOptions) {
    super();
    const g = opts.generator;
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false, generator: g }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu1 = this.registerModule('relu1', activation(opts.clipRelu, opts.activation));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, generator: g }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    const kind = opts.shortcut ?? 'A';
    if (kind !== 'A' && kind !== 'B') throw invalidArg('CifarResNet', 'shortcut', "'A' or 'B'", kind);
    const project = stride !== 1 || inPlanes !== planes;
    this.shortcut = this.registerModule('shortcut', !project ? new Identity() : kind === 'A' ? new OptionAShortcut(planes - inPlanes)
      : new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false, generator: g }), new BatchNorm2d(planes)));
    this.relu2 = this.registerModule('relu2', activation(opts.clipRelu, opts.activation));
  }
  forward(x: Tensor): Tensor {
    const y = this.bn2.forward(this.conv2.forward(this.relu1.forward(this.bn1.forward(this.conv1.forward(x)))));
    return this.relu2.forward(y.add(this.shortcut.forward(x)));
  }
}

/** A CIFAR ResNet of depth 6n + 2. Children: conv1, bn1, relu, layer1..3 (Sequential of blocks), pool, flatten, linear. */
export class CifarResNet extends Module {
  readonly depth: number;
  private readonly stem: Module[];
  private readonly stages: Sequential[];
  private readonly head: Module[];
  /**
   * @param blocksPerStage n (3 → ResNet-20, 5 → 32, 7 → 44, 9 → 56)
   * @param opts zoo options
   * @example new nn.zoo.CifarResNet(3) // ResNet-20, as createModel('cifar-resnet20')
   */
  constructor(blocksPerStage: number, opts: ZooOptions = {}) {
    super();
    this.depth = 6 * blocksPerStage + 2;
    const g = opts.generator;
    this.stem = [
      this.registerModule('conv1', new Conv2d(opts.inChannels ?? 3, 16, 3, { padding: 1, bias: false, generator: g })),
      this.registerModule('bn1', new BatchNorm2d(16)),
      this.registerModule('relu', activation(opts.clipRelu, opts.activation)),
    ];
    let inPlanes = 16;
    this.stages = [16, 32, 64].map((planes, s) => {
      const blocks = [];
      for (let b = 0; b < blocksPerStage; b++) {
        blocks.push(new BasicBlock(inPlanes, planes, s > 0 && b === 0 ? 2 : 1, opts));
        inPlanes = planes;
      }
      return this.registerModule(`layer${s + 1}`, new Sequential(...blocks));
    });
    this.head = [
      this.registerModule('pool', new AdaptiveAvgPool2d(1)),
      this.registerModule('flatten', new Flatten()),
      this.registerModule('linear', new Linear(64, opts.numClasses ?? 10, { generator: g })),
    ];
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of [...this.stem, ...this.stages, ...this.head]) y = m.forward(y);
    return y;
  }
  protected override extraRepr(): string {
    return `depth=${this.depth}`;
  }
}
