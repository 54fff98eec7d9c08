/**
 * Integrate-and-fire neuron dynamics (docs/methods.md §1), in discrete time t = 1..T:
 *
 *   u[t] = decay · v[t-1] + I[t]                          charge (IF: decay = 1; LIF: 0 < decay < 1)
 *   s[t] = H(u[t] - V_th),  H(x) = 1 for x ≥ 0            fire (NIR uses strict >; we follow the papers' ≥)
 *   soft reset: v[t] = u[t] - s[t] · V_th                 reset by subtraction
 *   hard reset: v[t] = u[t] · (1 - s[t]) + v_reset · s[t]
 *   output:     o[t] = A · s[t], A = 1 or V_th            a converted layer's spike carries its threshold
 *   v[0] = v0 (0 unless set: the bias shift and potential calibration set it)
 *
 * Sources: Deng & Gu, ICLR 2021 (IF, soft reset, spikes carrying V_th); Li, Deng et al., ICML 2021; surrogate-gradient
 * training with H's derivative replaced by a surrogate g (docs/methods.md §2). `neuronStep` is the definition; the fused native
 * kernel behind `neuronMultiStep` is checked against it step by step (test/neurons/parity.test.ts).
 */
import { deprecated, invalidArg, SnnkitError } from '../errors.js';
import { native } from '../native/load.js';
import { batchNorm, type BatchNormOptions } from './nn.js';
import { nativeSurrogateKind, type Surrogate } from '../surrogate/surrogate.js';
import { atan } from '../surrogate/atan.js';
import { full, stack } from '../tensor/creation.js';
import { isGradEnabled } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** How the membrane resets after a spike. */
export type ResetMode = 'soft' | 'hard';
/** The valid reset modes. */
export const RESET_MODES: readonly ResetMode[] = ['soft', 'hard'];
/** What a spike carries: 1, or the threshold V_th (converted networks). */
export type SpikeAmplitude = 'one' | 'threshold';
/** The valid amplitudes. */
export const SPIKE_AMPLITUDES: readonly SpikeAmplitude[] = ['one', 'threshold'];

/** Parameters of the neuron dynamics. */
export interface NeuronOptions {
  /** The membrane's decay in (0, 1]: 1 is IF. A 0-d tensor that requires grad makes it learnable (PLIF-style). Default 1. */
  decay?: number | Tensor;
  /** @deprecated the former name of `decay` (until snnkit 0.3) */
  alpha?: number | Tensor;
  /** Threshold V_th > 0: a number, or a tensor broadcastable to one step's state (per channel: [C, 1, 1]). Default 1. */
  vTh?: number | Tensor;
  /** 'soft' (subtract V_th) or 'hard' (set to vReset). Default 'soft'. */
  reset?: ResetMode;
  /** Hard-reset potential. Default 0. */
  vReset?: number;
  /** Spikes carry 1 or V_th. Default 'one'. */
  amplitude?: SpikeAmplitude;
  /** Cut the reset path from the gradient (as SpikingJelly's detach_reset). Default false. */
  detachReset?: boolean;
  /** The surrogate gradient of H. Default atan (sharpness 2). */
  surrogate?: Surrogate;
}

const RESOLVED: unique symbol = Symbol('snnkit.resolvedNeuronOptions');

/** Options after validation, as the kernels take them (made only by resolveNeuronOptions). */
export interface ResolvedNeuronOptions {
  readonly [RESOLVED]: true;
  decay: number | Tensor;
  vTh: number | Tensor;
  reset: ResetMode;
  vReset: number;
  amplitude: SpikeAmplitude;
  detachReset: boolean;
  surrogate: Surrogate;
}

/**
 * Validates neuron options and fills in defaults.
 * @param fn the calling function or layer, for messages
 * @throws SnnkitError naming the option: unknown reset mode or amplitude (listing the valid ones), a threshold that is
 *   not positive, a decay outside (0, 1]
 * @example
 * const o = resolveNeuronOptions('MyLayer', { decay: 0.9, reset: 'hard' });  // checked once, then passed to every step
 */
