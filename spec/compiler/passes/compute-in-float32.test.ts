/**
 * A base stored in float16 (as `model.half()` exports are) trains with float32 adapters on CPU:
 * its large weights stay float16 in the artifacts behind a Cast that ORT folds at load, and the
 * losses equal those of the float32 model holding the same (float16-rounded) weights.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert, roundToHalf, toHalfExport } from '../../../examples/models/index.ts';
import { DataType, readModel, writeModel, type ModelProto } from '../../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../../compiler/compile.ts';
import { Trainer } from '../../../runtime/trainer.ts';
import { nodeHost } from '../../../runtime/node-host.ts';
import { readTrainingLog } from '../../../runtime/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-half-'));
// FFN weights of d 128 x 512 are 128 KiB in float16: above the 64 KiB kept-half threshold.
const base = () => buildBert({ layers: 2, dModel: 128, heads: 2, ffn: 512, vocabSize: 50 }).model;

const halfModel = () => toHalfExport(base());

async function train(name: string, model: ModelProto, external = false): Promise<{ losses: number[]; artifacts: string; half: string }> {
  const folder = join(dir, name);
  // External: the weights lie in a data file the compiler leaves on disk and links.
  writeModel(model, join(dir, `${name}.onnx`), external ? { threshold: 1024 } : undefined);
  writeFileSync(join(dir, `${name}.lor2c`), `model "${name}.onnx"\nlor2c {\n  rank 4\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  optimizer adamw(lr 1e-2)\n  batch 4\n  steps 4\n  seed 5\n}\n`);
  const { base: prepared } = compileSpecFile(join(dir, `${name}.lor2c`), { out: folder });
  const rows = Array.from({ length: 16 }, (_, i) => ({ input_ids: Array.from({ length: 8 }, (_, j) => (i * 7 + j * 3) % 50), attention_mask: Array.from({ length: 8 }, (_, j) => (j < 6 + (i % 3) ? 1 : 0)), label: i % 2 }));
  writeFileSync(join(dir, `${name}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n'));
  const log = join(dir, `${name}.log.jsonl`);
  const result = await (await Trainer.open({ artifacts: folder, data: join(dir, `${name}.jsonl`), steps: 4, batchSize: 4, seed: 5, progress: false, log, session: { intraOpThreads: 1 } }, nodeHost)).run();
  if (result.status !== 'done') throw new Error(`${name}: ${result.status} ${result.problem ?? ''}`);
  return { losses: readTrainingLog(log).filter((r) => r.type === 'step').map((r) => r.loss as number), artifacts: folder, half: prepared.half.type ?? 'none' };
}

test('a float16 base trains with float32 adapters: losses equal the float32 model of the same weights, and within 1% of the unrounded one', async (t) => {
  const fp32 = await train('fp32', base());
  const reference = await train('rounded', roundToHalf(base()));
  const half = await train('half', halfModel());
  const external = await train('half-external', halfModel(), true);
  t.deepEqual(external.losses, half.losses, 'the same with the half weights left in an external data file');
  t.true(readdirSync(join(external.artifacts, 'base-data')).length > 0, 'the half data file is linked, not rewritten');
  t.is(half.half, 'float16');
  t.is(fp32.half, 'none');
  t.is(half.losses.length, 4);
  for (let i = 0; i < 4; i++) {
    t.true(Math.abs(half.losses[i]! - reference.losses[i]!) <= 1e-5 * Math.abs(reference.losses[i]!), `step ${i + 1}: ${half.losses[i]} vs ${reference.losses[i]} (same weights in float32)`);
    t.true(Math.abs(half.losses[i]! - fp32.losses[i]!) <= 1e-2 * Math.abs(fp32.losses[i]!), `step ${i + 1}: ${half.losses[i]} vs ${fp32.losses[i]} (float32 weights)`);
  }
  t.log(`losses: float16 base ${half.losses.map((l) => l.toFixed(6)).join(' ')}; float32 ${fp32.losses.map((l) => l.toFixed(6)).join(' ')}`);
  // The large frozen weights are float16 in the train graph, each read through one Cast.
  const train16 = readModel(join(half.artifacts, 'train.onnx'), { deferAbove: 0 }).graph!;
  const kept = train16.initializer.filter((i) => i.dataType === DataType.FLOAT16);
  t.true(kept.length >= 4, `${kept.length} float16 initializers`);
  for (const k of kept) t.is(train16.node.filter((n) => n.input.includes(k.name)).map((n) => n.opType).join(), 'Cast', k.name);
  t.false(train16.output.some((o) => o.type?.value.case === 'tensorType' && o.type.value.value.elemType === DataType.FLOAT16));
});
