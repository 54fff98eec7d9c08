/**
 * snnkit's one graph representation: nodes `{ name, op, inputs }` in topological order, each op a module or a built-in
 * tensor op. GraphModule runs such a node list as a module (what loadOnnx returns, and what the ANN→SNN converter walks);
 * toGraph flattens any network — Sequential, GraphModule, residual blocks, leaf modules — into a Graph of leaf modules
 * and tensor ops, which calibration walks node by node (the folded ANN and its SNN flatten to graphs that line up) and
 * exporters map.
 */
import { SnnkitError } from '../errors.js';
import { cat } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Padding modes of the 'pad' op (torch's names). */
export type PadMode = 'constant' | 'reflect' | 'replicate';

/**
 * A built-in tensor op of a graph node. Shapes follow ONNX: 'reshape' copies a 0 from the input (unless `allowZero`)
 * and infers one -1; 'flatten' gives a 2-D [prod(dims < axis), prod(dims >= axis)]; 'slice' takes per-axis
 * starts/ends/steps with negative indices counted from the end, ends clamped and negative steps walking backwards;
 * 'pad' lists (before, after) pairs from the last dimension, as torch.nn.functional.pad.
 */
export type TensorOp =
  | { readonly type: 'add' }
  | { readonly type: 'mul' }
  | { readonly type: 'matmul' }
  | { readonly type: 'concat'; readonly axis: number }
  | { readonly type: 'reshape'; readonly shape: readonly number[]; readonly allowZero?: boolean }
  | { readonly type: 'flatten'; readonly axis: number }
  | { readonly type: 'slice'; readonly starts: readonly number[]; readonly ends: readonly number[]; readonly axes: readonly number[]; readonly steps: readonly number[] }
  | { readonly type: 'pad'; readonly pads: readonly number[]; readonly mode: PadMode; readonly value: number }
  | { readonly type: 'identity' }
  | { readonly type: 'constant'; readonly value: Tensor };

/** The names of the built-in ops. */
export const TENSOR_OPS: readonly TensorOp['type'][] = ['add', 'mul', 'matmul', 'concat', 'reshape', 'flatten', 'slice', 'pad', 'identity', 'constant'];

/** One node: its name (also the name of its output value), what it computes, and the values it reads. */
export interface GraphNode {
  readonly name: string;
  /** A child module (one tensor in, one out) or a built-in op. */
  readonly op: Module | TensorOp;
  /** Names of the graph input or of earlier nodes. */
  readonly inputs: readonly string[];
}

/** A network as plain data: the input value's name, the nodes in topological order, the output value's name. */
export interface Graph {
  readonly input: string;
  readonly nodes: readonly GraphNode[];
  readonly output: string;
}

/** How a composite module lists its parts (toGraph passes these): lower a child module, or add one node. */
export interface GraphLowering {
  /** Lowers module m reading the value `input`, its nodes named under `name`. @returns the name of its output value */
  lower(m: Module, input: string, name: string): string;
  /** Adds a node. @returns its name (its output value's) */
  emit(node: GraphNode): string;
}

/**
 * A module made of others that lists itself as graph nodes (Sequential, GraphModule, ResidualBlock): toGraph lowers it
 * into its parts instead of keeping it as one node. A container of your own implements this to be calibrated and
 * exported like the built-in ones.
 */
export interface GraphComposite {
  /**
   * @param input the name of the value it reads
   * @param name its path in the network ('' at the root): its parts are named `${name}.${part}`
   * @returns the name of the value it produces
   */
  toNodes(input: string, name: string, g: GraphLowering): string;
}

/**
 * @returns whether m lists itself as graph nodes
 * @example
 * isGraphComposite(new Sequential(new ReLU())); // true; false for a leaf such as new ReLU()
 */
export function isGraphComposite(m: Module): m is Module & GraphComposite {
  return typeof (m as Partial<GraphComposite>).toNodes === 'function';
}

/**
 * `${name}.${part}`, or part at the root.
 * @example
 * childPath('layer1.0', 'conv1'); // 'layer1.0.conv1' (childPath('', 'conv1') is 'conv1')
 */
export const childPath = (name: string, part: string): string => (name ? `${name}.${part}` : part);

/**
 * Flattens a network into leaf modules and tensor ops: composites (GraphComposite) are lowered recursively, any other
 * module is one node named by its path ('model' for a leaf at the root). The graph's input is called 'input'.
 * @example
 * const g = toGraph(createModel('cifar-resnet20'));  // g.nodes: conv1, bn1, relu, layer1.0.conv1, ...
 */
export function toGraph(m: Module): Graph {
  const nodes: GraphNode[] = [];
  const g: GraphLowering = {
    lower: (mod, input, name) => (isGraphComposite(mod) ? mod.toNodes(input, name, g) : g.emit({ name: name || 'model', op: mod, inputs: [input] })),
    emit: (node) => (nodes.push(node), node.name),
  };
  const output = g.lower(m, 'input', '');
  return { input: 'input', nodes, output };
}

/**
 * Runs a built-in op on multi-step values [T, N, ...] (a converted SNN): time folded into the batch for the op, then
 * unfolded; inputs marked constant have no time dimension. With no timed input, the op runs as it is.
 * @example
 * runTensorOpOnSteps({ type: 'flatten', axis: 1 }, [spikes], [false]); // [T, N, C, H, W] → [T, N, C·H·W]
 */
export function runTensorOpOnSteps(op: TensorOp, xs: readonly Tensor[], constant: readonly boolean[]): Tensor {
  const timed = xs.find((_, i) => !constant[i]);
  if (op.type === 'constant' || !timed) return runTensorOp(op, xs);
  const [T, N] = [timed.shape[0]!, timed.shape[1]!];
  const y = runTensorOp(op, xs.map((t, i) => (constant[i] ? t : t.flatten(0, 1))));
  return y.reshape(T, N, ...y.shape.slice(1));
}

const ARITY: Record<TensorOp['type'], [number, number]> = {
  add: [2, 2], mul: [2, 2], matmul: [2, 2], concat: [1, Infinity], reshape: [1, 1], flatten: [1, 1], slice: [1, 1],
  pad: [1, 1], identity: [1, 1], constant: [0, 0],
};

/**
 * Runs one built-in op.
 * @param op the op
 * @param xs its inputs, in order
 * @returns a new tensor (for 'constant', the kept tensor itself)
 * @throws SnnkitError (SHAPE_MISMATCH) when a reshape does not fit; native errors for incompatible shapes
 * @example
 * runTensorOp({ type: 'concat', axis: 1 }, [a, b]); // cat([a, b], 1)
 */
export function runTensorOp(op: TensorOp, xs: readonly Tensor[]): Tensor {
  const x = xs[0]!;
  switch (op.type) {
    case 'add': return x.add(xs[1]!);
    case 'mul': return x.mul(xs[1]!);
    case 'matmul': return x.matmul(xs[1]!);
    case 'concat': return cat(xs, op.axis < 0 ? op.axis + x.ndim : op.axis);
    case 'reshape': return x.reshape(...op.shape.map((d, i) => (d === 0 && !op.allowZero ? dimOf(x, i, 'reshape') : d)));
    case 'flatten': {
      const axis = op.axis < 0 ? op.axis + x.ndim : op.axis;
      const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      return x.reshape(outer, x.shape.slice(axis).reduce((a, b) => a * b, 1));
    }
    case 'slice': return sliceOnnx(x, op);
    case 'pad': return x.pad(op.pads, op.mode, op.value);
    case 'identity': return x.view(...x.shape);
    case 'constant': return op.value;
  }
}

function dimOf(x: Tensor, i: number, what: string): number {
  const d = x.shape[i];
  if (d === undefined) throw new SnnkitError(`GraphModule ${what}: shape entry ${i} is 0 (copy the input's dim) but the input ${x.describe()} has only ${x.ndim} dims`, 'SHAPE_MISMATCH');
  return d;
}

/** ONNX Slice on a runtime shape: normalise and clamp each start/end, flip the axis for a negative step. */
function sliceOnnx(x: Tensor, op: Extract<TensorOp, { type: 'slice' }>): Tensor {
  let y = x;
  for (let i = 0; i < op.axes.length; i++) {
    const axis = op.axes[i]! < 0 ? op.axes[i]! + x.ndim : op.axes[i]!;
    const dim = dimOf(x, axis, 'slice');
    const step = op.steps[i] ?? 1;
    let s = op.starts[i]!, e = op.ends[i]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    let next: Tensor;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      next = y.slice(axis, s, Math.max(e, s), step);
    } else if (step < 0) {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      const flipped = y.flip(axis);
      next = flipped.slice(axis, dim - 1 - s, Math.max(dim - 1 - e, dim - 1 - s), -step);
      flipped.dispose();
    } else throw new SnnkitError(`GraphModule slice: step 0 on axis ${axis}; expected a non-zero step`);
    if (y !== x) y.dispose();
    y = next;
  }
  return y === x ? x.view(...x.shape) : y;
}