export function resolveNeuronOptions(fn: string, o: NeuronOptions = {}): ResolvedNeuronOptions {
  const reset = o.reset ?? 'soft';
  if (!RESET_MODES.includes(reset)) throw invalidArg(fn, 'reset', `one of ${RESET_MODES.map((r) => `'${r}'`).join(', ')}`, reset);
  const amplitude = o.amplitude ?? 'one';
  if (!SPIKE_AMPLITUDES.includes(amplitude)) throw invalidArg(fn, 'amplitude', `one of ${SPIKE_AMPLITUDES.map((r) => `'${r}'`).join(', ')}`, amplitude);
  const vTh = o.vTh ?? 1;
  if (typeof vTh === 'number' ? !(Number.isFinite(vTh) && vTh > 0) : tidy(() => vTh.amin().item()) <= 0)
    throw invalidArg(fn, 'vTh', 'a positive threshold (every element > 0)', typeof vTh === 'number' ? vTh : vTh);
  if (o.alpha !== undefined && o.decay === undefined) deprecated(fn, 'alpha', 'decay');
  const decay = o.decay ?? o.alpha ?? 1;
  if (typeof decay === 'number' && !(decay > 0 && decay <= 1)) throw invalidArg(fn, 'decay', 'a number in (0, 1] (1 is IF)', decay);
  if (decay instanceof Tensor && decay.size !== 1) throw invalidArg(fn, 'decay', 'a number or a one-element tensor', decay);
  const vReset = o.vReset ?? 0;
  if (!Number.isFinite(vReset)) throw invalidArg(fn, 'vReset', 'a finite number', vReset);
  return { [RESOLVED]: true, decay, vTh, reset, vReset, amplitude, detachReset: o.detachReset ?? false, surrogate: o.surrogate ?? atan() };
}

/**
 * The spike function H(x) = [x ≥ 0] whose backward is the surrogate's g(x).
 * @returns 0/1 in x's dtype
 * @example
 * const s = spike(u.sub(vTh), atan({ sharpness: 2 }));  // H forward, atan's derivative backward
 */
export function spike(x: Tensor, surrogate: Surrogate): Tensor {
  const kind = nativeSurrogateKind(surrogate);
  if (kind !== undefined) return new Tensor(native.spike(x.handle, kind, surrogate.param));
  return tidy(() => {
    const h = x.ge(0).to(x.dtype);
    if (!x.requiresGrad || !isGradEnabled()) return h;
    // A surrogate of your own: H(x) + (x − x̄)·g(x̄) with x̄ = x detached is H(x) exactly (x − x̄ = 0) and has g as
    // its derivative, so autograd runs g as the backward without a custom autograd function.
    const xd = x.detach(), g = surrogate.grad(xd);
    if (g.shape.join() !== x.shape.join())
      throw new SnnkitError(`spike: surrogate ${surrogate} returned grad ${g.describe()} for input ${x.describe()}: expected the same shape`, 'SHAPE_MISMATCH');
    return h.add(x.sub(xd).mul(g.detach()));
  });
}

/**
 * One time step of an IF/LIF neuron: the definition of the dynamics (see this file's header).
 * @param input I[t], the input current [N, ...]
 * @param v v[t-1], the membrane potential (a tensor broadcastable to input, or a number; undefined means 0)
 * @param opts the dynamics (validated with resolveNeuronOptions when not already)
 * @returns spikes o[t] = A · s[t] and the new potential v[t]
 * @example
 * let v: Tensor | undefined; for (const x of steps) { const r = neuronStep(x, v, { vTh: 1 }); v = r.v; }
 */
export function neuronStep(input: Tensor, v: Tensor | number | undefined, opts: NeuronOptions | ResolvedNeuronOptions): { spikes: Tensor; v: Tensor } {
  const o = RESOLVED in opts ? (opts as ResolvedNeuronOptions) : resolveNeuronOptions('neuronStep', opts);
  const u = v === undefined ? input.mul(1) : typeof v === 'number' ? input.add(o.decay instanceof Tensor ? o.decay.mul(v) : v * o.decay) : v.mul(o.decay).add(input);
  const s = spike(u.sub(o.vTh), o.surrogate);
  const sr = o.detachReset ? s.detach() : s;
  const vNext = o.reset === 'soft' ? u.sub(sr.mul(o.vTh)) : u.mul(sr.neg().add(1)).add(sr.mul(o.vReset));
  return { spikes: o.amplitude === 'threshold' ? s.mul(o.vTh) : s, v: vNext };
}

