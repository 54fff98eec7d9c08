/**
 * A converted network (or its folded ANN) as calibration sees it: the nodes of its graph (toGraph in src/nn/graph.ts:
 * leaf modules and tensor ops in topological order), each with its kind (neuron, affine, other) and how to run it on
 * the SNN's spike trains or on rates. The folded ANN and the SNN flatten to graphs that line up node by node (they come from the same walk),
 * the ANN's ReLUs where the SNN has neurons. Calibration runs the program one neuron at a time on cached values
 * (only the values still read later are kept), so every layer is computed once per calibration step, whatever the
 * architecture.
 */
import { SnnkitError } from '../errors.js';
import { ClippedReLU } from '../nn/activation.js';
import { runTensorOp, runTensorOpOnSteps, toGraph } from '../nn/graph.js';
import { Conv2d, Linear, ReLU } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { SeqToANN } from '../neurons/containers.js';
import { SpikingNeuron } from '../neurons/neuron.js';
import type { Tensor } from '../tensor/tensor.js';

/** One node of a program. */
export interface ProgramNode {
  /** Unique name (the module path, or `<block>.add` for a residual block's sum). */
  readonly name: string;
  readonly inputs: readonly string[];
  /** 'neuron': an IF/LIF (SNN) or ReLU (ANN); 'affine': a convolution or linear layer; 'other': the rest. */
  readonly kind: 'neuron' | 'affine' | 'other';
  /** The leaf module, when the node is one (the SeqToANN wrapper in an SNN). */
  readonly module?: Module;
  /** The conv/linear layer itself (unwrapped), for affine nodes. */
  readonly layer?: Conv2d | Linear;
  /** Runs the node as the network does (on [T, N, ...] values in an SNN). */
  run(xs: readonly Tensor[]): Tensor;
  /** Runs the node on time-averaged values [N, ...] (ANN semantics; not defined for neurons). */
  rate(xs: readonly Tensor[]): Tensor;
  /** The built-in op's type ('add', 'reshape', …) for op nodes. */
  readonly op?: string;
  /** True when run() returns a tensor the network keeps (a graph constant): never dispose it. */
  readonly constant?: boolean;
}

/** A lowered network: input name, nodes in order, output name. */
export interface Program {
  readonly input: string;
  readonly nodes: readonly ProgramNode[];
  readonly output: string;
}

const inner = (m: Module): Module => (m instanceof SeqToANN ? m.module : m);

function leaf(m: Module, name: string, input: string): ProgramNode {
  const u = inner(m);
  const isNeuron = m instanceof SpikingNeuron || m instanceof ReLU || m instanceof ClippedReLU;
  const layer = u instanceof Conv2d || u instanceof Linear ? u : undefined;
  return {
    name, inputs: [input], kind: isNeuron ? 'neuron' : layer ? 'affine' : 'other', module: m, ...(layer ? { layer } : {}),
    run: (xs) => m.forward(xs[0]!) as Tensor,
    rate: (xs) => {
      if (m instanceof SpikingNeuron) throw new SnnkitError(`program: node '${name}' is a neuron; it has no rate form`, 'INVALID_ARGUMENT');
      return u.forward(xs[0]!) as Tensor;
    },
  };
}

/**
 * @param m a converted SNN or a folded ANN (Sequential, residual blocks, graphs, leaf modules: anything toGraph flattens)
 * @param multiStep the SNN: its tensor ops run on [T, N, ...] values, time folded into the batch (runTensorOpOnSteps)
 * @returns its program: the nodes of toGraph(m), with what calibration needs to know of each; the input is 'input'
 * @example
 * const p = calibrate.lower(converted.snn, true);
 * const neuronNames = p.nodes.filter((n) => n.kind === 'neuron').map((n) => n.name);
 */
export function lower(m: Module, multiStep = false): Program {
  const g = toGraph(m);
  const constants = new Set(g.nodes.filter((n) => !(n.op instanceof Module) && n.op.type === 'constant').map((n) => n.name));
  const nodes = g.nodes.map((n): ProgramNode => {
    if (n.op instanceof Module) return leaf(n.op, n.name, n.inputs[0]!);
    const op = n.op, isConstant = n.inputs.map((i) => constants.has(i));
    return {
      name: n.name, inputs: n.inputs, kind: 'other', op: op.type, rate: (xs) => runTensorOp(op, xs),
      run: (xs) => (multiStep ? runTensorOpOnSteps(op, xs, isConstant) : runTensorOp(op, xs)), ...(op.type === 'constant' ? { constant: true } : {}),
    };
  });
  return { input: g.input, nodes, output: g.output };
}

