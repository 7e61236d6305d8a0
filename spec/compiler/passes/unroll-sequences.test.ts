/**
 * Loops over sequences unrolled into plain ops (compiler/passes/unroll-sequences): the torch
 * exports of scripts/export-gqa-repeat-interleave.py (repeat_interleave over a head dim the
 * exporter could not size: SplitToSequence + Loop + ConcatFromSequence) compute the same
 * logits after the rewrite, have no sequence op or Loop left, and differentiate.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { modelFromProto, modelToProto, type Model } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, readModel } from '../../../compiler/onnx/index.ts';
import { unrollSequences } from '../../../compiler/passes/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { readTrainingLog } from '../../../runtime/log.ts';
import { runCli } from '../../support/cli.ts';
import '../../support/ort.ts';

const DIR = fileURLToPath(new URL('../../fixtures/sequences/', import.meta.url));
const reference = JSON.parse(readFileSync(`${DIR}gqa-adamw.json`, 'utf8')) as { input_ids: number[][]; loss: number[] };

function load(opset: number): Model {
  return modelFromProto(readModel(`${DIR}gqa-opset${opset}.onnx`));
}

async function logits(model: Model, ids: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(model)));
  const flat = BigInt64Array.from(ids.flat().map(BigInt));
  const out = await session.run({ input_ids: new ort.Tensor('int64', flat, [ids.length, ids[0]!.length]) });
  return out['logits']!.data as Float32Array;
}

for (const opset of [13, 17]) {
  test(`opset ${opset}: repeat_interleave's Loop is unrolled, with the same logits`, async (t) => {
    const before = load(opset);
    t.true(before.graph.nodes.some((n) => n.opType === 'Loop'));
    const after = load(opset);
    const result = unrollSequences(after);
    t.deepEqual(result, { rewritten: true });
    t.false(after.graph.nodes.some((n) => n.opType === 'Loop' || n.opType.includes('Sequence')));
    // Another batch size and length than the export's: nothing was fixed to the traced sizes.
    for (const ids of [reference.input_ids, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]) {
      const [a, b] = [await logits(before, ids), await logits(after, ids)];
      t.is(a.length, b.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      t.true(worst <= 1e-6, `max |logits difference| ${worst}`);
    }
  });

  test(`opset ${opset}: without the rewrite autodiff names SplitToSequence; with it every weight gets a gradient`, (t) => {
    const raw = load(opset);
    const wrt = [...raw.graph.initializers].filter(([, w]) => w.dataType === DataType.FLOAT && w.dims.length === 2).map(([name]) => name);
    t.is(wrt.length, 6, 'embedding, q, k, v, o and head weights');
    const loss = raw.graph.outputs[0]!.name;
    const error = t.throws(() => differentiate(raw.graph, { loss, wrt, opset }));
    t.true(isUserError(error) && /SplitToSequence|Loop/.test(error.message), error?.message);
    const m = load(opset);
    unrollSequences(m);
    const r = differentiate(m.graph, { loss, wrt, opset });
    t.deepEqual(r.unreached, []);
  });
}

test('a Loop whose trip count is known only at run time is left as it was, with the reason', (t) => {
  const m = load(17);
  // Make the trip count a graph input: nothing can be unrolled.
  const loop = m.graph.nodes.find((n) => n.opType === 'Loop')!;
  const nodes = [...m.graph.nodes];
  m.graph.inputs.push({ ...m.graph.inputs[0]!, name: 'trips' } as (typeof m.graph.inputs)[number]);
  loop.inputs[0] = 'trips';
  const result = unrollSequences(m);
  t.false(result.rewritten);
  t.regex(result.reason ?? '', /trip count/);
  t.deepEqual(m.graph.nodes, nodes);
});

test('the GQA export trains: 12 AdamW steps of every weight match PyTorch\'s loss curve within 1e-4', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'lor2c-gqa-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const artifacts = join(work, 'artifacts');
  const compiled = await runCli('compile', `${DIR}gqa-full.lor2c`, '--out', artifacts);
  t.is(compiled.code, 0, compiled.out + compiled.err);
  const log = join(work, 'log.jsonl');
  const trained = await runCli('train', artifacts, '--data', `${DIR}gqa-data.jsonl`, '--no-shuffle', '--steps', '12', '--log', log, '--checkpoint', join(work, 'ckpt'));
  t.is(trained.code, 0, trained.out + trained.err);
  const losses = readTrainingLog(log).filter((r) => r.type === 'step').map((r) => r.loss as number);
  t.is(losses.length, 12);
  const worst = Math.max(...losses.map((l, i) => Math.abs(l - reference.loss[i]!)));
  t.log(`max |loss - torch| over 12 steps: ${worst.toExponential(2)}`);
  t.true(worst <= 1e-4, `lor2c ${losses.join(', ')}; torch ${reference.loss.join(', ')}`);
});
