/**
 * Conversion-error analysis (Deng & Gu, ICLR 2021; docs/methods.md §3), per IF layer, on real samples:
 * - isolated: the SNN layer driven by the ANN layer's own pre-activation z as a constant current for T steps. Its rate
 *   r_T is compared with ReLU(z): clipping = ReLU(z) − min(ReLU(z), V_th), flooring = min(ReLU(z), V_th) − r_T, and
 *   total = ReLU(z) − r_T = clipping + flooring (signed means, so the decomposition adds up exactly);
 * - end to end: the rate of the layer inside the full SNN against the ANN's activation for the same input;
 * - firing rates, and synaptic operations (SOPs: MACs × input spike rate) against the ANN's MACs, with an energy
 *   estimate from Horowitz (ISSCC 2014, 45 nm, 32-bit float): 4.6 pJ a multiply-accumulate, 0.9 pJ an accumulate.
 */
import type { DataLoader } from '../data/loader.js';
import { neuronMultiStep } from '../functional/neuron.js';
import { Conv2d, Linear, ReLU } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { ClippedReLU } from '../nn/activation.js';
import { IF, SignedIF, type NeuronListener } from '../neurons/neuron.js';
import { SnnkitError } from '../errors.js';
import { SeqToANN } from '../neurons/containers.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ConvertedSnn } from './converter.js';
import { foldNetwork } from './converter.js';

/** Energy per operation, in picojoules (Horowitz, "Computing's energy problem", ISSCC 2014; 45 nm, fp32). */
export const ENERGY_PJ = { mac: 4.6, ac: 0.9 } as const;

/** One IF layer's numbers; maps are keyed by T. */
export interface LayerAnalysis {
  layer: string;
  vTh: number;
  /** Mean ANN activation ReLU(z). */
  annMean: number;
  /** Mean clipping error (independent of T). */
  clipping: number;
  flooring: Record<number, number>;
  total: Record<number, number>;
  /** Root mean square of the isolated total error. */
  totalRms: Record<number, number>;
  /** Mean |ANN activation − SNN rate| inside the full SNN. */
  endToEnd: Record<number, number>;
  /** Spikes per neuron per time step inside the full SNN. */
  firingRate: Record<number, number>;
  /** Histogram of per-neuron firing rates at T_max (10 bins over [0, 1]). */
  rateHistogram: number[];
}

/** The whole analysis. */
export interface ConversionAnalysis {
  T: number[];
  samples: number;
  layers: LayerAnalysis[];
  /** Per image: the ANN's multiply-accumulates, and the SNN's operations at each T (MACs of the analog first layer plus SOPs). */
  ops: { annMacs: number; snnMacs: Record<number, number>; snnSops: Record<number, number>; annEnergyUj: number; snnEnergyUj: Record<number, number> };
}

type Acc = Record<number, number>;
const zeroAcc = (Ts: number[]): Acc => Object.fromEntries(Ts.map((t) => [t, 0]));

/** MACs of one forward of a conv/linear layer per sample, from its output shape. */
function macsOf(layer: Module, outShape: readonly number[]): number {
  if (layer instanceof Conv2d) return (outShape.slice(1).reduce((a, b) => a * b, 1) * layer.inChannels * layer.kernelSize[0] * layer.kernelSize[1]) / layer.opts.groups;
  if (layer instanceof Linear) return layer.inFeatures * layer.outFeatures;
  return 0;
}

/** One IF layer's running sums over the samples seen (divided by the sample count at the end). */
interface LayerAcc {
  layer: string; vTh: number; annSum: number; clip: number; floor: Acc; total: Acc; sq: Acc; e2e: Acc; spikes: Acc; hist: number[];
}

/** The ReLU input z and output a of each layer, as recorded by the probe in its last forward pass. */
type Recorded = { z?: Tensor; a?: Tensor };

/** The folded ANN with recorders that expose each ReLU's input z and output, in the order of the IF layers. */
function probeOf(ann: Module, layers: number): { probe: Module; relus: Recorded[] } {
  const probe = foldNetwork(ann);
  const relus: Recorded[] = Array.from({ length: layers }, () => ({}));
  let k = 0;
  for (const [, m] of probe.namedModules()) {
    if (!(m instanceof ReLU || m instanceof ClippedReLU)) continue;
    const slot = relus[k++]!;
    const fwd = m.forward.bind(m);
    // Views, not the tensors themselves: a graph module (ONNX) disposes each value after its last use, and a view
    // keeps the storage alive without a copy.
    m.forward = (x: Tensor) => { const y = fwd(x); slot.z = x.view(...x.shape); slot.a = y.view(...y.shape); return y; };
  }
  return { probe, relus };
}