/**
 * A network as a DAG of nodes run in topological order, with one input and one output. Module nodes are registered
 * as children under their node names, so parameters are named `<node>.weight`; constants are kept as
 * non-persistent buffers. Intermediate values are freed as soon as their last consumer has run.
 * @example
 * const g = new GraphModule('x', [
 *   { name: 'fc', op: new Linear(4, 3), inputs: ['x'] },
 *   { name: 'relu', op: new ReLU(), inputs: ['fc'] },
 *   { name: 'sum', op: { type: 'add' }, inputs: ['relu', 'fc'] },
 * ], 'sum');
 * const y = g.forward(x);
 */
export class GraphModule extends Module implements GraphComposite {
  /** The nodes, in topological order (read-only: build a new GraphModule to change the graph). */
  readonly nodes: readonly GraphNode[];
  private readonly lastUse: Map<string, number>;
  private readonly byName: Map<string, GraphNode>;

  /**
   * Multi-step mode (a converted SNN): values carry a leading time dimension [T, N, ...], and the built-in ops, written
   * for the ANN's [N, ...] layout, run with time folded into the batch; constants have no time dimension.
   */
  readonly multiStep: boolean;

  /**
   * @param inputName the name of the graph input, as node inputs refer to it
   * @param nodes the nodes, in any order that has no cycle
   * @param outputName the node whose value forward() returns
   * @throws SnnkitError (INVALID_ARGUMENT) naming the node with a duplicate or invalid name, an unknown input, a wrong
   *   number of inputs or an unknown op; naming the nodes on a cycle; when outputName is not a node or the input
   */
  constructor(readonly inputName: string, nodes: readonly GraphNode[], readonly outputName: string, opts: { multiStep?: boolean } = {}) {
    super();
    this.multiStep = opts.multiStep ?? false;
    const fail = (msg: string): never => { throw new SnnkitError(`GraphModule: ${msg}`); };
    if (typeof inputName !== 'string' || inputName === '') fail(`the input name must be a non-empty string, got ${String(inputName)}`);
    const byName = new Map<string, GraphNode>();
    for (const n of nodes) {
      if (typeof n.name !== 'string' || n.name === '' || n.name.includes('.')) fail(`node name ${JSON.stringify(n.name)} must be a non-empty string without '.'`);
      if (byName.has(n.name) || n.name === inputName) fail(`node name '${n.name}' is used twice (node names and the input name must be unique)`);
      byName.set(n.name, { name: n.name, op: n.op, inputs: Object.freeze([...n.inputs]) });
      const [lo, hi] = n.op instanceof Module ? [1, 1] : ARITY[(n.op as TensorOp).type] ?? fail(`node '${n.name}': unknown op ${JSON.stringify((n.op as { type?: unknown }).type)}; expected a Module or one of ${TENSOR_OPS.join(', ')}`);
      if (n.inputs.length < lo || n.inputs.length > hi)
        fail(`node '${n.name}' (${opName(n.op)}) has ${n.inputs.length} inputs, expected ${lo === hi ? lo : `at least ${lo}`}`);
    }
    for (const n of byName.values()) for (const i of n.inputs) if (i !== inputName && !byName.has(i)) fail(`node '${n.name}' reads '${i}', which is neither the input '${inputName}' nor a node`);
    if (outputName !== inputName && !byName.has(outputName)) fail(`the output '${outputName}' is not a node`);
    this.nodes = Object.freeze(topoSort(inputName, [...byName.values()], fail));
    this.byName = byName;
    for (const n of this.nodes) {
      if (n.op instanceof Module) this.registerModule(n.name, n.op);
      else if (n.op.type === 'constant') this.registerBuffer(n.name, n.op.value, { persistent: false });
    }
    this.lastUse = new Map();
    this.nodes.forEach((n, k) => n.inputs.forEach((i) => this.lastUse.set(i, k)));
  }

