/**
 * Where the last block ends when a head follows the final norm: a reduction over the sequence
 * (mean pooling) is the head's, not part of a written-out LayerNorm; a block whose output has
 * another rank than its input is doubted. A twin tower (one encoder run on two inputs) is
 * marked, and a spec adapting both towers is warned that it unties them.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpecFile } from '../../../compiler/compile.ts';
import { modelToProto } from '../../../compiler/graph/index.ts';
import { writeModel } from '../../../compiler/onnx/index.ts';
import { setAttr } from '../../../compiler/graph/attributes.ts';
import { Graph, GraphBuilder, Model, modelFromProto } from '../../../compiler/graph/index.ts';
import { locateBlocks } from '../../../compiler/locate/index.ts';
import { DataType, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { buildModel } from '../../../examples/models/index.ts';
import { checkInvariants } from './support.ts';

/** A post-LN BERT with written-out LayerNorms whose [CLS] Gather is replaced by ReduceMean over the sequence. */
function meanPooledBert(keepdims: 0 | 1): { model: Model; finalNormExit: string } {
  const model = modelFromProto(buildModel('bert', { layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 40, layerNormForm: 'decomposed' }).model);
  const gather = model.graph.nodes.find((n) => n.opType === 'Gather' && n.attributes.some((a) => a.name === 'axis' && Number(a.i) === 1));
  if (!gather) throw new Error('the builder no longer pools with a Gather on axis 1');
  const finalNormExit = gather.inputs[0]!;
  gather.opType = 'ReduceMean';
  gather.inputs = [finalNormExit];
  gather.attributes = [];
  setAttr(gather, 'axes', [1]);
  setAttr(gather, 'keepdims', keepdims);
  if (keepdims === 1) {
    // The classifier reads [batch, d]: squeeze the kept axis as such an export would.
    const pooled = gather.outputs[0]!;
    gather.outputs = [`${pooled}.kept`];
    const squeeze = { name: 'pool_squeeze', opType: 'Squeeze', domain: '', inputs: [`${pooled}.kept`, 'pool_axes'], outputs: [pooled], attributes: [] };
    model.graph.nodes.splice(model.graph.nodes.indexOf(gather) + 1, 0, squeeze);
    model.graph.initializers.set('pool_axes', makeTensor('pool_axes', DataType.INT64, [1], BigInt64Array.from([1n])));
  }
  return { model, finalNormExit };
}

for (const keepdims of [0, 1] as const) {
  test(`mean pooling after the final written-out LayerNorm is the head's (keepdims ${keepdims})`, (t) => {
    const { model, finalNormExit } = meanPooledBert(keepdims);
    const map = locateBlocks(model);
    t.is(map.style, 'post-ln');
    t.is(map.blocks.length, 2);
    t.is(map.blocks.at(-1)!.output, finalNormExit, 'the last block ends at the LayerNorm, before the pooling');
    t.deepEqual(map.doubts, []);
    checkInvariants(t, model, map);
  });
}

/** Residual MLP blocks on flat [tokens, d] rows, each followed by a written-out LayerNorm over axis `axis`. */
function flatPostLn(axis: number): Model {
  const D = 8;
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs = [makeValueInfo('x', DataType.FLOAT, ['tokens', D])];
  let seed = 11;
  const w = (r: number, c: number) => b.initializer('w', makeTensor('w', DataType.FLOAT, [r, c], Float32Array.from({ length: r * c }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5)));
  const scalar = (v: number) => b.initializer('c', makeTensor('c', DataType.FLOAT, [], Float32Array.from([v])));
  const norm = (x: string) => {
    const mean = b.op('ReduceMean', [x], { axes: [axis] });
    const centred = b.op('Sub', [x, mean]);
    const variance = b.op('ReduceMean', [b.op('Pow', [centred, scalar(2)])], { axes: [axis] });
    return b.op('Div', [centred, b.op('Sqrt', [b.op('Add', [variance, scalar(1e-5)])])]);
  };
  let h = 'x';
  for (let i = 0; i < 3; i++) h = norm(b.op('Add', [h, b.op('MatMul', [b.op('Relu', [b.op('MatMul', [h, w(D, 2 * D)])]), w(2 * D, D)])]));
  g.outputs = [makeValueInfo(h, DataType.FLOAT, ['tokens', D])];
  const m = new Model(g);
  m.opsets.set('', 17);
  return m;
}

