/**
 * The state of one calibration walk: the converted SNN and its folded ANN lowered to programs that line up node by node
 * (program.ts), the cached values of every calibration batch in both, and what the steps share (the shift, the
 * thresholds the ANN-side search found, the timing). The driver (calibrate.ts) runs the program one neuron at a time;
 * the steps (step.ts and steps/) change the neuron and its input layers; the walk owns the cached values and frees each
 * as soon as no later node reads it.
 */
import { SnnkitError } from '../errors.js';
import { clipFloorSte } from '../functional/clipfloor.js';
import { convertToSnn, foldNetwork, type ConvertedSnn } from '../convert/converter.js';
import { parseThresholdStat } from '../convert/stats.js';
import type { Module } from '../nn/module.js';
import { SignedIF, SpikingNeuron } from '../neurons/neuron.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { shiftMode, type CalibrateOptions } from './options.js';
import { checkAligned, lastUses, lower, segmentOf, type Program } from './program.js';
import { searchThresholds } from './threshold.js';

/** The current values of one calibration batch, by name, in the SNN ([T, N, ...]) and the folded ANN ([N, ...]). */
export interface BatchValues {
  snn: Map<string, Tensor>;
  ann: Map<string, Tensor>;
  count: number;
}

/**
 * What the ANN-side threshold search found: per neuron, the threshold (one per channel when per-channel) and max.
 * @inline
 */
export type Searched = { thresholds: (number | number[])[]; max: number[] };

/** e reshaped per channel: [N, C, ...] → channel-first view shape [C, 1, ...] for broadcasting onto one step. */
export const channelShape = (e: Tensor): number[] => [e.shape[1]!, ...new Array<number>(Math.max(0, e.ndim - 2)).fill(1)];

/**
 * The state of one calibration run: the converted SNN and its folded ANN as programs that line up node by node, the
 * cached values of each calibration batch in both, and what the steps share. calibrateSnn drives it.
 * @example
 * const walk = await calibrate.Walk.start(ann, { T: 8, calibration: trainLoader, steps: calibrate.PIPELINES.light });
 * await walk.loadBatches(); // then, node by node: walk.propagate(k), or a calibrate.neuronContext at a neuron
 * walk.release();
 */
export class Walk {
  readonly T: number;
  /** The V_th/2 shift (docs/methods.md §3): as a per-step bias V_th/2T, or (default) as the initial potential V_th/2. */
  readonly biasShift: boolean;
  readonly potentialShift: boolean;
  /** The rounding shift of clipfloor: 0.5 with the shift, else 0. */
  readonly sh: number;
  /** Whether quantize ran: the neurons have learnt thresholds, and the reference is the quantized ANN. */
  tuned = false;
  readonly batches: BatchValues[] = [];
  /** The samples in the cached batches. */
  seen = 0;
  /** The neuron nodes, in order. */
  readonly neurons: number[];
  readonly seconds: Record<string, number> = {};
  private readonly last: Map<string, number>;
  /** Graph constants are the graph's own tensors: never disposed here (the ANN and SNN programs share names). */
  private readonly constants: Set<string>;
  /** Neurons whose spikes are cached packed (booleans; signed ones as spike + 1 in bytes), by value name. */
  private readonly packed = new Map<string, SpikingNeuron>();

  private constructor(readonly ann: Module, readonly o: CalibrateOptions, readonly converted: ConvertedSnn, readonly folded: Module,
    readonly annP: Program, readonly snnP: Program, readonly searched: Searched | undefined) {
    this.T = o.T;
    const shift = shiftMode(o);
    this.biasShift = shift === 'bias';
    this.potentialShift = shift === 'potential';
    this.sh = shift !== 'none' ? 0.5 : 0;
    this.last = lastUses(snnP);
    this.neurons = snnP.nodes.flatMap((n, k) => (n.kind === 'neuron' ? [k] : []));
    // Weight calibration reads the values its segment reads once the neuron's turn comes: keep them until then.
    if (o.steps.weight) for (const k of this.neurons) for (const v of segmentOf(snnP, k).reads) this.last.set(v, Math.max(this.last.get(v) ?? 0, k));
    this.constants = new Set(snnP.nodes.filter((n) => n.constant).map((n) => n.name));
  }

