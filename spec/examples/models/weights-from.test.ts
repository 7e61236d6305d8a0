/**
 * takeWeights: a pretrained encoder under a new head (and the encoder without its MLM head)
 * keeps every weight whose name matches, draws the rest fresh, and refuses a size mismatch.
 */
import test from 'ava';
import { buildBert } from '../../../examples/models/index.ts';
import { takeWeights } from '../../../examples/models/weights-from.ts';
import { isUserError } from '../../../contract/errors.ts';

const SIZES = { vocabSize: 60, dModel: 16, heads: 2, ffn: 32, layers: 2, maxPositions: 16 };
const bytesOf = (m: ReturnType<typeof buildBert>['model'], name: string) => Buffer.from(m.graph!.initializer.find((t) => t.name === name)!.rawData);

test('an MLM-trained encoder under a classifier: encoder weights taken, pooler and classifier fresh, MLM head left behind', (t) => {
  const source = buildBert({ ...SIZES, head: 'mlm', seed: 1 }).model;
  const { model } = buildBert({ ...SIZES, head: 'classifier', seed: 2 });
  const before = bytesOf(model, 'classifier.weight');
  const { taken, fresh, unused } = takeWeights(model, source, 'mlm.onnx');
  t.deepEqual(fresh, ['pooler.dense.weight', 'pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  t.true(unused.length === 5 && unused.every((n) => n.startsWith('cls.predictions.')), unused.join(', '));
  t.true(taken.includes('encoder.layer.1.output.dense.weight'));
  for (const name of taken) t.true(bytesOf(model, name).equals(bytesOf(source, name)), name);
  t.true(bytesOf(model, 'classifier.weight').equals(before), 'a fresh tensor keeps its own draw');
  t.false(bytesOf(model, 'embeddings.word_embeddings.weight').equals(bytesOf(buildBert({ ...SIZES, seed: 2 }).model, 'embeddings.word_embeddings.weight')));
});

test('a size mismatch or a model with no common name is refused with what was seen', (t) => {
  const source = buildBert({ ...SIZES, head: 'mlm' }).model;
  const mismatch = t.throws(() => takeWeights(buildBert({ ...SIZES, dModel: 32, head: 'none' }).model, source, 'mlm.onnx'));
  t.true(isUserError(mismatch));
  t.regex(mismatch!.message, /mlm\.onnx: 'embeddings\.word_embeddings\.weight' is \[60, 16\].*needs \[60, 32\]/);
  const none = t.throws(() => takeWeights(buildBert({ ...SIZES, anonymous: true }).model, source, 'mlm.onnx'));
  t.regex(none!.message, /none of its \d+ initializers has a name/);
});
