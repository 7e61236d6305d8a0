/**
 * Gradient accumulation end to end: two micro-batches of 4 per update reach the same
 * parameters as one batch of 8 (the graph sums grad / N into its accumulator and applies on
 * the flagged micro-batch), up to float32 rounding.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { Trainer } from '../../runtime/trainer.ts';
import { nodeHost } from '../../runtime/node-host.ts';
import type { StepRecord } from '../../runtime/log.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-accumulate-'));

function compile(batch: number, accumulate: number): string {
  const spec = join(root, `spec-${batch}-${accumulate}.lor2c`);
  writeFileSync(spec, `model "bert.onnx"
lor2c { rank 4; alpha 8; dropout 0 }
train {
  task classify(logits "logits", labels "label")
  trainable "classifier.*"
  optimizer adamw(lr 1e-2)
  schedule linear(warmup 1 steps)
  batch ${batch}
  accumulate ${accumulate}
  steps 3
}
`);
  const out = join(root, `artifacts-${batch}-${accumulate}`);
  compileSpecFile(spec, { out });
  return out;
}

test('accumulate 2 x batch 4 == batch 8, and counts optimizer steps, not micro-batches', async (t) => {
  writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 50, seed: 5 }).model, join(root, 'bert.onnx'));
  const rows = Array.from({ length: 24 }, (_, i) => ({ input_ids: Array.from({ length: 6 }, (_, j) => (i * 7 + j * 3) % 50), attention_mask: new Array(6).fill(1), label: i % 2 }));
  const data = join(root, 'train.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));
  const run = async (batch: number, accumulate: number) => {
    const bytes: NonNullable<StepRecord['bytes']>[] = [];
    const trainer = await Trainer.open({ artifacts: compile(batch, accumulate), data, steps: 3, batchSize: batch, shuffle: false, progress: false, onStep: (r) => bytes.push(r.bytes!) }, nodeHost);
    const result = await trainer.run();
    return { result, params: trainer.parameters(), perEpoch: trainer.stepsPerEpoch, bytes: bytes[0]! };
  };
  const whole = await run(8, 1);
  const split = await run(4, 2);
  t.is(split.result.step, 3);
  t.is(split.perEpoch, whole.perEpoch); // 24 examples: 3 updates an epoch either way
  let worst = 0;
  for (const [name, v] of whole.params) {
    const w = split.params.get(name)!;
    v.data.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - w.data[i]!))));
  }
  t.log(`max parameter difference after 3 updates: ${worst}`);
  t.true(worst < 1e-5, `max difference ${worst}`);
  t.true(Math.abs(whole.result.loss! - split.result.loss!) < 1e-5);
  // Parameters go in with both micro-batches but come back only from the one that applies.
  t.is(split.bytes.params_in, 2 * whole.bytes.params_in);
  t.is(split.bytes.params_out, whole.bytes.params_out);
  t.true(split.bytes.state_out < split.bytes.state_in, `state ${split.bytes.state_in} in, ${split.bytes.state_out} out`);
});

test('with dropout, the micro-batches of one update draw different masks (keyed by step * N + micro-step)', async (t) => {
  const { readModel } = await import('../../compiler/onnx/index.ts');
  const { modelFromProto } = await import('../../compiler/graph/index.ts');
  const spec = join(root, 'dropout.lor2c');
  writeFileSync(spec, `model "bert.onnx"\nlor2c { rank 4; alpha 8; dropout 0.5 }\ntrain {\n  task classify(logits "logits", labels "label")\n  batch 4\n  accumulate 2\n  steps 2\n}\n`);
  const out = join(root, 'artifacts-dropout');
  writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 50, seed: 5 }).model, join(root, 'bert.onnx'));
  compileSpecFile(spec, { out });
  const train = modelFromProto(readModel(join(out, 'train.onnx')));
  const key = train.graph.nodes.find((n) => n.outputs.includes('dropout_key'));
  t.truthy(key, 'the mask key is computed in the graph');
  t.true(train.graph.inputNames().includes('micro_step'));
  const manifest = JSON.parse((await import('node:fs')).readFileSync(join(out, 'manifest.json'), 'utf8')) as { graphs: { train: { inputs: { name: string; role: string }[] } } };
  t.is(manifest.graphs.train.inputs.find((i) => i.name === 'micro_step')?.role, 'micro');
  const rows = Array.from({ length: 16 }, (_, i) => ({ input_ids: [1, 2, 3, (i * 7) % 50], attention_mask: [1, 1, 1, 1], label: i % 2 }));
  const data = join(root, 'dropout.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));
  const result = await (await Trainer.open({ artifacts: out, data, steps: 2, batchSize: 4, progress: false }, nodeHost)).run();
  t.is(result.status, 'done');
});
