/** `lor2c inspect`'s report: the blocks found, in text and JSON; a model without blocks is a note, not a failure. */
import test from 'ava';
import { inspectModel, renderInspection } from '../../compiler/inspect.ts';
import { Graph, GraphBuilder, Model, modelToProto } from '../../compiler/graph/index.ts';
import { DataType, makeTensor, makeValueInfo } from '../../compiler/onnx/index.ts';
import { buildModel } from '../../examples/models/index.ts';

test('inspect reports the blocks of a transformer', (t) => {
  const report = inspectModel(buildModel('gpt2', { vocabSize: 50, dModel: 32, heads: 4, ffn: 64, maxPositions: 32, layers: 2 }).model);
  if ('error' in report.blocks) return t.fail(report.blocks.error);
  t.is(report.blocks.blocks.length, 2);
  const text = renderInspection(report, 'gpt2.onnx');
  t.regex(text, /^blocks {6}2 \(pre-ln, hidden 32\)$/m);
  t.regex(text, /^ {2}h\.0: '\/Add_output_0' -> '\/h\.0\/Add_1_output_0'/m);
  t.regex(text, /^ {4}qkv +MatMul 32->96 \[in,out\] \+bias {2}'h\.0\.attn\.c_attn\.weight'/m);
  const json = JSON.parse(JSON.stringify(report)) as typeof report;
  t.deepEqual(json.blocks, report.blocks);
});

test('inspect shows a model without blocks as a note with the hint', (t) => {
  const g = new Graph();
  g.inputs = [makeValueInfo('x', DataType.FLOAT, ['batch', 4])];
  const b = new GraphBuilder(g);
  const w = b.initializer('w', makeTensor('w', DataType.FLOAT, [4, 4], new Float32Array(16).fill(0.5)));
  g.outputs = [makeValueInfo(b.op('Relu', [b.op('MatMul', ['x', w])]), DataType.FLOAT, ['batch', 4])];
  const m = new Model(g);
  m.opsets.set('', 17);
  const report = inspectModel(modelToProto(m));
  t.true('error' in report.blocks);
  const text = renderInspection(report, 'mlp.onnx');
  t.regex(text, /^blocks {6}none found$/m);
  t.regex(text, /^ {2}note: no residual connections found/m);
  t.regex(text, /^ {2}hint: name the block boundaries in the spec/m);
});
