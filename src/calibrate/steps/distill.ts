/** The distill step (DistillOptions; snnkit's addition, after the walk): the SNN through time against the original ANN's logits. */
import { foldNetwork } from '../../convert/converter.js';
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { finetune } from '../finetune.js';
import type { CalibrateOptions } from '../options.js';

/** Trains every parameter of the SNN on the samples x so that its mean output over T matches the ANN's logits. */
export function distill(ann: Module, snn: Module, x: Tensor, o: CalibrateOptions): void {
  const d = o.distill ?? {};
  const expand = (v: Tensor): Tensor => v.unsqueeze(0).expand(o.T, ...v.shape);
  const teacher = foldNetwork(ann);
  try {
    finetune(teacher, (v) => {
      snn.resetMemories();
      return snn.forward(expand(v)).mean(0);
    }, x, d, { epochs: 8, batchSize: 32 }, [{ params: snn.parameters(), lr: d.lr ?? 4e-3 / o.T }]);
  } finally {
    teacher.dispose();
    snn.zeroGrad();
    snn.resetMemories();
  }
}