/** Isolated errors of one layer on a batch of n samples: the IF layer driven by the ANN's own z, in time chunks. */
function isolatedErrors(r: Recorded, acc: LayerAcc, T: number[], chunk: number, shift: boolean, n: number): void {
  const vTh = acc.vTh, z = r.z!, a = r.a!, tMax = T[T.length - 1]!;
  const clipped = a.clamp(undefined, vTh);
  acc.annSum += a.mean().item() * n;
  acc.clip += a.sub(clipped).mean().item() * n;
  let v: Tensor | number | undefined = shift ? vTh / 2 : undefined, count: Tensor | undefined;
  for (let s = 0; s < tMax; s += chunk) {
    const len = Math.min(chunk, tMax - s);
    // One scope per chunk: only the potential and the running spike count cross chunks.
    const [nv, nc] = tidy(() => {
      const out = neuronMultiStep(z.unsqueeze(0).expand(len, ...z.shape), v, { vTh, amplitude: 'threshold' });
      const cs = count ? out.spikes.cumsum(0).add(count.unsqueeze(0)) : out.spikes.cumsum(0);
      for (const t of T) {
        if (t <= s || t > s + len) continue;
        const rate = cs.select(0, t - s - 1).div(t);
        acc.floor[t]! += clipped.sub(rate).mean().item() * n;
        const err = a.sub(rate);
        acc.total[t]! += err.mean().item() * n;
        acc.sq[t]! += err.square().mean().item() * n;
      }
      return [out.v.keep(), cs.select(0, len - 1).contiguous().keep()];
    });
    if (typeof v === 'object') v.dispose();
    count?.dispose();
    v = nv;
    count = nc;
  }
  if (typeof v === 'object') v.dispose();
  count?.dispose();
}

/** The time-folded conv/linear layers of the SNN, recording their MACs and their last input (for SOPs). */
interface Synapses { macs: number[]; inSpikes: Acc[]; inputs: (Tensor | undefined)[]; restore: () => void }
function synapsesOf(snn: Module, T: number[]): Synapses {
  const layers = snn.namedModules().filter(([, m]) => m instanceof SeqToANN && ((m as SeqToANN).module instanceof Conv2d || (m as SeqToANN).module instanceof Linear)).map(([, m]) => (m as SeqToANN));
  const syn: Synapses = { macs: new Array<number>(layers.length).fill(0), inSpikes: layers.map(() => zeroAcc(T)), inputs: [], restore: () => {} };
  const fwds = layers.map((s, i) => {
    const fwd = s.forward.bind(s);
    s.forward = (x: Tensor) => {
      const y = fwd(x);
      if (syn.macs[i] === 0) syn.macs[i] = macsOf(s.module, y.shape.slice(1));
      syn.inputs[i] = x.view(...x.shape); // a view: a graph module disposes x after its last use
      return y;
    };
    return fwd;
  });
  syn.restore = () => layers.forEach((s, i) => { s.forward = fwds[i]!; });
  return syn;
}

/**
 * End to end on a batch of n samples: the full SNN in time chunks, each IF layer's cumulative rate against the ANN
 * activation; and the input spikes of each synaptic layer (the first gets the analog input: MACs, not SOPs).
 */
function endToEnd(snn: Module, ifs: [string, IF][], relus: Recorded[], res: LayerAcc[], syn: Synapses, x: Tensor, T: number[], chunk: number): void {
  const n = x.shape[0]!, tMax = T[T.length - 1]!;
  snn.resetMemories();
  const sums: (Tensor | undefined)[] = new Array(ifs.length).fill(undefined);
  let start = 0;
  const listeners: NeuronListener[] = ifs.map(([, m], l) => {
    const acc = res[l]!;
    const fn: NeuronListener = (_layer, rec) => {
      const cs = sums[l] ? rec.spikes.cumsum(0).add(sums[l]!.unsqueeze(0)) : rec.spikes.cumsum(0);
      const len = rec.spikes.shape[0]!;
      for (const t of T) {
        if (t <= start || t > start + len) continue;
        const rate = cs.select(0, t - start - 1).div(t);
        acc.e2e[t]! += relus[l]!.a!.sub(rate).abs().mean().item() * n;
        acc.spikes[t]! += rate.div(acc.vTh).mean().item() * n;
        if (t === tMax) {
          const h = rate.div(acc.vTh).flatten().mul(10).floor().clamp(0, 9).to('int64').toTypedArray() as BigInt64Array;
          for (const v of h) acc.hist[Number(v)]!++;
        }
      }
      const prev = sums[l];
      sums[l] = cs.select(0, len - 1).contiguous().keep();
      prev?.dispose();
    };
    m.listeners.add(fn);
    return fn;
  });
  try {
    for (start = 0; start < tMax; start += chunk) {
      const len = Math.min(chunk, tMax - start);
      syn.inputs = [];
      tidy(() => {
        snn.forward(x.unsqueeze(0).expand(len, ...x.shape));
        syn.inputs.forEach((xi, i) => {
          if (!xi || i === 0) return;
          const cs = xi.ne(0).to('float32').sum(0).mean(); // spikes per input neuron over this chunk
          for (const t of T) if (t > start) syn.inSpikes[i]![t]! += cs.item() * Math.min(len, t - start) / len * n;
        });
        syn.inputs = [];
      });
    }
  } finally {
    ifs.forEach(([, m], l) => m.listeners.delete(listeners[l]!));
    for (const s of sums) s?.dispose();
  }
}

