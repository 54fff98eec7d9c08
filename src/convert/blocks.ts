/** Converted building blocks: a residual block in which the shortcut adds into the membrane of the last neuron. */
import { childPath, type GraphComposite, type GraphLowering } from '../nn/graph.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * act2(conv2(act1(conv1(x))) + shortcut(x)). In a converted SNN the convolutions are folded and time-folded, the
 * activations are IF neurons and x is the spike train entering the block, so the shortcut's spikes add into the
 * input current (the membrane) of the neuron after the block (*ref* SpikeResModule). During statistics collection
 * the same block runs with ANN activations.
 * @example
 * const { snn } = await convert.convertToSnn(nn.createModel('cifar-resnet20'), { calibration: trainLoader });
 * const blocks = snn.modules().filter((m) => m instanceof convert.ResidualBlock); // one per BasicBlock
 */
export class ResidualBlock extends Module implements GraphComposite {
  readonly conv1: Module;
  readonly act1: Module;
  readonly conv2: Module;
  readonly shortcut: Module;
  readonly act2: Module;
  /** Registers the five parts as child modules, under their own names. */
  constructor(parts: { conv1: Module; act1: Module; conv2: Module; shortcut: Module; act2: Module }) {
    super();
    this.conv1 = this.registerModule('conv1', parts.conv1);
    this.act1 = this.registerModule('act1', parts.act1);
    this.conv2 = this.registerModule('conv2', parts.conv2);
    this.shortcut = this.registerModule('shortcut', parts.shortcut);
    this.act2 = this.registerModule('act2', parts.act2);
  }
  /** Lists conv1, act1, conv2, the shortcut, `${name}.add` (main + shortcut) and act2. */
  toNodes(input: string, name: string, g: GraphLowering): string {
    const at = (part: string): string => childPath(name, part);
    const main = g.lower(this.conv2, g.lower(this.act1, g.lower(this.conv1, input, at('conv1')), at('act1')), at('conv2'));
    const add = g.emit({ name: at('add'), op: { type: 'add' }, inputs: [main, g.lower(this.shortcut, input, at('shortcut'))] });
    return g.lower(this.act2, add, at('act2'));
  }
  forward(x: Tensor): Tensor {
    return this.act2.forward(this.conv2.forward(this.act1.forward(this.conv1.forward(x))).add(this.shortcut.forward(x)));
  }
}
