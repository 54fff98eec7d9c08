/** Monitors: firing rates and spike counts per neuron layer, and optional recordings of spikes and potentials. */
import type { Module } from '../nn/module.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { SpikingNeuron, type NeuronListener, type NeuronRecord } from './neuron.js';

/** Options of SpikeMonitor. */
export interface MonitorOptions {
  /** Keep a copy of every output (for raster plots). Default false. */
  recordSpikes?: boolean;
  /** Keep the potential after every step (switches multi-step layers to the step-by-step path). Default false. */
  recordPotentials?: boolean;
}

interface LayerStats {
  spikes: number;
  slots: number;
  spikeRecords: Tensor[];
  potentialRecords: Tensor[];
}

/**
 * Watches every IF/LIF layer of a model: spike counts, firing rates (spikes per neuron per step), and optionally
 * recordings. Counting costs one reduction per layer and forward; detach() when done.
 * @example
 * const mon = new SpikeMonitor(snn); evaluate(...); console.log(mon.rates()); mon.detach();
 */
export class SpikeMonitor {
  private readonly stats = new Map<string, LayerStats>();
  private readonly attached: [SpikingNeuron, NeuronListener, boolean][] = [];

  /**
   * Attaches a listener to every spiking neuron layer of `model`, until detach().
   * @param model the network (every SpikingNeuron in it is watched, by its qualified name)
   */
  constructor(model: Module, readonly opts: MonitorOptions = {}) {
    for (const [name, m] of model.namedModules()) {
      if (!(m instanceof SpikingNeuron)) continue;
      const key = name || '(root)';
      this.stats.set(key, { spikes: 0, slots: 0, spikeRecords: [], potentialRecords: [] });
      const listener: NeuronListener = (_layer, rec) => this.onRecord(key, rec);
      m.listeners.add(listener);
      this.attached.push([m, listener, m.recordPotentials]);
      if (opts.recordPotentials) m.recordPotentials = true;
    }
  }

  private onRecord(key: string, rec: NeuronRecord): void {
    const s = this.stats.get(key)!;
    s.spikes += tidy(() => rec.spikes.ne(0).sum().item());
    s.slots += rec.spikes.size;
    if (this.opts.recordSpikes) s.spikeRecords.push(rec.spikes.detach().clone().keep());
    if (this.opts.recordPotentials && rec.potentials) s.potentialRecords.push(rec.potentials.detach().clone().keep());
  }

  /** @returns layer name → spikes per neuron per time step since the last reset, in [0, 1] */
  rates(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, s] of this.stats) out[k] = s.slots ? s.spikes / s.slots : 0;
    return out;
  }
  /** @returns layer name → total spikes since the last reset */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, s] of this.stats) out[k] = s.spikes;
    return out;
  }
  /** @returns the recorded spikes and potentials of one layer, one tensor per forward (owned by the monitor) */
  records(layer: string): { spikes: readonly Tensor[]; potentials: readonly Tensor[] } {
    const s = this.stats.get(layer);
    return { spikes: s?.spikeRecords ?? [], potentials: s?.potentialRecords ?? [] };
  }
  /** @returns the names of the watched layers */
  layers(): string[] {
    return [...this.stats.keys()];
  }
  /** Zeroes the counters and frees the recordings. */
  reset(): void {
    for (const s of this.stats.values()) {
      for (const t of [...s.spikeRecords, ...s.potentialRecords]) t.dispose();
      Object.assign(s, { spikes: 0, slots: 0, spikeRecords: [], potentialRecords: [] });
    }
  }
  /** Stops watching (and frees the recordings). */
  detach(): void {
    for (const [m, l, rec] of this.attached) {
      m.listeners.delete(l);
      m.recordPotentials = rec;
    }
    this.attached.length = 0;
    this.reset();
  }
}
