/**
 * Bit-identical resume with dropout on: a BERT from examples/models compiled with LoR2C at
 * dropout 0.1 (`compileSpecFile`), trained k steps with a checkpoint, resumed in a NEW
 * Trainer (new ORT sessions) to n steps, must equal an uninterrupted run to n bit for bit.
 * With ORT's own Dropout (one generator per node per session) the resumed masks differ; the
 * hashed masks depend on the step counter only. The same run at dropout 0 must end elsewhere
 * (the masks do reach the parameters).
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../../examples/models/index.ts';
import { writeModel, readModel } from '../../../compiler/onnx/index.ts';
import { modelFromProto } from '../../../compiler/graph/index.ts';
import { compileSpecFile } from '../../../compiler/compile.ts';
import { Trainer, type TrainerOptions } from '../../../runtime/trainer.ts';
import { nodeHost } from '../../../runtime/node-host.ts';
import type { Float32Tensor } from '../../../runtime/checkpoint.ts';
import { Rng } from '../../../runtime/data/prng.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-dropout-resume-'));

function compile(dropout: number): string {
  const spec = join(root, `spec-${dropout}.lor2c`);
  writeFileSync(spec, `model "bert.onnx"
lor2c { rank 4; alpha 8; dropout ${dropout}; blocks all }
train {
  task classify(logits "logits", labels "label")
  trainable "classifier.*"
  optimizer adamw(lr 1e-2)
  batch 4
  steps 6
  seed 7
}
`);
  const out = join(root, `artifacts-${dropout}`);
  compileSpecFile(spec, { out });
  return out;
}

function snapshot(params: ReadonlyMap<string, Float32Tensor>): Record<string, number[]> {
  return Object.fromEntries([...params].map(([k, v]) => [k, [...v.data]]));
}

test('LoR2C with dropout 0.1: stop at step 3, resume in new sessions to 6 == uninterrupted run to 6, bit for bit', async (t) => {
  writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 50, seed: 3 }).model, join(root, 'bert.onnx'));
  const rng = new Rng(9);
  const rows = Array.from({ length: 24 }, (_, i) => {
    const len = 4 + (i % 5);
    return { input_ids: Array.from({ length: len }, () => Math.floor(rng.nextFloat() * 50)), attention_mask: new Array(len).fill(1), label: i % 2 };
  });
  const data = join(root, 'train.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));
  const artifacts = compile(0.1);

  // The train graph draws its masks in-graph: no Dropout (nor random op) is left in it.
  const train = modelFromProto(readModel(join(artifacts, 'train.onnx')));
  t.false(train.graph.nodes.some((n) => n.opType === 'Dropout' || n.opType.startsWith('Random')));
  t.true(train.graph.nodes.some((n) => n.opType === 'Range'), 'the hashed masks are in the train graph');

  const options = (extra: Partial<TrainerOptions>): TrainerOptions => ({ artifacts, data, batchSize: 4, seed: 1, progress: false, session: { intraOpThreads: 1 }, ...extra });
  const whole = await Trainer.open(options({ steps: 6 }), nodeHost);
  await whole.run();
  const ckpt = join(root, 'ckpt');
  // Interrupted at step 3 of the same 6-step run (the LR schedule spans the whole run).
  const first: Trainer = await Trainer.open(options({ steps: 6, checkpoint: ckpt, onStructuralEvent: (ctx) => { if (ctx.step === 3) first.stop(); return undefined; } }), nodeHost);
  t.is((await first.run()).step, 3);
  const resumed = await Trainer.open(options({ steps: 6, resume: ckpt }), nodeHost);
  t.is(resumed.step, 3);
  await resumed.run();
  t.deepEqual(snapshot(resumed.parameters()), snapshot(whole.parameters()));
  t.deepEqual(snapshot(resumed.optimizerState()), snapshot(whole.optimizerState()));

  // The same run without dropout (same initial values, same batches) ends elsewhere: the masks reach the parameters.
  const other = await Trainer.open({ ...options({ steps: 6 }), artifacts: compile(0) }, nodeHost);
  await other.run();
  const a = snapshot(whole.parameters());
  const b = snapshot(other.parameters());
  const moved = Object.keys(a).filter((k) => k.includes('.B') && a[k]!.some((v, i) => v !== b[k]![i]));
  t.true(moved.length > 0, 'dropout changes the trained B matrices');
});
