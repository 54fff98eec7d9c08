/**
 * The weight step (docs/methods.md §5): the affine layers feeding the neuron trained so that clipfloor of the current
 * they compute from the SNN's time-averaged inputs (cached for all samples) matches the reference activation, floor
 * passed straight through ('rate', the authors'); or the neuron's actual firing rate through time with its surrogate
 * ('spikes'), or the first then the second. Afterwards the neuron's input current is recomputed in every batch.
 */
import { Adam } from '../../optim/adam.js';
import { SGD } from '../../optim/sgd.js';
import { CosineAnnealingLR } from '../../optim/schedule.js';
import { enableGrad, noGrad } from '../../tensor/autograd.js';
import { cat, Generator, randperm } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { segmentOf } from '../program.js';
import type { CalibrationStep, NeuronContext } from '../step.js';
import { clipFloorSte } from '../../functional/clipfloor.js';
import type { Walk } from '../walk.js';

export const weightStep: CalibrationStep = {
  name: 'weight',
  run(c) {
    c.walk.timed('weight', () => calibrateWeights(c));
    return true;
  },
};

/** Runs the segment of nodes feeding the neuron on `vals` (its reads filled in), as rates or through time. */
function runSegment(walk: Walk, nodes: number[], vals: Map<string, Tensor>, rate: boolean): void {
  for (const i of nodes) {
    const n = walk.snnP.nodes[i]!;
    vals.set(n.name, rate ? n.rate(n.inputs.map((x) => vals.get(x)!)) : n.run(n.inputs.map((x) => vals.get(x)!)));
  }
}

function calibrateWeights({ walk, k, neuron, targets, inName }: NeuronContext): void {
  const { snnP, annP, batches } = walk;
  const seg = segmentOf(snnP, k);
  const layers = seg.nodes.map((i) => snnP.nodes[i]!).filter((n) => n.kind === 'affine' && n.layer).map((n) => n.layer!);
  if (!layers.length) return;
  const w = walk.o.weight ?? {};
  const iterations = w.iterations ?? 5000, bs = w.batchSize ?? 32, lr = w.lr ?? 4e-5;
  const objective = w.objective ?? 'rate';
  const phases: [phase: 'rate' | 'spikes', iterations: number][] = objective === 'rate+spikes'
    ? [['rate', iterations], ['spikes', w.spikeIterations ?? 300]] : [[objective, iterations]];
  // The rate form trains on all samples' time-averaged inputs; the spike form on one cached batch at a time.
  const useRates = objective !== 'spikes';
  const rates = useRates ? new Map(seg.reads.map((v) => [v, noGrad(() => tidy(() => cat(batches.map((b) => (v === snnP.input ? b.ann.get(annP.input)! : walk.snnValue(b, v).mean(0)))).keep()))])) : new Map<string, Tensor>();
  const target = useRates ? tidy(() => cat([...targets]).keep()) : undefined;
  const N = walk.seen;
  const params = layers.flatMap((l) => (w.trainBias && l.bias ? [l.weight, l.bias] : [l.weight]));
  const gen = new Generator(w.seed ?? 0);
  const V = neuron.vTh;
  let perm: Tensor | undefined, pos = N;
  try {
    for (const [phase, steps] of phases) {
      const opt = w.optimizer === 'sgd' ? new SGD(params, { lr, momentum: 0.9 }) : new Adam(params, { lr });
      const sched = new CosineAnnealingLR(opt, steps);
      const update = (loss: Tensor): void => { opt.zeroGrad(); loss.backward(); opt.step(); sched.step(); };
      for (let it = 0; it < steps; it++) {
        if (phase === 'spikes') {
          const bi = it % batches.length, b = batches[bi]!;
          tidy(() => enableGrad(() => {
            const idx = randperm(b.count, { generator: gen }).narrow(0, 0, Math.min(bs, b.count));
            const vals = new Map<string, Tensor>(seg.reads.map((v) => [v, walk.snnValue(b, v).indexSelect(1, idx)]));
            runSegment(walk, seg.nodes, vals, false);
            neuron.reset();
            const rate = neuron.forward(vals.get(inName)!).mean(0);
            neuron.reset();
            update(rate.sub(targets[bi]!.indexSelect(0, idx)).square().mean());
          }));
          continue;
        }
        if (pos + bs > N) { perm?.dispose(); perm = randperm(N, { generator: gen }).keep(); pos = 0; }
        tidy(() => enableGrad(() => {
          const idx = perm!.narrow(0, pos, Math.min(bs, N));
          const vals = new Map<string, Tensor>([...rates].map(([v, r]) => [v, r.indexSelect(0, idx)]));
          runSegment(walk, seg.nodes, vals, true);
          update(clipFloorSte(vals.get(inName)!, walk.T, V, walk.sh).sub(target!.indexSelect(0, idx)).square().mean());
        }));
        pos += bs;
      }
      opt.zeroGrad();
    }
  } finally {
    perm?.dispose();
    neuron.reset();
    for (const l of layers) l.zeroGrad();
    for (const r of rates.values()) r.dispose();
    target?.dispose();
  }
  recomputeSegment(walk, seg.nodes);
}

/** The layers changed: recompute the segment, in spikes, in every batch. */
function recomputeSegment(walk: Walk, nodes: number[]): void {
  noGrad(() => {
    for (const b of walk.batches) {
      const vals = new Map<string, Tensor>(), consts = new Map<string, Tensor>();
      for (const i of nodes) {
        const n = walk.snnP.nodes[i]!;
        if (n.constant) consts.set(n.name, n.run([])); // the graph's own tensor: never disposed here
        else vals.set(n.name, tidy(() => n.run(n.inputs.map((x) => vals.get(x) ?? consts.get(x) ?? walk.snnValue(b, x))).keep()));
      }
      for (const [name, t] of vals) {
        if (b.snn.has(name)) { b.snn.get(name)!.dispose(); b.snn.set(name, t); } else t.dispose();
      }
    }
  });
}
