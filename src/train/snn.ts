/**
 * Direct SNN training: BPTT through the fused neuron kernels with surrogate gradients, on the shared epoch loop
 * (loop.ts): the losses of snn-loss.ts (mean output, rates, TET), optional Dspike temperature search after chosen
 * epochs (dspike-search.ts), and weights to start from (an ANN checkpoint of the same layout: hybrid training).
 */
import { SnnkitError } from '../errors.js';
import { snnLoss, type SnnLoss } from '../functional/snn-loss.js';
import { SpikingClassifier, type StepClassifier } from '../neurons/classifier.js';
import type { Module } from '../nn/module.js';
import { distillationLoss } from '../functional/loss.js';
import { PLIF } from '../neurons/neuron.js';
import { Generator } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeMeta, loadCheckpoint } from '../models/checkpoint.js';
import { readSafetensorsHeader } from '../formats/safetensors.js';
import { noGrad } from '../tensor/autograd.js';
import { checkDspikeNeurons, searchDspikeTemperature, setDspikeTemperature, type DspikeSearchOptions } from './dspike-search.js';
import { loopHyper, runEpochs, type LoopHyperParams, type LoopResult, type TrainerIO } from './loop.js';

/** When and how to search Dspike's temperature during training. */
export interface FdgSchedule extends Omit<DspikeSearchOptions, 'b' | 'param' | 'generator'> {
  /** Search after every `every` epochs (default 1). */
  every?: number;
}

/** Hyper-parameters of trainSnn (saved in checkpoints). */
export interface SnnHyperParams extends LoopHyperParams {
  /** Default mean-ce. */
  loss?: SnnLoss;
  /** The Dspike temperature search; needs neurons with the dspike surrogate. */
  fdg?: FdgSchedule;
  /** Distillation from a teacher (the ANN): its weight λ and temperature τ (recorded; the teacher itself is in `teacher`). */
  distill?: { weight: number; temperature: number };
}

/** Options of trainSnn (the validation split `val` is taken from the training data; `best` is chosen on it). */
export interface TrainSnnOptions extends SnnHyperParams, TrainerIO<StepClassifier> {
  /**
   * A teacher whose logits the SNN's mean output also learns (knowledge distillation, with `distill`): the loss is
   * the SNN loss + λ · τ² · KL(softmax(teacher/τ) ‖ softmax(snn/τ)). Run in eval mode, without gradients.
   */
  teacher?: Module;
}

/** What trainSnn returns. */
export type TrainSnnResult = LoopResult;

/** Keeps a copy of the first training batch of each epoch: the search's batch. */
class FirstBatch {
  x: Tensor | undefined;
  y: Tensor | undefined;
  take(x: Tensor, y: Tensor): void {
    if (this.x) return;
    this.x = x.clone().keep();
    this.y = y.clone().keep();
  }
  clear(): void {
    this.x?.dispose();
    this.y?.dispose();
    this.x = this.y = undefined;
  }
}

function dspikeState(model: StepClassifier) {
  const first = model.neurons()[0]?.[1];
  const s = { b: first?.options.surrogate.param ?? NaN };
  return {
    s,
    state: { save: () => ({ dspike_b: s.b }), load: (saved: unknown) => {
      const b = (saved as { dspike_b?: number }).dspike_b;
      if (typeof b === 'number' && b > 0) {
        s.b = b;
        setDspikeTemperature(model, b);
      }
    } },
  };
}

/**
 * Trains a spiking classifier with BPTT and surrogate gradients. Membranes start fresh for every batch; the running
 * accuracy reads the mean output over T; `best` is chosen on `val` (never on `test`); with `fdg`, Dspike's
 * temperature is searched on the epoch's first batch after every `fdg.every` epochs and logged (dspike_b and the three
 * cosines, columns of log.csv).
 * @returns the history (final-epoch test accuracy last), the best epoch on val, and the checkpoint paths
 * @throws SnnkitError for invalid hyper-parameters, a diverging loss, an fdg search on neurons without Dspike
 * @example
 * const snn = createSpikingModel('snn-mnist-cnn', { T: 4 });
 * await trainSnn({ model: snn, train, val, test, epochs: 20, optimizer: 'adam', lr: 1e-3, loss: { kind: 'tet' }, outDir: 'runs/snn', meta: { arch: 'snn-mnist-cnn' } });
 */