/** One step of some neuron's dynamics: input and state (v, and the signed neuron's net count n) in, spikes and state out. */
export type StepFunction = (input: Tensor, v: Tensor | number | undefined, n: Tensor | undefined, o: ResolvedNeuronOptions) => { spikes: Tensor; v: Tensor; n?: Tensor };

/**
 * T calls of a step function over input [T, N, ...]: what the multi-step functions run where their fused kernels do
 * not (other devices than the CPU, gradients of signed neurons) and where the potential after every step is wanted.
 * Thresholds, decay and initial state given on another device follow the input (a copy per call).
 * @param record also return the potential after every step ([T, N, ...])
 */
export function unrollSteps(input: Tensor, v0: Tensor | number | undefined, n0: Tensor | undefined, o: ResolvedNeuronOptions, step: StepFunction, record = false): { spikes: Tensor; v: Tensor; n?: Tensor; potentials?: Tensor } {
  return tidy(() => {
    const here = <X>(x: X): X => (x instanceof Tensor && x.device !== input.device ? x.toDevice(input.device) as X : x);
    const oo = { ...o, vTh: here(o.vTh), decay: here(o.decay) };
    let v: Tensor | number | undefined = here(v0), n: Tensor | undefined = here(n0);
    const spikes: Tensor[] = [], potentials: Tensor[] = [];
    for (let t = 0; t < input.shape[0]!; t++) {
      const r = step(input.select(0, t), v, n, oo);
      spikes.push(r.spikes);
      if (record) potentials.push(r.v);
      v = r.v;
      n = r.n;
    }
    return { spikes: stack(spikes), v: v as Tensor, ...(n ? { n } : {}), ...(record ? { potentials: stack(potentials) } : {}) };
  });
}

/** neuronStep as a StepFunction (IF/LIF have no count). */
export const ifStep: StepFunction = (x, v, _n, o) => neuronStep(x, v, o);

/** @throws SnnkitError unless input is a [T, N, ...] sequence with T >= 1 (the kernels divide by T) */
function checkSteps(fn: string, input: Tensor): void {
  if (input.ndim < 2 || input.shape[0]! < 1)
    throw new SnnkitError(`${fn}: input must be [T, N, ...] with at least one time step, got ${input.describe()}`, 'SHAPE_MISMATCH');
}

/**
 * All T steps at once, in the fused native kernel (on the CPU; elsewhere, step by step with the same ops) (forward, and BPTT with the surrogate when gradients are needed).
 * Equal to applying neuronStep T times.
 * @param input [T, N, ...]
 * @param v0 the initial potential (a tensor broadcastable to one step, a number, or undefined for 0)
 * @returns spikes [T, N, ...] and the final potential v[T]
 * @throws SnnkitError for a non-float input, fewer than 2 dims, or thresholds / v0 that do not broadcast
 * @example
 * const { spikes, v } = neuronMultiStep(currents, undefined, { decay: 0.5, vTh: 1 });  // currents [T, N, ...]
 */
export function neuronMultiStep(input: Tensor, v0: Tensor | number | undefined, opts: NeuronOptions | ResolvedNeuronOptions): { spikes: Tensor; v: Tensor } {
  const o = RESOLVED in opts ? (opts as ResolvedNeuronOptions) : resolveNeuronOptions('neuronMultiStep', opts);
  checkSteps('neuronMultiStep', input);
  const kind = nativeSurrogateKind(o.surrogate);
  if (input.device !== 'cpu' || kind === undefined) return unrollSteps(input, v0, undefined, o, ifStep);
  return tidy(() => {
    const dt = input.dtype;
    const scalar = (x: number | Tensor) => (x instanceof Tensor ? x : full([], x, { dtype: dt === 'float64' ? 'float64' : 'float32' }));
    const init = v0 === undefined ? undefined : scalar(v0);
    const [s, v] = native.neuronMultiStep(input.handle, init?.handle, scalar(o.vTh).handle, scalar(o.decay).handle, o.reset === 'hard', o.vReset,
      o.amplitude === 'threshold', o.detachReset, kind, o.surrogate.param);
    return { spikes: new Tensor(s), v: new Tensor(v) };
  });
}

