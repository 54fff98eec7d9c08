/**
 * The V_th/2 shift as a per-step bias (`shift: 'bias'`, Deng & Gu's bias shift, as the authors' calibration code
 * does; docs/methods.md §3): V_th/2T added to the bias of the layer feeding the neuron once its threshold (and
 * weights) are calibrated. Not in the report: it is part of the conversion, not a correction.
 */
import { noGrad } from '../../tensor/autograd.js';
import { tensor } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { CalibrationStep } from '../step.js';
import { biasLayerOf } from '../program.js';

export const biasShiftStep: CalibrationStep = {
  name: 'shift',
  run({ walk, neuron, k, addToCurrent }) {
    noGrad(() => {
      const th = neuron.vTh, T = walk.T;
      const c = tidy(() => (typeof th === 'number' ? tensor([th / (2 * T)]) : th.div(2 * T)).keep());
      addToCurrent(biasLayerOf(walk.snnP, k), c);
      c.dispose();
    });
    return false;
  },
};
