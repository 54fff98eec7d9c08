// toGraph: every network flattens to one graph of leaf modules and tensor ops, which computes what the network does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convert, Generator, nn, randn, tidy, type Tensor } from '../../src/index.js';
const { runTensorOp, toGraph } = nn;
type Graph = nn.Graph;
type GraphNode = nn.GraphNode;

/** Runs a flat graph node by node. */
function interpret(g: Graph, x: Tensor): Tensor {
  const values = new Map<string, Tensor>([[g.input, x]]);
  for (const n of g.nodes) {
    const xs = n.inputs.map((i) => values.get(i)!);
    values.set(n.name, n.op instanceof nn.Module ? n.op.forward(xs[0]!) as Tensor : runTensorOp(n.op, xs));
  }
  return values.get(g.output)!;
}

test('toGraph flattens a folded ResNet-20 (Sequential, residual blocks) into leaf nodes named by path, which compute its output', () => tidy(() => {
  const net = convert.foldNetwork(nn.createModel('cifar-resnet20', { generator: new Generator(1) }));
  const g = toGraph(net);
  assert.ok(g.nodes.every((n: GraphNode) => !(n.op instanceof nn.Module) || !(n.op instanceof nn.Sequential)), 'no container left');
  assert.deepEqual(g.nodes.slice(0, 3).map((n) => n.name), ['conv1', 'relu', 'layer1.0.conv1']);
  const block = g.nodes.filter((n) => n.name.startsWith('layer1.0.')).map((n) => [n.name, n.inputs]);
  assert.deepEqual(block, [['layer1.0.conv1', ['relu']], ['layer1.0.act1', ['layer1.0.conv1']], ['layer1.0.conv2', ['layer1.0.act1']],
    ['layer1.0.shortcut', ['relu']], ['layer1.0.add', ['layer1.0.conv2', 'layer1.0.shortcut']], ['layer1.0.act2', ['layer1.0.add']]]);
  assert.equal(g.nodes.filter((n) => !(n.op instanceof nn.Module)).length, 9, 'one add per residual block');
  const x = randn([2, 3, 32, 32], { generator: new Generator(2) });
  assert.equal(interpret(g, x).sub(net.forward(x)).abs().amax().item(), 0);
}));

test('toGraph lowers a GraphModule inside a Sequential: its nodes under the module path, tensor ops kept', () => tidy(() => {
  const inner = new nn.GraphModule('x', [
    { name: 'fc', op: new nn.Linear(4, 4, { generator: new Generator(3) }), inputs: ['x'] },
    { name: 'sum', op: { type: 'add' }, inputs: ['fc', 'x'] },
  ], 'sum');
  const net = new nn.Sequential(new nn.ReLU(), inner, new nn.Linear(4, 2, { generator: new Generator(4) }));
  const g = toGraph(net);
  assert.deepEqual(g.nodes.map((n) => [n.name, n.inputs]), [['0', ['input']], ['1.fc', ['0']], ['1.sum', ['1.fc', '0']], ['2', ['1.sum']]]);
  const x = randn([3, 4], { generator: new Generator(5) });
  assert.equal(interpret(g, x).sub(net.forward(x)).abs().amax().item(), 0);
  assert.deepEqual(toGraph(new nn.ReLU()).nodes.map((n) => n.name), ['model'], 'a leaf at the root');
}));