/**
 * Batch norm followed by the neuron of neuronMultiStep, fused, on a sequence with time folded into the batch
 * ([T·N, C, ...]; statistics over T·N and space, as SpikingJelly's multi-step layers): the same result as
 * `neuronMultiStep(batchNorm(x, bn).reshape(T, N, ...), v0, opts)` folded back, up to rounding (the normalization is
 * computed as x·scale + shift per channel). A training step keeps only x for backward, where the unfused pair keeps x,
 * the normalized x and the membranes: backward recomputes the last two (bn_neuron.cc). CPU, float32/float64.
 * @param x [T·N, C, ...]; with `repeated`, [N, C, ...]: the input of every step
 * @param bn the batch norm's parameters and running statistics (updated in place in training mode)
 * @param repeated x is one step's input, the same at every step (direct encoding): the result is that of x repeated T
 *   times and folded ([T·N, ...]), statistics, running statistics and gradients included, without making the copies
 * @returns spikes [T·N, C, ...] and the final potential [N, C, ...]
 * @example
 * const { spikes } = batchNormNeuron(x, bn.batchOptions(), 4, undefined, { decay: 0.5 });  // bn a BatchNorm2d, T = 4
 */
export function batchNormNeuron(x: Tensor, bn: BatchNormOptions, T: number, v0: Tensor | number | undefined, opts: NeuronOptions | ResolvedNeuronOptions,
  repeated = false): { spikes: Tensor; v: Tensor } {
  const o = RESOLVED in opts ? (opts as ResolvedNeuronOptions) : resolveNeuronOptions('batchNormNeuron', opts);
  const training = bn.training ?? false;
  if (!training && (!bn.runningMean || !bn.runningVar))
    throw new SnnkitError('batchNormNeuron: eval mode (training: false) needs runningMean and runningVar', 'INVALID_ARGUMENT');
  const kind = nativeSurrogateKind(o.surrogate);
  if (kind === undefined) return unfusedBatchNormNeuron(x, bn, T, v0, o, repeated);
  return tidy(() => {
    const dt = x.dtype === 'float64' ? 'float64' : 'float32';
    const scalar = (s: number | Tensor) => (s instanceof Tensor ? s : full([], s, { dtype: dt }));
    const init = v0 === undefined ? undefined : scalar(v0);
    const [s, v] = native.bnNeuronMultiStep(x.handle, bn.weight?.handle, bn.bias?.handle, bn.runningMean?.handle, bn.runningVar?.handle,
      training, bn.momentum ?? 0.1, bn.eps ?? 1e-5, T, init?.handle, scalar(o.vTh).handle, scalar(o.decay).handle, o.reset === 'hard', o.vReset,
      o.amplitude === 'threshold', o.detachReset, kind, o.surrogate.param, repeated);
    return { spikes: new Tensor(s), v: new Tensor(v) };
  });
}

/** batchNormNeuron as the two layers in turn: for surrogates that have no native kernel. */
function unfusedBatchNormNeuron(x: Tensor, bn: BatchNormOptions, T: number, v0: Tensor | number | undefined, o: ResolvedNeuronOptions,
  repeated: boolean): { spikes: Tensor; v: Tensor } {
  return tidy(() => {
    const all = repeated ? x.unsqueeze(0).expand(T, ...x.shape).reshape(T * x.shape[0]!, ...x.shape.slice(1)) : x;
    const r = neuronMultiStep(batchNorm(all, bn).reshape(T, all.shape[0]! / T, ...all.shape.slice(1)), v0, o);
    return { spikes: r.spikes.reshape(...all.shape), v: r.v };
  });
}