export async function trainSnn(opts: TrainSnnOptions): Promise<TrainSnnResult> {
  const { model } = opts;
  const loss: SnnLoss = opts.loss ?? { kind: 'mean-ce' };
  if (loss.kind.startsWith('rate') && !model.spikingOutput)
    throw new SnnkitError(`trainSnn: loss '${loss.kind}' needs a spiking output layer (spikingOutput); use mean-ce or tet for current outputs`, 'INVALID_ARGUMENT');
  const fdg = opts.fdg;
  const every = fdg?.every ?? 1;
  if (fdg && !(Number.isInteger(every) && every >= 1)) throw new SnnkitError(`trainSnn: fdg.every must be a positive integer, got ${every}`, 'INVALID_ARGUMENT');
  if (fdg && !(model instanceof SpikingClassifier)) throw new SnnkitError('trainSnn: the Dspike search (fdg) needs a SpikingClassifier', 'INVALID_ARGUMENT');
  const distill = checkDistill(opts);
  const hyper: SnnHyperParams = { ...loopHyper(opts), loss, ...(fdg ? { fdg } : {}), ...(distill ? { distill } : {}) };
  const batch = new FirstBatch();
  const { s, state } = dspikeState(model);
  if (fdg) checkDspikeNeurons(model, 'trainSnn: the Dspike search (fdg)');
  try {
    return await runEpochs({
      fn: 'trainSnn', model, train: opts.train, val: opts.val, test: opts.test, outDir: opts.outDir, resume: opts.resume,
      meta: opts.meta, hyper, progress: opts.progress, onEpoch: opts.onEpoch, state,
      forward: (x, y) => {
        if (fdg) batch.take(x, y);
        const out = model.forwardSteps(x), logits = out.mean(0), l = snnLoss(out, y, loss);
        if (!distill) return { loss: l, logits };
        const t = noGrad(() => opts.teacher!.forward(x));
        return { loss: l.add(distillationLoss(logits, t, { temperature: distill.temperature }).mul(distill.weight)), logits };
      },
      afterEpoch: (epoch) => {
        const extra: Record<string, number> = {};
        for (const [name, n] of model.neurons()) if (n instanceof PLIF) extra[`decay_${name}`] = n.decay;
        if (!fdg || (epoch + 1) % every !== 0 || !batch.x) return extra;
        const r = searchDspikeTemperature(model as SpikingClassifier, batch.x, batch.y!, loss, { ...fdg, b: s.b, generator: new Generator((opts.seed ?? 0) * 1000 + epoch) });
        batch.clear();
        s.b = r.b;
        opts.progress?.log(`Dspike search: b ${r.candidates.map((c, k) => `${c.toFixed(3)} (cos ${r.cosines[k]!.toFixed(4)})`).join(', ')} -> ${r.b.toFixed(3)} ` +
          `[${r.weights} weights, ${r.seconds.toFixed(1)} s]`);
        return { ...extra, dspike_b: r.b, cos_minus: r.cosines[0], cos_mid: r.cosines[1], cos_plus: r.cosines[2], fdg_norm: r.fdgNorm, fdg_seconds: r.seconds };
      },
    });
  } finally {
    batch.clear();
  }
}


/** Checks that a teacher and its distillation weights come together; puts the teacher in eval mode. */
function checkDistill(opts: TrainSnnOptions): SnnHyperParams['distill'] {
  if (!opts.teacher && !opts.distill) return undefined;
  if (!opts.teacher || !opts.distill) throw new SnnkitError('trainSnn: give both teacher and distill ({ weight, temperature }), or neither', 'INVALID_ARGUMENT');
  const { weight, temperature } = opts.distill;
  if (!(Number.isFinite(weight) && weight >= 0)) throw new SnnkitError(`trainSnn: distill.weight must be a number >= 0, got ${weight}`, 'INVALID_ARGUMENT');
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new SnnkitError(`trainSnn: distill.temperature must be > 0, got ${temperature}`, 'INVALID_ARGUMENT');
  opts.teacher.eval();
  return { weight, temperature };
}

/** The conversion metadata of a checkpoint written by snnkit convert (thresholds of its IF layers in network order). */
interface ConvertedMeta {
  thresholds: number[];
  /** 'potential': v(0) = V_th/2 (the V_th/2T shift). */
  shift?: string;
  calibration?: unknown;
}

