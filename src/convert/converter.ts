/**
 * ANN→SNN conversion by threshold balancing (docs/methods.md §3), as one template driven by options:
 * validate → fold batch norm → collect activation statistics → replace each ReLU by an IF neuron (soft reset,
 * threshold = the statistic, spikes carrying V_th) → average pooling on spikes, residual shortcuts into the membrane,
 * the last layer a non-spiking accumulator → optional V_th/2 shift. Under no-grad; the ANN is left untouched.
 */
import { SnnkitError } from '../errors.js';
import type { DataLoader } from '../data/loader.js';
import { ClippedReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { AdaptiveAvgPool2d, AvgPool2d, Conv2d, Dropout, Flatten, Identity, Linear, MaxPool2d, ReLU } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { GraphModule, type GraphNode } from '../nn/graph.js';
import { BasicBlock, CifarResNet, OptionAShortcut } from '../nn/zoo/resnet.js';
import { IF, SignedIF, SpikingNeuron } from '../neurons/neuron.js';
import { SeqToANN } from '../neurons/containers.js';
import type { Surrogate } from '../surrogate/surrogate.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/scope.js';
import { ResidualBlock } from './blocks.js';
import { foldBatchNorm } from './fold.js';
import { ActivationRecorder, parseThresholdStat, type ThresholdStat } from './stats.js';

/** The V_th/2 shift of Deng & Gu (docs/methods.md §3), which turns flooring into rounding. */
export type ShiftMode = 'none' | 'potential';

/** Options of convertToSnn. */
export interface ConvertOptions {
  /** Training data for the activation statistics (a few batches suffice); not needed with `thresholds`. */
  calibration?: DataLoader;
  /** Use these thresholds (one per ReLU, in network order) instead of statistics: rebuilds a saved SNN. */
  thresholds?: number[];
  /** Samples to use from it (default 1024, rounded up to whole batches). */
  samples?: number;
  /** Threshold statistic: 'max' (default), 'ema' of batch maxima, or { percentile: 99.9 }. */
  threshold?: ThresholdStat | string;
  /** 'potential' starts every membrane at V_th/2, the T-independent form of the V_th/(2T) bias shift. Default 'none'. */
  shift?: ShiftMode;
  /** Signed IF neurons (ternary spikes: spikes fired too early are taken back; SignedIF) instead of IF. Default false. */
  signed?: boolean;
  /** The surrogate of the IF neurons, for training the SNN afterwards (calibration's spike-level steps). Default atan(2). */
  surrogate?: Surrogate;
}

/** A converted network and what conversion found. */
export interface ConvertedSnn {
  /** The SNN: takes [T, N, ...] input currents, returns [T, N, classes] output currents (the last layer does not spike). */
  snn: Module;
  /** Threshold of each IF layer, in network order. */
  thresholds: { layer: string; vTh: number }[];
  /** Samples the statistics came from. */
  samples: number;
}

interface Ctx {
  preset?: number[];
  /** 'fold': the ANN with batch norm folded; 'stats': the same, ReLUs recording; 'snn': the spiking network. */
  mode: 'fold' | 'stats' | 'snn';
  recorders: ActivationRecorder[];
  stat: ThresholdStat;
  shift: ShiftMode;
  signed?: boolean;
  surrogate?: Surrogate;
  /** Activations converted so far, shared by every copy of the context (copies only change `path`). */
  counter: { next: number };
  path: string;
}

function activation(m: ReLU | ClippedReLU, ctx: Ctx): Module {
  const clip = m instanceof ClippedReLU ? m.level() : undefined;
  if (ctx.mode === 'fold') return clip === undefined ? new ReLU() : new ClippedReLU(clip);
  if (ctx.mode === 'stats') {
    const r = new ActivationRecorder(clip, typeof ctx.stat === 'object' ? ctx.stat.percentile : undefined);
    ctx.recorders.push(r);
    return r;
  }
  const k = ctx.counter.next++;
  const vTh = ctx.preset ? ctx.preset[k]! : ctx.recorders[k]!.threshold(ctx.stat);
  const o = { vTh, reset: 'soft', amplitude: 'threshold', stepMode: 'multi', v0: ctx.shift === 'potential' ? vTh / 2 : undefined,
    ...(ctx.surrogate ? { surrogate: ctx.surrogate } : {}) } as const;
  return ctx.signed ? new SignedIF(o) : new IF(o);
}

const stateless = (m: Module, ctx: Ctx): Module => (ctx.mode === 'snn' ? new SeqToANN(m) : m);

function convertList(children: [string, Module][], ctx: Ctx): Record<string, Module> {
  const out: Record<string, Module> = {};
  for (let i = 0; i < children.length; i++) {
    const [name, m] = children[i]!;
    const next = children[i + 1]?.[1];
    const path = ctx.path ? `${ctx.path}.${name}` : name;
    if ((m instanceof Conv2d || m instanceof Linear) && next instanceof BatchNorm2d) {
      out[name] = stateless(foldBatchNorm(m, next), ctx); // the folded pair keeps the conv's name
      i++;
      continue;
    }
    out[name] = convertModule(m, { ...ctx, path });
  }
  return out;
}

/**
 * A graph (an imported ONNX model): conv/linear → batch-norm pairs whose conv output feeds only the batch norm are
 * folded (the batch-norm node becomes an identity), modules are converted one by one in graph order, and built-in ops
 * (add, concat, reshape, slice, pad ...) stay, run with time folded into the batch: an Add of a residual shortcut
 * therefore adds spikes into the input of the neuron after it.
 */
function convertGraph(g: GraphModule, ctx: Ctx): GraphModule {
  const foldInto = new Map<string, BatchNorm2d>(), foldedBn = new Set<string>();
  for (const n of g.nodes) {
    if (!(n.op instanceof BatchNorm2d)) continue;
    const src = g.node(n.inputs[0]!);
    if (src && (src.op instanceof Conv2d || src.op instanceof Linear) && g.consumers(src.name).length === 1) {
      foldInto.set(src.name, n.op);
      foldedBn.add(n.name);
    }
  }
  const nodes: GraphNode[] = g.nodes.map((n) => {
    if (!(n.op instanceof Module)) return { name: n.name, op: n.op, inputs: n.inputs };
    if (foldedBn.has(n.name)) return { name: n.name, op: { type: 'identity' }, inputs: n.inputs };
    const bn = foldInto.get(n.name);
    const op = bn ? stateless(foldBatchNorm(n.op as Conv2d | Linear, bn), ctx) : convertModule(n.op, { ...ctx, path: n.name });
    return { name: n.name, op, inputs: n.inputs };
  });
  return new GraphModule(g.inputName, nodes, g.outputName, { multiStep: ctx.mode === 'snn' });
}

function convertModule(m: Module, ctx: Ctx): Module {
  const at = ctx.path || 'the model';
  let r: Module;
  if (m instanceof GraphModule) {
    return convertGraph(m, ctx);
  } else if (m instanceof Sequential || m instanceof CifarResNet) {
    r = new Sequential(convertList(m.namedChildren(), ctx)); // the ANN's child names, so layers are recognisable
  } else if (m instanceof BasicBlock) {
    r = new ResidualBlock({
      conv1: stateless(foldBatchNorm(m.conv1, m.bn1), ctx),
      act1: convertModule(m.relu1, { ...ctx, path: `${at}.relu1` }),
      conv2: stateless(foldBatchNorm(m.conv2, m.bn2), ctx),
      shortcut: convertModule(m.shortcut, { ...ctx, path: `${at}.shortcut` }),
      act2: convertModule(m.relu2, { ...ctx, path: `${at}.relu2` }),
    });
  } else if (m instanceof ReLU || m instanceof ClippedReLU) {
    r = activation(m, ctx);
  } else if (m instanceof Conv2d || m instanceof Linear) {
    r = stateless(foldBatchNorm(m), ctx);
  } else if (m instanceof BatchNorm2d) {
    throw new SnnkitError(`convert: ${at} is a BatchNorm2d that does not follow a Conv2d or Linear, so it cannot be folded`, 'INVALID_ARGUMENT');
  } else if (m instanceof MaxPool2d) {
    throw new SnnkitError(`convert: ${at} is MaxPool2d: max pooling of spike trains does not preserve rates; use AvgPool2d (the zoo's models do)`, 'INVALID_ARGUMENT');
  } else if (m instanceof AvgPool2d || m instanceof AdaptiveAvgPool2d || m instanceof Flatten || m instanceof Identity || m instanceof OptionAShortcut) {
    r = stateless(m, ctx);
  } else if (m instanceof Dropout) {
    r = stateless(new Identity(), ctx);
  } else {
    throw new SnnkitError(`convert: ${at} is a ${m.constructor.name}, which the converter does not know; supported: Sequential, Conv2d, Linear, ` +
      'BatchNorm2d after them, ReLU, ClippedReLU, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity, the zoo ResNets and imported graphs', 'INVALID_ARGUMENT');
  }
  return r;
}

/**
 * The ANN with every batch norm folded into the conv/linear before it (eval-mode semantics), as a new model; the
 * first step of conversion, exposed so that its exactness can be checked.
 * @throws SnnkitError naming the first layer that cannot be converted
 * @example
 * const folded = foldNetwork(model); // no BatchNorm2d left; the model itself is unchanged
 * const y = tidy(() => folded.forward(x)); // what model.eval().forward(x) gives, up to float rounding
 */
export function foldNetwork(ann: Module): Module {
  const folded = convertModule(ann, { mode: 'fold', recorders: [], stat: 'max', shift: 'none', counter: { next: 0 }, path: '' });
  folded.eval();
  return folded;
}

/**
 * Converts a trained ANN (eval-mode semantics) into a multi-step SNN.
 * @param ann the ANN (Sequential, zoo models, or compositions of the supported layers); not modified
 * @returns the SNN, its thresholds and the number of samples used
 * @throws SnnkitError naming the first layer that cannot be converted, and why
 * @example
 * const { snn } = await convertToSnn(model, { calibration: trainLoader, threshold: 'max' });
 */
export async function convertToSnn(ann: Module, opts: ConvertOptions): Promise<ConvertedSnn> {
  const stat = parseThresholdStat(opts.threshold ?? 'max');
  const ctx: Ctx = { mode: 'stats', recorders: [], stat, shift: opts.shift ?? 'none', signed: opts.signed ?? false, ...(opts.surrogate ? { surrogate: opts.surrogate } : {}), counter: { next: 0 }, path: '' };
  const wasTraining = ann.training;
  ann.eval();
  try {
    const probe = convertModule(ann, ctx); // validates every layer and folds batch norm
    probe.eval();
    const want = opts.samples ?? 1024;
    let seen = 0;
    if (opts.thresholds) {
      if (opts.thresholds.length !== ctx.recorders.length || !opts.thresholds.every((t) => Number.isFinite(t) && t > 0))
        throw new SnnkitError(`convert: ${opts.thresholds.length} thresholds given, but the model has ${ctx.recorders.length} ReLU layers (each needs a positive threshold)`, 'INVALID_ARGUMENT');
    } else {
      if (!opts.calibration) throw new SnnkitError('convert: give calibration data (or thresholds)', 'INVALID_ARGUMENT');
      for await (const b of opts.calibration.epoch(0)) {
        tidy(() => noGrad(() => { probe.forward(b.x); }));
        seen += b.y.shape[0]!;
        b.dispose();
        if (seen >= want) break;
      }
    }
    const snn = convertModule(ann, { ...ctx, mode: 'snn', counter: { next: 0 }, ...(opts.thresholds ? { preset: opts.thresholds } : {}) });
    snn.eval();
    probe.dispose();
    const thresholds = snn.namedModules().filter(([, m]) => m instanceof SpikingNeuron).map(([layer, m]) => ({ layer, vTh: (m as SpikingNeuron).vTh as number }));
    return { snn, thresholds, samples: seen };
  } finally {
    ann.train(wasTraining);
  }
}