/**
 * Checks that the folded ANN's program and the SNN's line up: the same nodes, neurons where the ANN has ReLUs.
 * @throws SnnkitError naming the first node that differs
 * @example
 * const converted = await convert.convertToSnn(ann, { calibration: trainLoader });
 * calibrate.checkAligned(calibrate.lower(convert.foldNetwork(ann)), calibrate.lower(converted.snn, true));
 */
export function checkAligned(ann: Program, snn: Program): void {
  if (ann.nodes.length !== snn.nodes.length)
    throw new SnnkitError(`calibrate: the folded ANN has ${ann.nodes.length} nodes but the SNN ${snn.nodes.length}; they must come from the same conversion`, 'INVALID_ARGUMENT');
  ann.nodes.forEach((a, i) => {
    const s = snn.nodes[i]!;
    if (a.kind !== s.kind || a.inputs.join() !== s.inputs.join())
      throw new SnnkitError(`calibrate: node ${i} is '${a.name}' (${a.kind}) in the ANN but '${s.name}' (${s.kind}) in the SNN`, 'INVALID_ARGUMENT');
  });
}

/** @returns for each value name, the index of the last node that reads it (the output is read "at the end") */
export function lastUses(p: Program): Map<string, number> {
  const last = new Map<string, number>();
  p.nodes.forEach((n, k) => n.inputs.forEach((i) => last.set(i, k)));
  last.set(p.output, p.nodes.length);
  return last;
}

/**
 * The nodes that compute a neuron's input from the values alive before the previous neuron ran: walking back from
 * the neuron's input through non-neuron nodes. Weight calibration trains the affine layers among them, and bias
 * correction adds to the bias of the one on the main path.
 * @param k the neuron's node index
 * @returns node indices in program order, and the names of the values they read from outside (neuron outputs, the input)
 * @example
 * const p = calibrate.lower(converted.snn, true), k = p.nodes.findIndex((n) => n.kind === 'neuron');
 * const { nodes, reads } = calibrate.segmentOf(p, k); // the first neuron's input layers; reads: [p.input]
 */
export function segmentOf(p: Program, k: number): { nodes: number[]; reads: string[] } {
  const index = new Map(p.nodes.map((n, i) => [n.name, i]));
  const inSeg = new Set<number>(), reads = new Set<string>();
  const visit = (v: string): void => {
    const i = index.get(v);
    if (i === undefined || p.nodes[i]!.kind === 'neuron') { reads.add(v); return; }
    if (inSeg.has(i)) return;
    inSeg.add(i);
    for (const u of p.nodes[i]!.inputs) visit(u);
  };
  for (const v of p.nodes[k]!.inputs) visit(v);
  return { nodes: [...inSeg].sort((a, b) => a - b), reads: [...reads] };
}

/** Ops through which a bias added upstream reaches the neuron unchanged. */
const BIAS_TRANSPARENT = new Set(['add', 'identity', 'reshape', 'flatten']);

/**
 * The affine layer whose bias feeds a neuron's input directly: from the neuron's input back through adds (the first
 * operand that leads to one: the main path), identities and reshapes, to a conv/linear node with a bias.
 * @throws SnnkitError naming the neuron when there is none (e.g. the neuron follows a pooling layer)
 * @example
 * const p = calibrate.lower(converted.snn, true), k = p.nodes.findIndex((n) => n.kind === 'neuron');
 * const layer = calibrate.biasLayerOf(p, k); // the conv/linear whose bias feeds the first neuron
 */
export function biasLayerOf(p: Program, k: number): Conv2d | Linear {
  const index = new Map(p.nodes.map((n, i) => [n.name, i]));
  const find = (v: string): Conv2d | Linear | undefined => {
    const n = p.nodes[index.get(v) ?? -1];
    if (!n) return undefined;
    if (n.kind === 'affine') return n.layer?.bias ? n.layer : undefined;
    if (n.kind !== 'other' || !n.op || !BIAS_TRANSPARENT.has(n.op)) return undefined;
    return n.op === 'add' ? n.inputs.map(find).find((l) => l !== undefined) : find(n.inputs[0]!);
  };
  const layer = find(p.nodes[k]!.inputs[0]!);
  if (layer) return layer;
  throw new SnnkitError(`calibrate: the neuron '${p.nodes[k]!.name}' is not fed directly by a convolution or linear layer with a bias, so bias correction cannot apply there`, 'INVALID_ARGUMENT');
}
