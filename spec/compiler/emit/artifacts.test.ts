/**
 * The artifact writer: one weights file shared by the three graphs, and a recompile with the same
 * frozen weights links the previous weights file instead of writing it again.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildBert } from '../../../examples/models/index.ts';
import { modelFromProto, cloneModel } from '../../../compiler/graph/index.ts';
import { makeTensor, DataType } from '../../../compiler/onnx/index.ts';
import { writeGraphs, type WeightsCache } from '../../../compiler/emit/artifacts.ts';
import '../../support/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-artifacts-'));

test('a second write of the same frozen weights links the first file; a different set writes its own', async (t) => {
  const model = modelFromProto(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 200 }).model);
  const graphs = { train: model, eval: cloneModel(model), infer: cloneModel(model) };
  const cache: WeightsCache = {};
  const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, n));
  for (const d of [a, b]) (await import('node:fs')).mkdirSync(d);
  writeGraphs(a, graphs, 'weights.bin', 1024, cache);
  writeGraphs(b, { ...graphs, infer: cloneModel(model) }, 'weights.bin', 1024, cache);
  t.is(statSync(join(a, 'weights.bin')).ino, statSync(join(b, 'weights.bin')).ino, 'hard link: no second copy');
  const run = async (d: string) => {
    const s = await ort.InferenceSession.create(join(d, 'infer.onnx'));
    const ids = new ort.Tensor('int64', BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i * 3)), [1, 8]);
    return (await s.run({ input_ids: ids, attention_mask: new ort.Tensor('int64', new BigInt64Array(8).fill(1n), [1, 8]) })).logits!.data;
  };
  t.deepEqual(await run(b), await run(a));
  // A changed frozen weight: the layout differs, so the file is written afresh.
  const changed = cloneModel(model);
  const name = [...changed.graph.initializers.keys()].find((k) => k.includes('word_embeddings'))!;
  const t0 = changed.graph.initializers.get(name)!;
  changed.graph.initializers.set(name, makeTensor(name, DataType.FLOAT, t0.dims.map(Number), new Float32Array(Number(t0.dims[0]) * Number(t0.dims[1]))));
  (await import('node:fs')).mkdirSync(c);
  writeGraphs(c, { train: changed, eval: cloneModel(changed), infer: cloneModel(changed) }, 'weights.bin', 1024, cache);
  t.not(statSync(join(c, 'weights.bin')).ino, statSync(join(a, 'weights.bin')).ino);
  t.notDeepEqual(readFileSync(join(c, 'weights.bin')), readFileSync(join(a, 'weights.bin')));
  t.notDeepEqual(await run(c), await run(a));
});
