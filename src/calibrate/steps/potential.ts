/** The potential step (docs/methods.md §5): v(0) = T · e per element (the mean over the samples), on top of the V_th/2 shift. */
import { noGrad } from '../../tensor/autograd.js';
import { tidy } from '../../tensor/scope.js';
import type { CalibrationStep } from '../step.js';

export const potentialStep: CalibrationStep = {
  name: 'potential',
  run({ walk, neuron, errorSum }) {
    walk.timed('potential', () => noGrad(() => {
      const v0 = tidy(() => {
        const e = errorSum((x) => x.sum(0)).div(walk.seen).mul(walk.T);
        const th = neuron.vTh;
        return (walk.potentialShift ? e.add(typeof th === 'number' ? th / 2 : th.div(2)) : e).keep();
      });
      neuron.setInitialPotential(v0); // kept by the neuron
    }));
    return true;
  },
};