  /**
   * Searches the thresholds on the ANN side when asked, converts with the initial statistic (each neuron gets its
   * searched threshold when its turn comes, so that the report shows the error before and after) and lowers both.
   */
  static async start(ann: Module, o: CalibrateOptions): Promise<Walk> {
    const mode = shiftMode(o), shift = mode !== 'none', seconds: Record<string, number> = {};
    const t0 = performance.now();
    const annSearch = o.steps.threshold && (o.thresholdSource ?? 'ann') === 'ann';
    const searched = annSearch ? await searchThresholds(ann, o.calibration, { T: o.T, shift: o.searchShift ?? shift, grid: o.grid, points: o.points, samples: o.samples, perChannel: o.perChannel, aggregate: o.thresholdAggregate }) : undefined;
    if (searched) seconds['threshold'] = (performance.now() - t0) / 1000;
    const tc = performance.now();
    const potential = mode === 'potential';
    const converted = await convertToSnn(ann, { calibration: o.calibration, samples: o.samples, threshold: parseThresholdStat(o.initialThreshold ?? 'ema'), shift: potential ? 'potential' : 'none', signed: o.signed ?? false,
      ...(o.surrogate ? { surrogate: o.surrogate } : {}) });
    seconds['convert'] = (performance.now() - tc) / 1000;
    const folded = foldNetwork(ann);
    const annP = lower(folded), snnP = lower(converted.snn, true);
    checkAligned(annP, snnP);
    const walk = new Walk(ann, o, converted, folded, annP, snnP, searched);
    Object.assign(walk.seconds, seconds);
    return walk;
  }

  /** Runs fn, adding its wall time to the phase. */
  timed<R>(phase: string, fn: () => R): R {
    const t = performance.now();
    try { return fn(); } finally { this.seconds[phase] = (this.seconds[phase] ?? 0) + (performance.now() - t) / 1000; }
  }

  /**
   * Caches the calibration batches: the input, and the SNN's input repeated over T. Every batch's input currents
   * ([T, N, ...] floats) stay until their neuron is calibrated, so samples × T is capped (ResNet-20: about 2 GB per
   * cached value at the default cap).
   */
  async loadBatches(): Promise<void> {
    const o = this.o, t1 = performance.now();
    const cap = Math.max(1, Math.floor((o.maxSampleSteps ?? 32768) / o.T));
    const want = Math.min(o.steps.weight ? o.samples ?? 1024 : Math.min(o.samples ?? 1024, o.correctionSamples ?? 256), cap);
    for await (const b of o.calibration.epoch(0)) {
      const x = b.x.clone().keep();
      this.batches.push({ ann: new Map([[this.annP.input, x]]), snn: new Map([[this.snnP.input, tidy(() => x.unsqueeze(0).expand(o.T, ...x.shape).keep())]]), count: x.shape[0]! });
      this.seen += x.shape[0]!;
      b.dispose();
      if (this.seen >= want) break;
    }
    if (!this.batches.length) throw new SnnkitError('calibrate: the calibration loader gave no batch', 'INVALID_ARGUMENT');
    this.seconds['data'] = (performance.now() - t1) / 1000;
  }

  /** A cached SNN value as the network computes with it (packed spikes expanded to spikes × V_th, inside a scope). */
  snnValue(b: BatchValues, name: string): Tensor {
    const t = b.snn.get(name)!, n = this.packed.get(name);
    if (!n) return t;
    return n instanceof SignedIF ? t.to('float32').sub_(1).mul_(n.vTh) : t.to('float32').mul_(n.vTh);
  }

  /** Runs node k (not a neuron) on every batch, in the SNN and the ANN. */
  propagate(k: number): void {
    const s = this.snnP.nodes[k]!, a = this.annP.nodes[k]!;
    this.timed('propagate', () => noGrad(() => {
      for (const b of this.batches) {
        b.snn.set(s.name, tidy(() => s.run(s.inputs.map((i) => this.snnValue(b, i))).keep()));
        b.ann.set(a.name, tidy(() => a.run(a.inputs.map((i) => b.ann.get(i)!)).keep()));
      }
    }));
  }