for (const axis of [1, -1]) {
  test(`a LayerNorm over axis ${axis} of rank-2 rows is still a norm: post-LN`, (t) => {
    const model = flatPostLn(axis);
    const map = locateBlocks(model);
    t.is(map.style, 'post-ln');
    t.is(map.blocks.length, 3);
    t.is(map.blocks.at(-1)!.output, model.graph.outputNames()[0]);
    t.false(map.doubts.some((d) => d.includes('rank')));
  });
}

test('a block output of another rank than its input is doubted, naming both values', (t) => {
  // Boundaries that end the last block after a ReduceMean dropping the sequence axis.
  const D = 8;
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs = [makeValueInfo('x', DataType.FLOAT, ['batch', 'seq', D])];
  let seed = 5;
  const w = (r: number, c: number) => b.initializer('w', makeTensor('w', DataType.FLOAT, [r, c], Float32Array.from({ length: r * c }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5)));
  let h = 'x';
  for (let i = 0; i < 2; i++) h = b.op('Add', [h, b.op('MatMul', [b.op('Relu', [b.op('MatMul', [h, w(D, 2 * D)])]), w(2 * D, D)])]);
  const pooled = b.op('ReduceMean', [h], { axes: [1], keepdims: 0 });
  g.outputs = [makeValueInfo(pooled, DataType.FLOAT, ['batch', D])];
  const model = new Model(g);
  model.opsets.set('', 17);
  const map = locateBlocks(model, { kind: 'boundaries', streams: [['x', firstAdd(model), pooled]] });
  const doubt = map.doubts.find((d) => d.includes('rank'));
  t.truthy(doubt, map.doubts.join('\n'));
  t.regex(doubt!, new RegExp(`output '${pooled}' has rank 2, its input '.*' rank 3`));
});

/** The stream between the two residual blocks of the model above: the first Add's output. */
function firstAdd(model: Model): string {
  return model.graph.nodes.find((n) => n.opType === 'Add')!.outputs[0]!;
}

/** A BERT classifier and a second copy of it on its own inputs, reading the same initializers (a siamese pair). */
function siamese(): Model {
  const model = modelFromProto(buildModel('bert', { layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 40 }).model);
  const g = model.graph;
  const second = (v: string) => (v === '' || g.initializers.has(v) ? v : `${v}.second`);
  const copies = g.nodes.map((n) => ({ ...n, name: n.name ? `${n.name}.second` : '', inputs: n.inputs.map(second), outputs: n.outputs.map(second) }));
  g.nodes.push(...copies);
  g.inputs = [...g.inputs, ...g.inputs.map((v) => ({ ...v, name: second(v.name) }))];
  g.outputs = [...g.outputs, ...g.outputs.map((v) => ({ ...v, name: second(v.name) }))];
  return model;
}

test('a twin tower reading the same weights block for block is marked as its twin', (t) => {
  const map = locateBlocks(siamese());
  t.deepEqual(map.stacks.map((s) => [s.name, s.count, s.twinOf]), [['stack0', 2, undefined], ['stack1', 2, 'stack0']]);
  t.true(map.notes.some((n) => n.includes("the stack1 stack reads the stack0 stack's weights block for block")));
  // Two stacks of different weights are not twins.
  const plain = locateBlocks(modelFromProto(buildModel('bert', { layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 40 }).model));
  t.is(plain.stacks[0]!.twinOf, undefined);
});

test('compiling adapters onto both twin towers warns that it unties them; one tower alone does not', (t) => {
  const work = mkdtempSync(join(tmpdir(), 'lor2c-twins-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const model = join(work, 'siamese.onnx');
  writeModel(modelToProto(siamese()), model);
  const compile = (body: string) => {
    const spec = join(work, 'spec.lor2c');
    writeFileSync(spec, `model "siamese.onnx"\n${body}train {\n  task classify(logits "logits", labels "label")\n}\n`);
    return compileSpecFile(spec, { out: join(work, 'out'), force: true }).diagnostics.filter((d) => d.code === 'twin-stacks-untied');
  };
  const both = compile('lor2c { rank 2 }\n');
  t.is(both.length, 1);
  t.regex(both[0]!.message, /LoR2C modules on both the stack0 and the stack1 stack/);
  t.is(both[0]!.severity, 'warning');
  t.is(both[0]!.range.line, 2);
  t.is(compile('lora { rank 2 }\n').length, 1);
  t.deepEqual(compile('lor2c {\n  rank 2\n  blocks stack0\n}\n'), []);
});