/** The per-sample means of the sums, and the operation counts per image. */
function summarize(T: number[], res: LayerAcc[], syn: Synapses, samples: number): ConversionAnalysis {
  const { macs, inSpikes } = syn;
  const annMacs = macs.reduce((a, b) => a + b, 0);
  const snnSops: Acc = zeroAcc(T), snnMacs: Acc = zeroAcc(T);
  for (const t of T) {
    snnMacs[t] = (macs[0] ?? 0) * t;
    // SOPs of layer i: its MACs times the mean spikes per input neuron over t steps.
    snnSops[t] = macs.reduce((acc, m, i) => (i === 0 ? acc : acc + m * (inSpikes[i]![t]! / samples)), 0);
  }
  const per = (a: Acc): Acc => Object.fromEntries(T.map((t) => [t, a[t]! / samples]));
  const layers: LayerAnalysis[] = res.map((r) => ({
    layer: r.layer, vTh: r.vTh, annMean: r.annSum / samples, clipping: r.clip / samples, flooring: per(r.floor), total: per(r.total),
    totalRms: Object.fromEntries(T.map((t) => [t, Math.sqrt(r.sq[t]! / samples)])), endToEnd: per(r.e2e), firingRate: per(r.spikes), rateHistogram: r.hist,
  }));
  return {
    T, samples, layers,
    ops: { annMacs, snnMacs, snnSops, annEnergyUj: (annMacs * ENERGY_PJ.mac) / 1e6,
      snnEnergyUj: Object.fromEntries(T.map((t) => [t, (snnMacs[t]! * ENERGY_PJ.mac + snnSops[t]! * ENERGY_PJ.ac) / 1e6])) },
  };
}

/**
 * Analyses a conversion on `loader`'s samples (at most `limit`).
 * @param ann the source ANN
 * @param converted what convertToSnn returned for it
 * @param Ts the time steps to analyse
 * @returns per-layer errors, firing rates and operation counts
 * @example
 * const converted = await convert.convertToSnn(ann, { calibration: trainLoader });
 * const a = await convert.analyzeConversion(ann, converted, testLoader, [8, 32], { limit: 512 });
 * console.log(a.layers.map((l) => l.flooring[8]), a.ops.snnEnergyUj[32]);
 */
export async function analyzeConversion(ann: Module, converted: ConvertedSnn, loader: DataLoader, Ts: number[], opts: { limit?: number; shift?: boolean; chunk?: number } = {}): Promise<ConversionAnalysis> {
  const T = [...new Set(Ts)].sort((a, b) => a - b), chunk = opts.chunk ?? 16;
  const snn = converted.snn;
  if (snn.modules().some((m) => m instanceof SignedIF)) throw new SnnkitError('analyzeConversion: the network has signed IF neurons; the analysis models IF neurons only', 'INVALID_ARGUMENT');
  const ifs = snn.namedModules().filter(([, m]) => m instanceof IF) as [string, IF][];
  const { probe, relus } = probeOf(ann, ifs.length);
  const res: LayerAcc[] = ifs.map(([layer, n]) => ({ layer, vTh: n.vTh as number, annSum: 0, clip: 0, floor: zeroAcc(T), total: zeroAcc(T), sq: zeroAcc(T), e2e: zeroAcc(T), spikes: zeroAcc(T), hist: new Array<number>(10).fill(0) }));
  const syn = synapsesOf(snn, T);
  let samples = 0;
  try {
    for await (const b of loader.epoch(0)) {
      tidy(() => noGrad(() => {
        const n = b.y.shape[0]!;
        probe.forward(b.x);
        relus.forEach((r, l) => isolatedErrors(r, res[l]!, T, chunk, opts.shift ?? false, n));
        endToEnd(snn, ifs, relus, res, syn, b.x, T, chunk);
        samples += n;
      }));
      b.dispose();
      if (opts.limit && samples >= opts.limit) break;
    }
  } finally {
    syn.restore();
    snn.resetMemories();
    probe.dispose();
  }
  return summarize(T, res, syn, samples);
}

