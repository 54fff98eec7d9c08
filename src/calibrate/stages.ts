/**
 * A converted network as a flat list of stages (nested Sequentials flattened; residual blocks kept whole), so that
 * calibration can run one stage at a time on cached inputs instead of the whole network for every layer.
 */
import { ResidualBlock } from '../convert/blocks.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { SnnkitError } from '../errors.js';

/** Flattens Sequentials; any other module is one stage. */
export function stagesOf(m: Module): Module[] {
  if (m instanceof Sequential) return m.children().flatMap(stagesOf);
  return [m];
}

/** Checks that two flattenings line up stage by stage (the folded ANN and the SNN come from the same walk). */
export function checkAligned(ann: Module[], snn: Module[]): void {
  if (ann.length !== snn.length) throw new SnnkitError(`calibrate: the folded ANN has ${ann.length} stages but the SNN ${snn.length}`, 'INVALID_ARGUMENT');
  ann.forEach((a, i) => {
    if ((a instanceof ResidualBlock) !== (snn[i] instanceof ResidualBlock))
      throw new SnnkitError(`calibrate: stage ${i} is a ${a.constructor.name} in the ANN but a ${snn[i]!.constructor.name} in the SNN`, 'INVALID_ARGUMENT');
  });
}
