/** Multi-step helpers: fold time into the batch for stateless layers, encoders, readouts. */
import { invalidArg, SnnkitError } from '../errors.js';
import { Module } from '../nn/module.js';
import { rand, type Generator } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Runs a stateless layer (conv, linear, pooling, batch norm, flatten) on a sequence [T, N, ...] by folding time into
 * the batch ([T·N, ...]) and unfolding the result, as SpikingJelly's SeqToANNContainer. The wrapped module's
 * parameters keep their names under `module.`.
 * @example new SeqToANN(new Conv2d(3, 64, 3, { padding: 1 }))
 */
export class SeqToANN extends Module {
  readonly module: Module;
  /** Wraps `module`, registered as the child `module`. */
  constructor(module: Module) {
    super();
    this.module = this.registerModule('module', module);
  }
  forward(x: Tensor): Tensor {
    if (x.ndim < 2) throw new SnnkitError(`SeqToANN: input must be [T, N, ...], got ${x.describe()}`, 'SHAPE_MISMATCH');
    const [T, N] = [x.shape[0]!, x.shape[1]!];
    const y = this.module.forward(x.flatten(0, 1));
    return y.reshape(T, N, ...y.shape.slice(1));
  }
}

function checkSteps(fn: string, T: number): number {
  if (!Number.isInteger(T) || T < 1) throw invalidArg(fn, 'T', 'a positive integer', T);
  return T;
}

/**
 * Direct (analog) encoding: the same input at every one of T steps, [N, ...] → [T, N, ...].
 * @example new DirectEncoder(4).forward(images)  // [N, C, H, W] → [4, N, C, H, W]
 */
export class DirectEncoder extends Module {
  /**
   * Creates an encoder that repeats its input over T steps.
   * @param T time steps
   */
  constructor(readonly T: number) {
    super();
    checkSteps('DirectEncoder', T);
  }
  forward(x: Tensor): Tensor {
    return x.unsqueeze(0).expand(this.T, ...x.shape);
  }
}

/**
 * Poisson rate encoding: at each step a spike with probability x (clamped to [0, 1]); seeded by a Generator.
 * @example new PoissonEncoder(8, { generator: new Generator(0) }).forward(pixels)  // pixels in [0, 1] → [8, N, ...]
 */
export class PoissonEncoder extends Module {
  /**
   * Creates an encoder that draws T steps of spikes.
   * @param T time steps; opts.generator makes the spike trains reproducible
   */
  constructor(readonly T: number, readonly opts: { generator?: Generator } = {}) {
    super();
    checkSteps('PoissonEncoder', T);
  }
  forward(x: Tensor): Tensor {
    const p = x.clamp(0, 1).unsqueeze(0);
    return rand([this.T, ...x.shape], { dtype: x.dtype, generator: this.opts.generator }).lt(p).to(x.dtype);
  }
}

/**
 * Readout of a spiking output layer: the spike count over T divided by T (a firing rate), [T, N, ...] → [N, ...].
 * @example const rates = new SpikeRateReadout().forward(outputSpikes);  // [T, N, C] → [N, C]
 */
export class SpikeRateReadout extends Module {
  forward(x: Tensor): Tensor {
    return x.mean(0);
  }
}

/**
 * Readout of a non-spiking output layer: its input current accumulated over T, divided by T when `average` (the
 * *ref* conversion keeps the last layer non-spiking and sums its outputs), [T, N, ...] → [N, ...].
 * @example new MembraneReadout(false).forward(currents)  // the sum over T: [T, N, C] → [N, C]
 */
export class MembraneReadout extends Module {
  /**
   * Creates a readout that averages the input over T, or sums it when `average` is false.
   * @param average divide the sum over T by T (default true)
   */
  constructor(readonly average = true) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.average ? x.mean(0) : x.sum(0);
  }
}