  /**
   * Replaces neuron k's output in every batch: its spikes in the SNN (cached packed: a quarter of the memory; 1024
   * samples × T = 64 would not fit otherwise), the reference activation in the ANN.
   */
  setSpikes(k: number, neuron: SpikingNeuron, references: Tensor[]): void {
    const s = this.snnP.nodes[k]!, a = this.annP.nodes[k]!, inName = s.inputs[0]!;
    this.packed.set(s.name, neuron);
    // (In place where possible: each temporary of this size costs page faults.)
    const pack = (x: Tensor): Tensor => (neuron instanceof SignedIF ? x.sign().add_(1).to('uint8') : x.ne(0));
    this.timed('propagate', () => noGrad(() => {
      this.batches.forEach((b, i) => {
        b.snn.set(s.name, tidy(() => { neuron.reset(); const out = pack(neuron.forward(b.snn.get(inName)!)).keep(); neuron.reset(); return out; }));
        b.ann.set(a.name, references[i]!);
      });
    }));
  }

  /** Frees the values that no node after k reads. */
  free(k: number): void {
    for (const b of this.batches) {
      for (const [m, p] of [[b.snn, this.snnP], [b.ann, this.annP]] as const) {
        for (const i of new Set(p.nodes[k]!.inputs)) {
          if ((this.last.get(i) ?? -1) > k) continue;
          const t = m.get(i);
          m.delete(i);
          if (t && !this.constants.has(i)) t.dispose();
        }
      }
    }
  }

  /** Frees every cached value and the folded ANN. */
  release(): void {
    for (const b of this.batches) {
      for (const [name, t] of [...b.snn, ...b.ann]) if (!this.constants.has(name)) t.dispose();
    }
    this.batches.length = 0;
    this.folded.dispose();
    this.converted.snn.resetMemories();
  }

  /** Sets a neuron's threshold and, with the shift, its initial potential V_th/2 (the neuron keeps a tensor given). */
  setThreshold(neuron: SpikingNeuron, vTh: number | Tensor): void {
    neuron.setThreshold(vTh);
    neuron.setInitialPotential(this.potentialShift ? (typeof vTh === 'number' ? vTh / 2 : tidy(() => vTh.div(2))) : undefined);
  }

  /** The quantized ANN's clip-floor levels (quantize.levels, default T). */
  get levels(): number {
    return this.o.quantize?.levels ?? this.T;
  }

  /**
   * The quantized ANN's logits for x ([N, ...], normalized as the calibration samples), without gradient: the SNN's
   * layers run as an ANN with each neuron's clip-floor at its current threshold (after quantize: what it trained).
   */
  quantizedAnn(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.runQuantized(x, (k) => (this.snnP.nodes[k]!.module as SpikingNeuron).vTh)));
  }

  /**
   * The SNN's layers run as an ANN on x: each neuron node k a clip-floor at `levels` with the threshold thresholdOf(k,
   * its input) (straight-through, so trainable), every other node its rate function. The quantize step trains this.
   */
  runQuantized(x: Tensor, thresholdOf: (k: number, input: Tensor) => number | Tensor): Tensor {
    const vals = new Map<string, Tensor>([[this.snnP.input, x]]);
    this.snnP.nodes.forEach((n, k) => {
      const ins = n.inputs.map((i) => vals.get(i)!);
      vals.set(n.name, n.kind === 'neuron' ? clipFloorSte(ins[0]!, this.levels, thresholdOf(k, ins[0]!), this.sh) : n.rate(ins));
    });
    return vals.get(this.snnP.output)!;
  }

  /** The reference activation of the neuron layer at node k: the ANN's ReLU, or the quantized ANN's clipfloor. */
  reference(k: number, x: Tensor): Tensor {
    return this.tuned ? clipFloorSte(x, this.levels, (this.snnP.nodes[k]!.module as SpikingNeuron).vTh, this.sh) : this.annP.nodes[k]!.run([x]);
  }
}