/** Sets the converted network's thresholds on the model's hidden neurons, in network order. */
function setConvertedThresholds(model: SpikingClassifier, path: string, conv: ConvertedMeta): void {
  const hidden = model.neurons().filter(([name]) => name !== 'output_neuron');
  if (hidden.length !== conv.thresholds.length)
    throw new SnnkitError(`--init: ${path} has ${conv.thresholds.length} thresholds but the model has ${hidden.length} neuron layers`, 'STATE_DICT_MISMATCH');
  const one = hidden.find(([, n]) => n.options.amplitude !== 'threshold');
  if (one)
    throw new SnnkitError(`--init: ${path} is a converted network, whose spikes carry the threshold; neuron '${one[0]}' has amplitude '${one[1].options.amplitude}' (build it with amplitude 'threshold')`, 'INVALID_ARGUMENT');
  hidden.forEach(([, n], i) => {
    const th = conv.thresholds[i]!;
    if (n.thresholdParam) noGrad(() => n.thresholdParam!.fill_(th));
    else n.setThreshold(th);
    if (conv.shift === 'potential') n.setInitialPotential(th / 2);
  });
}

/**
 * Loads starting weights into a spiking model (hybrid training): an snnkit or plain safetensors checkpoint of the
 * same layout, such as the ANN zoo model whose names the spiking one keeps (cifar-resnet20 → snn-cifar-resnet20), or
 * a network converted from one by `snnkit convert`, whose thresholds then go to the neurons in network order (their
 * spikes must carry the threshold, as in the converted network; with its shift, v(0) = V_th/2; batch norm stays
 * unfolded and trains on). Such a start reproduces the converted network's accuracy (tested).
 * Every tensor of the file must match a model tensor by name and shape; model tensors the file lacks may only be
 * neuron parameters (learnt thresholds, PLIF decays), which keep their initial values.
 * @returns the names of the model tensors left at their initial values
 * @throws SnnkitError naming the file and the keys that do not match, a calibrated checkpoint (not supported yet), a
 *   converted one whose threshold count or spike amplitude does not fit, or the file's own errors
 * @example
 * const snn = createSpikingModel('snn-cifar-resnet20', { T: 4 });
 * const fresh = loadInitWeights(snn, 'runs/cifar-resnet20/best.safetensors');  // [] when every tensor was loaded
 */
export function loadInitWeights(model: SpikingClassifier, path: string): string[] {
  const ck = loadCheckpoint(path);
  try {
    const own = model.stateDict();
    try {
      const neuronKeys = new Set(model.neurons().flatMap(([n, m]) => m.namedParameters(n).map(([k]) => k)));
      const fileKeys = Object.keys(ck.weights);
      const conv = ck.meta['snn'] as ConvertedMeta | undefined;
      // A calibrated checkpoint's own weights (under snn.) and potentials would be dropped: refuse.
      if (fileKeys.some((k) => k.startsWith('snn.')) || (conv && (conv.calibration !== undefined || !Array.isArray(conv.thresholds))))
        throw new SnnkitError(`--init: ${path} is a calibrated SNN checkpoint; starting from one is not supported yet: pass the ANN or the converted checkpoint it was made from`, 'STATE_DICT_MISMATCH');
      const unexpected = fileKeys.filter((k) => !(k in own));
      const wrong = fileKeys.filter((k) => k in own && own[k]!.shape.join(',') !== ck.weights[k]!.shape.join(','))
        .map((k) => `${k} (file ${ck.weights[k]!.describe()}, model ${own[k]!.describe()})`);
      const missing = Object.keys(own).filter((k) => !(k in ck.weights) && !neuronKeys.has(k) && !k.endsWith('num_batches_tracked'));
      if (unexpected.length || wrong.length || missing.length) {
        const parts = [unexpected.length ? `not in the model: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', ...' : ''}` : '',
          wrong.length ? `other shapes: ${wrong.slice(0, 4).join('; ')}` : '', missing.length ? `missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}` : '']
          .filter(Boolean);
        throw new SnnkitError(`--init: ${path} does not have the model's layout: ${parts.join('. ')}`, 'STATE_DICT_MISMATCH');
      }
      if (conv) setConvertedThresholds(model, path, conv);
      model.loadStateDict(ck.weights, { strict: false });
      return Object.keys(own).filter((k) => !(k in ck.weights) && neuronKeys.has(k) && !(conv && k.endsWith('.vTh')));
    } finally {
      for (const t of Object.values(own)) t.dispose();
    }
  } finally {
    ck.dispose();
  }
}

/** @returns whether a checkpoint file was written by snnkit convert (its spikes carry the threshold) */
export function isConvertedCheckpoint(path: string): boolean {
  const meta = decodeMeta(readSafetensorsHeader(path).metadata);
  return typeof meta['snn'] === 'object' && meta['snn'] !== null;
}
