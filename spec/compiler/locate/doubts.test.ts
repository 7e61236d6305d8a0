/**
 * Doubtful structure is said on every compile and refused under --strict; a decoder exported
 * with its key/value cache is refused with what to export instead.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpecFile, prepareBase } from '../../../compiler/compile.ts';
import { isUserError } from '../../../contract/errors.ts';
import { Graph, GraphBuilder, Model, modelFromProto, modelToProto } from '../../../compiler/graph/index.ts';
import { locateBlocks, summarizeBlocks } from '../../../compiler/locate/index.ts';
import { DataType, makeTensor, makeValueInfo, readModel, writeModel } from '../../../compiler/onnx/index.ts';
import type { Plan } from '../../../contract/plan.ts';

const D = 8;
const work = mkdtempSync(join(tmpdir(), 'lor2c-doubts-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** Three residual MLP blocks with no attention and no norm: blocks, but doubtful ones. */
function mlpStack(): Model {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs = [makeValueInfo('x', DataType.FLOAT, ['batch', D])];
  let seed = 7;
  const w = (r: number, c: number) => b.initializer('w', makeTensor('w', DataType.FLOAT, [r, c], Float32Array.from({ length: r * c }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5)));
  let h = 'x';
  for (let i = 0; i < 3; i++) h = b.op('Add', [h, b.op('MatMul', [b.op('Relu', [b.op('MatMul', [h, w(D, 2 * D)])]), w(2 * D, D)])]);
  g.outputs = [makeValueInfo(h, DataType.FLOAT, ['batch', D])];
  const m = new Model(g);
  m.opsets.set('', 17);
  return m;
}

test('doubtful blocks: warnings with the hint in the compile summary', (t) => {
  const map = locateBlocks(mlpStack());
  t.is(map.blocks.length, 3);
  t.true(map.doubts.length > 0);
  t.true(map.doubts.every((d) => map.notes.includes(d)), 'doubts are notes too');
  const lines = summarizeBlocks(map);
  t.is(lines[0], 'blocks      3 (other, hidden 8)');
  t.true(lines.some((l) => l.startsWith('warning     no residual branch holds a Softmax')));
  t.regex(lines.at(-1)!, /^hint .*blocks boundaries .*--strict makes this an error/);
});

test('--strict refuses doubtful blocks, naming what was doubtful and the fix', (t) => {
  const model = join(work, 'mlp.onnx');
  writeModel(modelToProto(mlpStack()), model);
  const spec = join(work, 'spec.lor2c');
  writeFileSync(spec, 'lor2c { rank 2 }\n');
  const e = t.throws(() => compileSpecFile(spec, { model, out: join(work, 'out'), strict: true }));
  t.true(isUserError(e));
  t.regex(e!.message, /--strict: the block structure found in .* is doubtful:\n {2}no residual branch holds a Softmax/);
  t.regex((e as { hint?: string }).hint!, /blocks boundaries/);
});

test('the torch exports of spec/fixtures/torch/structure raise no doubt', (t) => {
  for (const file of ['gpt_hand-opset14.onnx', 'neox-opset17.onnx', 'falcon-opset11.onnx', 'bart-opset14.onnx', 't5-opset12.onnx', 'vit-opset13.onnx', 'whisper-opset17.onnx']) {
    const map = locateBlocks(modelFromProto(readModel(join(import.meta.dirname, '../../fixtures/torch/structure', file))));
    t.deepEqual(map.doubts, [], file);
  }
});

test("a 'with-past' decoder: its cache inputs are found and compile refuses it with what to export", (t) => {
  const path = join(import.meta.dirname, '../../fixtures/torch/structure/gpt_past-opset14.onnx');
  const map = locateBlocks(modelFromProto(readModel(path)));
  t.deepEqual(map.pastInputs, ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
  const e = t.throws(() => prepareBase({ blocks: { kind: 'auto' } } as Plan, path));
  t.true(isUserError(e));
  t.regex(e!.message, /exported with its key\/value cache: inputs 'past_key_values\.0\.key'/);
  t.regex((e as { hint?: string }).hint!, /without past key\/values/);
});