/** One spiking layer's distance from the ANN inside the full SNN (layerErrors). */
export interface LayerError {
  layer: string;
  /** Root mean square of (ANN activation − SNN rate), in activation units, over every neuron of every sample. */
  rms: number;
  /** The mean ANN activation, for scale. */
  annMean: number;
  /** Spikes per neuron per time step. */
  firingRate: number;
}

/**
 * Where along its depth an SNN departs from its ANN: each IF layer's rate inside the full SNN (spikes × amplitude over
 * T steps) against the ANN's activation for the same input, as a root mean square. Unlike analyzeConversion it takes
 * any IF network snnkit makes (thresholds per layer or per channel, calibrated potentials and biases, weights changed
 * by hybrid training: the ANN stays the reference), so the same measure compares a network before and after a step.
 * @param ann the source ANN (inside an SNN checkpoint: loadSnn's `ann`)
 * @param converted the SNN (loadSnn's `converted`)
 * @param loader the samples (at most opts.limit of them)
 * @param T time steps, simulated in chunks of opts.chunk (default 16) to bound memory
 * @returns one entry per IF layer, input side first
 * @throws SnnkitError for signed neurons (their rate is not comparable with a ReLU's)
 * @example
 * const { ann, converted } = await models.loadSnn('runs/hybrid/last.safetensors');
 * const errs = await convert.layerErrors(ann, converted, loader, 8, { limit: 256 });
 */
export async function layerErrors(ann: Module, converted: ConvertedSnn, loader: DataLoader, T: number, opts: { limit?: number; chunk?: number } = {}): Promise<{ T: number; samples: number; layers: LayerError[] }> {
  if (!(Number.isInteger(T) && T >= 1)) throw new SnnkitError(`layerErrors: T must be a positive integer, got ${T}`, 'INVALID_ARGUMENT');
  const snn = converted.snn, chunk = opts.chunk ?? 16;
  if (snn.modules().some((m) => m instanceof SignedIF)) throw new SnnkitError('layerErrors: the network has signed IF neurons; the measure compares IF rates with ReLU activations', 'INVALID_ARGUMENT');
  const ifs = snn.namedModules().filter(([, m]) => m instanceof IF) as [string, IF][];
  const { probe, relus } = probeOf(ann, ifs.length);
  const acc = ifs.map(() => ({ sq: 0, ann: 0, spikes: 0 }));
  let samples = 0;
  try {
    for await (const b of loader.epoch(0)) {
      // Per layer: the spikes' sum (amplitudes) and count over the steps so far, kept across the chunks' scopes.
      const sums: (Tensor | undefined)[][] = ifs.map(() => [undefined, undefined]);
      const add = (l: number, i: number, x: Tensor): void => { const prev = sums[l]![i]; sums[l]![i] = (prev ? prev.add(x) : x).keep(); prev?.dispose(); };
      const listeners: NeuronListener[] = ifs.map((_, l) => (_layer, rec) => { add(l, 0, rec.spikes.sum(0)); add(l, 1, rec.spikes.ne(0).to('float32').sum(0)); });
      ifs.forEach(([, m], l) => m.listeners.add(listeners[l]!));
      try {
        noGrad(() => {
          snn.resetMemories();
          for (let s = 0; s < T; s += chunk) tidy(() => { snn.forward(b.x.unsqueeze(0).expand(Math.min(chunk, T - s), ...b.x.shape)); });
        });
        tidy(() => noGrad(() => {
          const n = b.y.shape[0]!;
          probe.forward(b.x);
          relus.forEach((r, l) => {
            const [total, count] = sums[l]! as [Tensor, Tensor], a = r.a!;
            acc[l]!.sq += a.sub(total.div(T)).square().mean().item() * n;
            acc[l]!.ann += a.mean().item() * n;
            acc[l]!.spikes += (count.mean().item() / T) * n;
          });
          samples += n;
        }));
      } finally {
        ifs.forEach(([, m], l) => m.listeners.delete(listeners[l]!));
        sums.flat().forEach((t) => t?.dispose());
      }
      b.dispose();
      if (opts.limit && samples >= opts.limit) break;
    }
  } finally {
    snn.resetMemories();
    probe.dispose();
  }
  return { T, samples, layers: ifs.map(([layer], l) => ({ layer, rms: Math.sqrt(acc[l]!.sq / samples), annMean: acc[l]!.ann / samples, firingRate: acc[l]!.spikes / samples })) };
}
