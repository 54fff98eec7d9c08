/** Batch-norm folding: conv/linear followed by batch norm (eval mode) becomes one conv/linear with a bias. */
import { SnnkitError } from '../errors.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Conv2d, Linear } from '../nn/layers.js';
import { noGrad } from '../tensor/autograd.js';
import { zeros } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A copy of `layer` with `bn` (its running statistics, eval mode) folded in:
 * W' = W · γ / √(σ² + ε) per output channel, b' = β + (b − μ) · γ / √(σ² + ε).
 * @param layer the Conv2d or Linear before the batch norm (left untouched)
 * @param bn the BatchNorm2d after it (left untouched), or undefined to just copy the layer
 * @returns a new layer with a bias
 * @throws SnnkitError when the channel counts differ or the batch norm has no running statistics
 * @example
 * const conv = new nn.Conv2d(3, 16, 3, { padding: 1 }), bn = new nn.BatchNorm2d(16);
 * const fused = convert.foldBatchNorm(conv, bn); // fused.forward(x) ≈ bn.eval().forward(conv.forward(x))
 */
export function foldBatchNorm(layer: Conv2d | Linear, bn?: BatchNorm2d): Conv2d | Linear {
  const out = layer instanceof Conv2d ? layer.outChannels : layer.outFeatures;
  if (bn && bn.numFeatures !== out)
    throw new SnnkitError(`foldBatchNorm: ${layer.constructor.name} has ${out} output channels but BatchNorm2d has ${bn.numFeatures}`, 'SHAPE_MISMATCH');
  if (bn && (!bn.runningMean || !bn.runningVar))
    throw new SnnkitError('foldBatchNorm: the BatchNorm2d has no running statistics (trackRunningStats: false) and cannot be folded', 'INVALID_ARGUMENT');
  const copy = layer instanceof Conv2d
    ? new Conv2d(layer.inChannels, layer.outChannels, layer.kernelSize, { ...layer.opts, bias: true })
    : new Linear(layer.inFeatures, layer.outFeatures, { bias: true });
  noGrad(() => tidy(() => {
    const w = layer.weight.to('float64');
    let b: Tensor = layer.bias ? layer.bias.to('float64') : zeros([out], { dtype: 'float64' });
    let wf = w;
    if (bn) {
      const scale = (bn.weight ? bn.weight.to('float64') : zeros([out], { dtype: 'float64' }).add(1)).div(bn.runningVar!.to('float64').add(bn.eps).sqrt());
      const shape = [out, ...new Array<number>(w.ndim - 1).fill(1)];
      wf = w.mul(scale.reshape(...shape));
      b = b.sub(bn.runningMean!.to('float64')).mul(scale).add(bn.bias ? bn.bias.to('float64') : 0);
    }
    copy.weight.copy_(wf);
    copy.bias!.copy_(b);
  }));
  return copy;
}