  /** @returns the node called `name`, or undefined */
  node(name: string): GraphNode | undefined {
    return this.byName.get(name);
  }
  /** @returns the nodes that read the value `name` (a node or the input), in topological order */
  consumers(name: string): GraphNode[] {
    return this.nodes.filter((n) => n.inputs.includes(name));
  }

  /**
   * Runs the graph.
   * @param x the graph input
   * @returns the output node's value
   */
  forward(x: Tensor): Tensor {
    const values = new Map<string, Tensor>([[this.inputName, x]]);
    const owned = (t: Tensor): boolean => t !== x && ![...values.values()].includes(t) && !this.isConstant(t);
    this.nodes.forEach((n, k) => {
      const xs = n.inputs.map((i) => values.get(i)!);
      let y: Tensor;
      try {
        y = n.op instanceof Module ? n.op.forward(xs[0]!) as Tensor : this.runOp(n.op, xs);
      } catch (e) {
        if (e instanceof SnnkitError) e.message = `GraphModule node '${n.name}' (${opName(n.op)}, inputs ${xs.map((t) => t.describe()).join(', ')}): ${e.message}`;
        throw e;
      }
      values.set(n.name, y);
      for (const i of new Set(n.inputs)) {
        if (this.lastUse.get(i) !== k || i === this.outputName) continue;
        const t = values.get(i)!;
        values.delete(i);
        if (owned(t)) t.dispose();
      }
    });
    const out = values.get(this.outputName)!;
    return this.outputName === this.inputName || this.isConstant(out) ? out.view(...out.shape) : out;
  }

