/**
 * biasIntoGemm: a linear layer's MatMul + bias Add becomes one Gemm with the bias as C, with
 * the same values up to float rounding; an Add it cannot prove to be a bias over the product's
 * columns, a product read elsewhere, or an output shape only Shape(z) could give, stays.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Emitter, Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor } from '../../../compiler/onnx/index.ts';
import { biasIntoGemm } from '../../../compiler/passes/bias-into-gemm.ts';
import { eliminateDeadCode } from '../../../compiler/passes/dce.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import type { Dim } from '../../../compiler/shapes/dim.ts';
import { rng } from '../autodiff/gradcheck.ts';
import '../../support/ort.ts';

const [N, S, D, P] = [2, 3, 6, 5];

interface Case {
  /** x's shape; symbolic dims are fed sizes unless `unknownSizes`. */
  x?: Dim[];
  /** The bias's dims: [P] is a bias over the product's columns. */
  bias?: number[];
  /** The bias as the Add's first operand (torch.onnx.export writes either order). */
  biasFirst?: boolean;
  /** The product is also a graph output. */
  productOutput?: boolean;
  /** No fed input names the symbolic dims: only Shape(z) knows them. */
  unknownSizes?: boolean;
}

/** y = Relu(MatMul(x, W) + b); with `fused` the rewrite applied. */
function linear(c: Case, fused: boolean): { model: Model; rewritten: number } {
  const xShape = c.x ?? ['n', 's', D];
  const biasDims = c.bias ?? [P];
  const g = new Graph();
  const b = new GraphBuilder(g);
  const rand = rng(5);
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: xShape }));
  const init = (name: string, dims: number[]) => {
    g.initializers.set(name, makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => rand() - 0.5)));
    return name;
  };
  const product = b.op('MatMul', ['x', init('W', [D, P])]);
  const bias = init('b', biasDims);
  const z = b.op('Add', c.biasFirst ? [bias, product] : [product, bias]);
  b.op('Relu', [z], undefined, { outputs: ['y'] });
  g.outputs = [valueInfoFromType('y', { dtype: DataType.FLOAT })];
  if (c.productOutput) g.outputs.push(valueInfoFromType(product, { dtype: DataType.FLOAT }));
  const lead = xShape.slice(0, -1);
  const shapes = new Map([
    [product, { dtype: DataType.FLOAT, shape: [...lead, P] }],
    [z, { dtype: DataType.FLOAT, shape: [...lead, P] }],
  ]);
  const e = new Emitter(g, 17, shapes, 'pass/');
  if (!c.unknownSizes) e.readSizesFrom(['x']);
  const rewritten = fused ? biasIntoGemm(e) : 0;
  eliminateDeadCode(g);
  const model = new Model(g);
  model.opsets.set('', 17);
  return { model, rewritten };
}

async function run(m: Model, x: ort.Tensor): Promise<Float32Array> {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto));
  return (await session.run({ x }))['y']!.data as Float32Array;
}

function input(shape: number[]): ort.Tensor {
  const rand = rng(9);
  return new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => 2 * rand() - 1), shape);
}

async function sameOutputs(t: import('ava').ExecutionContext, c: Case, shape: number[]): Promise<Model> {
  const plain = linear(c, false);
  const fused = linear(c, true);
  t.is(fused.rewritten, 1);
  const ops = fused.model.graph.nodes.map((n) => n.opType);
  t.false(ops.includes('Add'), `no Add left: ${ops.join(' ')}`);
  t.false(ops.includes('MatMul'));
  const gemm = fused.model.graph.nodes.find((n) => n.opType === 'Gemm')!;
  t.is(gemm.inputs[2], 'b', 'the bias is the Gemm\'s C');
  const x = input(shape);
  const want = await run(plain.model, x);
  const got = await run(fused.model, x);
  t.is(got.length, want.length);
  const worst = Math.max(...[...want].map((v, i) => Math.abs(v - got[i]!)));
  t.true(worst < 1e-6, `largest difference ${worst}`);
  return fused.model;
}

test('a batched linear layer: Reshape, Gemm with the bias as C, Reshape back to the fed sizes', async (t) => {
  const m = await sameOutputs(t, {}, [N, S, D]);
  t.false(m.graph.nodes.some((n) => n.opType === 'Shape' && n.inputs[0] !== 'x'), 'the output shape comes from the fed input, never from the value being made');
});

test('either operand order of the Add', async (t) => {
  await sameOutputs(t, { biasFirst: true }, [N, S, D]);
});

test('a 2-D activation: one Gemm, no Reshape', async (t) => {
  const m = await sameOutputs(t, { x: ['n', D] }, [N * S, D]);
  t.false(m.graph.nodes.some((n) => n.opType === 'Reshape'));
});

test('static dims: the shape is a constant', async (t) => {
  await sameOutputs(t, { x: [N, S, D], unknownSizes: true }, [N, S, D]);
});

for (const [title, c] of [
  ['an Add over more than the columns (a [s, n] term) is not a bias', { x: [N, S, D], bias: [S, P] }],
  ['a one-element bias is left to the Add', { bias: [1] }],
  ['a product with another reader is left alone', { productOutput: true }],
  ['symbolic dims no fed input names are left alone', { unknownSizes: true }],
] as [string, Case][]) {
  test(title, (t) => {
    t.is(linear(c, true).rewritten, 0);
  });
}
