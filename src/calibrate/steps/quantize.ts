/**
 * The quantize step (QuantizeOptions; snnkit's addition, before the walk): the SNN's layers run as an ANN with
 * clipfloor activations and learnt thresholds, trained against the original ANN's logits; each neuron gets its learnt
 * threshold, and the walk's reference becomes this quantized ANN.
 */
import { foldNetwork } from '../../convert/converter.js';
import type { SpikingNeuron } from '../../neurons/neuron.js';
import { noGrad } from '../../tensor/autograd.js';
import { tensor } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { finetune } from '../finetune.js';
import { channelShape, type Walk } from '../walk.js';

/** A threshold of one value or one per channel, viewed to broadcast over x ([N, C, ...]). */
const perChannelView = (V: Tensor, x: Tensor): Tensor => (V.size === 1 ? V : V.view(...channelShape(x)));

/** Quantizes on the samples x, then copies the trained layers into the folded ANN the walk compares with. */
export function quantize(walk: Walk, x: Tensor): void {
  const { snnP, annP, neurons, converted } = walk, q = walk.o.quantize ?? {};
  const V = neurons.map((k, i) => {
    const init = walk.searched?.thresholds[i] ?? (snnP.nodes[k]!.module as SpikingNeuron).vTh;
    return (typeof init === 'number' ? tensor([init]) : Array.isArray(init) ? tensor(init) : init.flatten().clone()).keep().requiresGrad_(true);
  });
  const at = new Map(neurons.map((k, i) => [k, i]));
  const views: number[][] = []; // each neuron's per-channel view shape ([C, 1, ...]), seen in the forward pass
  const params = converted.snn.parameters();
  const teacher = foldNetwork(walk.ann);
  try {
    finetune(teacher, (v) => walk.runQuantized(v, (k, input) => {
      const i = at.get(k)!;
      views[i] ??= channelShape(input);
      return perChannelView(V[i]!, input);
    }), x, q, { epochs: 20, batchSize: 64 }, [{ params, lr: q.lr ?? 5e-4, name: 'weights' }, { params: V, lr: q.thresholdLr ?? 1e-3, min: 1e-6, name: 'thresholds' }]);
  } catch (e) {
    for (const v of V) v.dispose();
    throw e;
  } finally {
    converted.snn.zeroGrad();
    teacher.dispose();
  }
  V.forEach((v, i) => {
    walk.setThreshold(snnP.nodes[neurons[i]!]!.module as SpikingNeuron, v.size === 1 ? v.item() : tidy(() => v.detach().view(...views[i]!).clone()));
    v.dispose();
  });
  walk.tuned = true;
  noGrad(() => annP.nodes.forEach((a, k) => {
    const l = snnP.nodes[k]!.layer;
    if (a.layer && l) {
      a.layer.weight.copy_(l.weight);
      if (a.layer.bias && l.bias) a.layer.bias.copy_(l.bias);
    }
  }));
}
