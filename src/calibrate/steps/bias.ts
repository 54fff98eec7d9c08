/** The bias step (docs/methods.md §5): per output channel, b += the mean over samples and positions of e = a − r. */
import { noGrad } from '../../tensor/autograd.js';
import { tidy } from '../../tensor/scope.js';
import type { CalibrationStep } from '../step.js';
import { biasLayerOf } from '../program.js';

export const biasStep: CalibrationStep = {
  name: 'bias',
  run({ walk, k, targets, errorSum, addToCurrent }) {
    walk.timed('bias', () => noGrad(() => {
      const t = targets[0]!;
      const dims = t.ndim > 2 ? [0, ...Array.from({ length: t.ndim - 2 }, (_, i) => i + 2)] : [0];
      const corr = tidy(() => errorSum((e) => e.sum(dims)).div(walk.seen * (t.size / t.shape[0]! / t.shape[1]!)).keep());
      addToCurrent(biasLayerOf(walk.snnP, k), corr);
      corr.dispose();
    }));
    return true;
  },
};
