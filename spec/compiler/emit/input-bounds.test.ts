/** Length bounds read off decoder and encoder graphs in every export style: what generate stops at. */
import test from 'ava';
import { buildBert, buildGpt2, buildLlama } from '../../../examples/models/index.ts';
import { modelFromProto } from '../../../compiler/graph/convert.ts';
import { inputBounds } from '../../../compiler/emit/input-bounds.ts';
import type { ModelProto } from '../../../compiler/onnx/index.ts';

const small = { layers: 1, dModel: 16, heads: 2, ffn: 32, vocabSize: 50 };
const lm = { kind: 'lm' as const, labelKey: 'input_ids', logits: 'logits' };

function idsBounds(model: ModelProto) {
  const graph = modelFromProto(model).graph;
  return inputBounds(graph, lm, graph.feedInputs(), undefined).get('input_ids');
}

test('GPT-2: the learned position table', (t) => {
  const b = idsBounds(buildGpt2({ ...small, maxPositions: 24 }).model);
  t.deepEqual(b?.values && { min: b.values.min, max: b.values.max }, { min: 0, max: 49 });
  t.deepEqual(b?.lengths?.map((l) => [l.axis, l.max]), [[1, 24]]);
});

test('GPT-2 with a stored causal-mask buffer sliced to the length', (t) => {
  const built = buildGpt2({ ...small, maxPositions: 20, causalMask: 'constant' });
  t.deepEqual(idsBounds(built.model)?.lengths?.map((l) => [l.axis, l.max]), [[1, 20]]);
  // A position table longer than the mask buffer: the [1, 1, 20, 20] buffer sets the limit.
  const wpe = built.model.graph!.initializer.find((i) => i.name === 'wpe.weight')!;
  wpe.dims = [30n, 16n] as unknown as typeof wpe.dims;
  wpe.rawData = new Uint8Array(30 * 16 * 4);
  const [limit] = idsBounds(built.model)!.lengths!;
  t.is(limit!.max, 20);
  t.regex(limit!.why, /\[1,1,20,20\] is sliced to the length/);
  const anonymous = idsBounds(buildGpt2({ ...small, maxPositions: 20, causalMask: 'constant', anonymous: true }).model);
  t.deepEqual(anonymous?.lengths?.map((l) => [l.axis, l.max]), [[1, 20]]);
});

test('LLaMA: the rotary cos / sin caches (Constant nodes) gathered by position', (t) => {
  const b = idsBounds(buildLlama({ ...small, maxPositions: 12 }).model);
  t.deepEqual(b?.lengths?.map((l) => [l.axis, l.max]), [[1, 12]]);
});

test('BERT: the position table bounds the length, the token-type table (constant indices) does not', (t) => {
  const graph = modelFromProto(buildBert({ ...small, maxPositions: 40, typeVocabSize: 2 }).model).graph;
  const b = inputBounds(graph, { kind: 'classify', labelKey: 'label', logits: 'logits' }, graph.feedInputs(), undefined).get('input_ids');
  t.deepEqual(b?.lengths?.map((l) => [l.axis, l.max]), [[1, 40]]);
});