  /**
   * Runs a built-in op as this graph does: in multi-step mode on [T, N, ...] values, time folded into the batch for
   * the op, then unfolded (constants have no time dimension). For 'constant' it returns the kept tensor itself.
   */
  runOp(op: TensorOp, xs: readonly Tensor[]): Tensor {
    return this.multiStep ? runTensorOpOnSteps(op, xs, xs.map((t) => this.isConstant(t))) : runTensorOp(op, xs);
  }

  /** Lists its nodes under `name`: module nodes lowered in turn, tensor ops as they are. */
  toNodes(input: string, name: string, g: GraphLowering): string {
    const rename = new Map<string, string>([[this.inputName, input]]);
    for (const n of this.nodes) {
      const ins = n.inputs.map((i) => rename.get(i)!);
      const at = childPath(name, n.name);
      rename.set(n.name, n.op instanceof Module ? g.lower(n.op, ins[0]!, at) : g.emit({ name: at, op: n.op, inputs: ins }));
    }
    return rename.get(this.outputName)!;
  }

  private isConstant(t: Tensor): boolean {
    return this.nodes.some((n) => !(n.op instanceof Module) && n.op.type === 'constant' && n.op.value === t);
  }

  protected override extraRepr(): string {
    return `${this.inputName} → ${this.outputName}, ${this.nodes.length} nodes`;
  }
}

/**
 * @returns a short description of an op, for messages
 * @example
 * opName(new Conv2d(3, 16, 3)); // 'Conv2d' (opName({ type: 'add' }) is 'add')
 */
export function opName(op: Module | TensorOp): string {
  return op instanceof Module ? op.constructor.name : op.type;
}

/** Kahn's algorithm, keeping the given order among ready nodes. */
function topoSort(input: string, nodes: GraphNode[], fail: (msg: string) => never): GraphNode[] {
  const done = new Set<string>([input]);
  const out: GraphNode[] = [];
  let rest = nodes;
  while (rest.length) {
    const ready = rest.filter((n) => n.inputs.every((i) => done.has(i)));
    if (!ready.length) fail(`the nodes ${rest.map((n) => `'${n.name}'`).join(', ')} form a cycle or depend on one`);
    for (const n of ready) done.add(n.name);
    out.push(...ready);
    rest = rest.filter((n) => !done.has(n.name));
  }
  return out;
}