/**
 * One time step of a signed IF neuron (ternary spikes; soft reset, decay = 1): it fires as IF, and also fires a
 * negative spike (v += V_th) when its potential is below 0 while it has fired more positive than negative spikes:
 *
 *   u = v + I;  p = H(u − V_th);  w = u − p · V_th;  q = [w < 0] · [n + p > 0];  v' = w + q · V_th;  n' = n + p − q
 *   o = A · (p − q)
 *
 * so a spike fired too early is taken back: with |I[t]| < V_th and v[0] = V_th/2, the net count n[t] is exactly
 * max(0, ⌊Σ I / V_th + 1/2⌋) at every step, where IF's count only grows. (The signed neuron of Kim et al., Spiking-YOLO,
 * AAAI 2020, and Wang et al.'s SNM, IJCAI 2022.) Both spikes have the surrogate's gradient (q's through g(−w)).
 * @param n the net spike count so far (undefined means 0); not differentiated
 * @returns spikes, the new potential and the new count
 * @example
 * let v: Tensor | number | undefined = 0.5, n: Tensor | undefined;  // v[0] = V_th/2
 * for (const x of steps) { const r = signedNeuronStep(x, v, n, { vTh: 1 }); v = r.v; n = r.n; }
 */
export function signedNeuronStep(input: Tensor, v: Tensor | number | undefined, n: Tensor | undefined, opts: NeuronOptions | ResolvedNeuronOptions): { spikes: Tensor; v: Tensor; n: Tensor } {
  const o = RESOLVED in opts ? (opts as ResolvedNeuronOptions) : resolveNeuronOptions('signedNeuronStep', opts);
  const u = v === undefined ? input.mul(1) : typeof v === 'number' ? input.add(v) : v.add(input);
  const p = spike(u.sub(o.vTh), o.surrogate);
  const w = u.sub((o.detachReset ? p.detach() : p).mul(o.vTh));
  const pd = p.detach();
  const up = n === undefined ? pd : n.add(pd);
  const q = spike(w.neg(), o.surrogate).mul(w.lt(0).logicalAnd(up.gt(0)).to(w.dtype));
  const vNext = w.add((o.detachReset ? q.detach() : q).mul(o.vTh));
  const s = p.sub(q);
  return { spikes: o.amplitude === 'threshold' ? s.mul(o.vTh) : s, v: vNext, n: up.sub(q.detach()) };
}

/**
 * All T steps of a signed IF neuron: the fused native kernel on the CPU when no gradient is needed, else T calls of
 * signedNeuronStep (which autograd differentiates).
 * @param input [T, N, ...]
 * @param v0 the initial potential (undefined for 0); n0 the initial net count (undefined for 0)
 * @returns spikes [T, N, ...], the final potential and the final net count
 * @example
 * const { spikes, n } = signedMultiStep(currents, 0.5, undefined, { vTh: 1 });  // currents [T, N, ...], v[0] = V_th/2
 */
export function signedMultiStep(input: Tensor, v0: Tensor | number | undefined, n0: Tensor | undefined, opts: NeuronOptions | ResolvedNeuronOptions): { spikes: Tensor; v: Tensor; n: Tensor } {
  const o = RESOLVED in opts ? (opts as ResolvedNeuronOptions) : resolveNeuronOptions('signedMultiStep', opts);
  checkSteps('signedMultiStep', input);
  const needsGrad = isGradEnabled() && [input, v0, n0, o.vTh].some((t) => t instanceof Tensor && t.requiresGrad);
  if (needsGrad || input.device !== 'cpu') {
    const r = unrollSteps(input, v0, n0, o, signedNeuronStep);
    return { spikes: r.spikes, v: r.v, n: r.n! };
  }
  return tidy(() => {
    const scalar = (x: number | Tensor) => (x instanceof Tensor ? x : full([], x, { dtype: input.dtype === 'float64' ? 'float64' : 'float32' }));
    const init = v0 === undefined ? undefined : scalar(v0);
    const [s, v, n] = native.signedMultiStep(input.handle, init?.handle, n0?.handle, scalar(o.vTh).handle, o.amplitude === 'threshold');
    return { spikes: new Tensor(s), v: new Tensor(v), n: new Tensor(n) };
  });
}
