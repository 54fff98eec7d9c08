/**
 * The low-precision option of the simulation: every convolution whose input is spikes (from an IF layer, directly or
 * through average pooling) is computed in 8 bits — spike counts as uint8, weights as int8 with one scale per output
 * channel, an exact integer sum scaled once (F.spikeConv, oneDNN's VNNI kernels where the CPU has them). The spikes
 * themselves stay exact; only the weights are rounded, to 8 bits relative to each output channel's largest weight.
 * Convolutions fed by analog values (the first layer), linear layers and everything else stay in float32.
 */
import { SnnkitError } from '../errors.js';
import { quantizeWeight, spikeConv, spikeConvAvailable, spikeCounts } from '../functional/spikeconv.js';
import { pair } from '../functional/nn.js';
import { AvgPool2d, Conv2d, Flatten, Identity } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { toGraph, type GraphNode } from '../nn/graph.js';
import { SeqToANN } from '../neurons/containers.js';
import { IF, SignedIF, SpikingNeuron } from '../neurons/neuron.js';
import { full } from '../tensor/creation.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A Conv2d whose input is spike counts, computed in 8 bits (the int8 weights of unit-scaled float weights).
 * @example
 * const q8 = new convert.SpikeConv2d(conv, full([conv.inChannels], vTh)); // input: IF spikes of amplitude vTh
 */
export class SpikeConv2d extends Module {
  private readonly q: Tensor;
  private readonly scale: Tensor;
  private readonly inv: Tensor;
  private readonly bias: Tensor | undefined;
  readonly stride: [number, number];
  readonly padding: [number, number];
  /**
   * Quantizes the convolution's weights, times the units of its input channels, to int8 per output channel.
   * @param conv the float convolution (groups 1, dilation 1)
   * @param unit what one count of each input channel carries ([C_in]: the spike amplitude over the pooling area)
   */
  constructor(readonly conv: Conv2d, unit: Tensor) {
    super();
    if (!plain(conv)) throw new SnnkitError('SpikeConv2d: only groups 1 and dilation 1', 'INVALID_ARGUMENT');
    const packed = tidy(() => quantizeWeight(conv.weight.detach().mul(unit.reshape(1, conv.inChannels, 1, 1))));
    this.q = packed.q.keep();
    this.scale = packed.scale.keep();
    this.inv = tidy(() => unit.reciprocal().contiguous()).keep();
    this.bias = conv.bias?.detach().contiguous().keep();
    this.stride = pair('SpikeConv2d', 'stride', conv.opts.stride, 1);
    this.padding = pair('SpikeConv2d', 'padding', conv.opts.padding);
  }
  /**
   * The current, in channels-last memory: the IF layer after it (elementwise) and the next 8-bit layer read it as it
   * lies, so that no layer of the 8-bit path transposes its activations (the uint8 kernel takes channels-last only).
   */
  forward(x: Tensor): Tensor {
    const y = spikeConv(spikeCounts(x, this.inv), this.q, this.scale, { stride: this.stride, padding: this.padding });
    return this.bias ? y.add(this.bias.reshape(1, -1, 1, 1)) : y;
  }
  /** The weights the 8-bit convolution computes with, in the float convolution's units (for comparing layer by layer). */
  effectiveWeight(): Tensor {
    return tidy(() => this.q.to('float32').mul(this.scale.reshape(-1, 1, 1, 1)).mul(this.inv.reshape(1, -1, 1, 1)));
  }
  override dispose(): void {
    for (const t of [this.q, this.scale, this.inv, this.bias]) t?.dispose();
    super.dispose();
  }
}

/** A convolution the 8-bit kernel computes: one group, no dilation. */
function plain(conv: Conv2d): boolean {
  const [dh, dw] = pair('SpikeConv2d', 'dilation', conv.opts.dilation, 1);
  return conv.opts.groups === 1 && dh === 1 && dw === 1;
}

/** What produced a value: a spiking layer's spikes with a unit per channel, or something else (analog). */
type Source = { unit: Tensor } | undefined;

/** The unit of one spike of an IF layer, per channel ([C], or a scalar for any C), or undefined for signed spikes. */
function spikeUnit(n: SpikingNeuron): Tensor | undefined {
  if (n instanceof SignedIF || !(n instanceof IF)) return undefined;
  if (n.options.amplitude !== 'threshold') return full([1], 1);
  const th = n.thresholdParam ? n.thresholdParam.clamp(1e-3) : n.vTh;
  return typeof th === 'number' ? full([1], th) : th.detach().flatten();
}

function sourceOf(node: GraphNode, sources: Map<string, Source>): Source {
  const op = node.op instanceof SeqToANN ? node.op.module : node.op;
  const from = sources.get(node.inputs[0] ?? '');
  if (op instanceof SpikingNeuron) {
    const u = spikeUnit(op);
    return u && { unit: u };
  }
  if (op instanceof Identity || op instanceof Flatten || (!(op instanceof Module) && op.type === 'identity')) return from;
  if (op instanceof AvgPool2d && from && !op.opts.padding && op.opts.divisorOverride === undefined) {
    const [kh, kw] = pair('AvgPool2d', 'kernelSize', op.kernelSize, 1);
    return { unit: from.unit.div(kh * kw) };
  }
  return undefined;
}

/**
 * Replaces, in place, every convolution of a converted SNN whose input is IF spikes (directly or through average
 * pooling, flattening or identities) by its 8-bit SpikeConv2d.
 * @param snn a converted or calibrated SNN (convertToSnn, calibrateSnn, loadSnn)
 * @returns the names of the convolutions replaced
 * @throws SnnkitError (UNSUPPORTED_OP) when this build has no 8-bit convolution
 * @example
 * const replaced = convert.quantizeSpikeConvs(snn); // ['layer1.0.conv1', ...]; then simulate as usual
 */
export function quantizeSpikeConvs(snn: Module): string[] {
  if (!spikeConvAvailable()) throw new SnnkitError('quantizeSpikeConvs: this build of the addon has no 8-bit convolution (it needs Debian\'s libdnnl-dev at build time: npm run setup)', 'UNSUPPORTED_OP');
  const g = toGraph(snn), sources = new Map<string, Source>(), replaced: string[] = [];
  noGrad(() => tidy(() => {
    for (const node of g.nodes) {
      const from = sources.get(node.inputs[0] ?? '');
      if (node.op instanceof SeqToANN && node.op.module instanceof Conv2d && from) {
        const conv = node.op.module;
        if (plain(conv)) {
          const unit = from.unit.size === 1 ? from.unit.expand(conv.inChannels) : from.unit;
          if (unit.size === conv.inChannels) {
            const q = new SpikeConv2d(conv, unit.contiguous());
            (node.op as { module: Module }).module = node.op.registerModule('module', q);
            replaced.push(node.name);
          }
        }
      }
      const s = sourceOf(node, sources);
      sources.set(node.name, s && { unit: s.unit.keep() });
    }
    for (const s of sources.values()) s?.unit.dispose();
  }));
  return replaced;
}
