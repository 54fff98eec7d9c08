/**
 * The threshold step (docs/methods.md §5): V_th = argmin ‖clipfloor(x, T, V) − a‖² over a grid, per layer or per
 * channel. With the ANN-side search (the authors' recipe, the default) the walk found it before converting; with
 * `thresholdSource: 'snn'`, x is the calibrated SNN's mean input current, searched here; with 'spikes', each candidate
 * runs the neuron on the SNN's input currents step by step (calibrate.simulatedSearch).
 */
import { noGrad } from '../../tensor/autograd.js';
import { cat, tensor } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { CalibrationStep } from '../step.js';
import { shiftMode } from '../options.js';
import { gridSearch, searchRows, simulatedSearch, subsampleRows } from '../threshold.js';
import { channelShape } from '../walk.js';

export const thresholdStep: CalibrationStep = {
  name: 'threshold',
  run({ walk, neuron, index, inName, targets, max }) {
    if (walk.tuned) return false; // quantize learnt the threshold (the search, if any, only gave its starting value)
    const preset = walk.searched?.thresholds[index];
    if (preset !== undefined) {
      walk.setThreshold(neuron, typeof preset === 'number' ? preset : tensor(preset, channelShape(targets[0]!)));
      return true;
    }
    const o = walk.o, per = o.perChannel === true;
    if (o.thresholdSource === 'spikes') {
      const V = walk.timed('threshold', () => noGrad(() => simulatedSearch(walk.batches.map((b) => b.snn.get(inName)!), targets, max,
        { T: walk.T, start: walk.potentialShift ? 0.5 : 0, stepBias: walk.biasShift ? 0.5 : 0, grid: o.grid, points: o.points })));
      walk.setThreshold(neuron, V);
      return true;
    }
    walk.timed('threshold', () => noGrad(() => {
      const pick = (t: Tensor): Tensor => subsampleRows(searchRows(t, per), 65536);
      const V = tidy(() => {
        const xs = walk.batches.map((b) => pick(b.snn.get(inName)!.mean(0)));
        const ts = targets.map(pick);
        const rowMax = per ? cat(targets.map((t) => searchRows(t, per).amax(1).unsqueeze(0))).amax(0).toTypedArray() as Float32Array : [max];
        return gridSearch(cat(xs, 1), cat(ts, 1), [...rowMax], { T: walk.T, shift: o.searchShift ?? shiftMode(o) !== 'none', grid: o.grid, points: o.points });
      });
      walk.setThreshold(neuron, per ? tensor(V, channelShape(targets[0]!)) : V[0]!);
    }));
    return true;
  },
};
