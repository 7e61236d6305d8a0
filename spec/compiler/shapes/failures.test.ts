/**
 * What shape inference does when a rule cannot answer: inputs that contradict each other or the
 * op (a malformed graph) make that node's outputs unknown; a rule that fails any other way has
 * a bug, reported as an internal error naming the op and the node, never silently "unknown".
 */
import test from 'ava';
import { Graph } from '../../../compiler/graph/graph.ts';
import { makeAttrs } from '../../../compiler/graph/attributes.ts';
import { DataType, makeTensor } from '../../../compiler/onnx/index.ts';
import { inferGraphValues, ruleFor, type Inferred } from '../../../compiler/shapes/index.ts';
import { isUserError } from '../../../contract/errors.ts';

const f32 = (...shape: number[]): Inferred => ({ dtype: DataType.FLOAT, shape });
const opsets = new Map([['', 17]]);

function oneNode(opType: string, inputs: string[], attrs = {}): Graph {
  const graph = new Graph();
  graph.nodes.push({ name: 'the_node', opType, domain: '', inputs, outputs: ['y'], attributes: makeAttrs(attrs) });
  return graph;
}

test('contradictory inputs (MatMul [3,4] x [5,6]) leave the output unknown', (t) => {
  const types = inferGraphValues(oneNode('MatMul', ['a', 'b']), opsets, new Map([['a', f32(3, 4)], ['b', f32(5, 6)]]));
  t.is(types.get('y')?.shape, undefined);
});

test('a Constant whose value attribute holds no tensor leaves the output unknown', (t) => {
  const graph = oneNode('Constant', [], { value: 3 }); // an INT attribute named 'value': a malformed model
  t.is(inferGraphValues(graph, opsets).get('y')?.shape, undefined);
});

test('consistent inputs still infer (the narrowing keeps every answer)', (t) => {
  const graph = oneNode('MatMul', ['a', 'w']);
  graph.initializers.set('w', makeTensor('w', DataType.FLOAT, [4, 6], new Float32Array(24)));
  t.deepEqual(inferGraphValues(graph, opsets, new Map([['a', f32(3, 4)]])).get('y')?.shape, [3, 6]);
});

test('a rule that fails with anything but a contradiction is a bug, reported naming the op and the node', (t) => {
  const broken = (domain: string, opType: string) =>
    opType === 'Relu' ? () => { throw new TypeError("Cannot read properties of undefined (reading 'length')"); } : ruleFor(domain, opType);
  const error = t.throws(() => inferGraphValues(oneNode('Relu', ['a']), opsets, new Map([['a', f32(2)]]), { rules: broken }));
  t.false(isUserError(error));
  t.regex(error!.message, /^internal error: the shape rule of Relu failed on Relu 'the_node': Cannot read properties of undefined/);
  t.true((error as Error).cause instanceof TypeError);
});

test('a cycle in the graph is inferred in file order, not an error', (t) => {
  const graph = new Graph();
  graph.nodes.push({ name: 'p', opType: 'Relu', domain: '', inputs: ['q_out'], outputs: ['p_out'], attributes: [] });
  graph.nodes.push({ name: 'q', opType: 'Relu', domain: '', inputs: ['p_out'], outputs: ['q_out'], attributes: [] });
  const types = inferGraphValues(graph, opsets);
  t.true(types.has('p_out') && types.has('q_out'));
});
