/**
 * Models in the fused form onnxruntime's transformer optimizer writes, against the same models
 * unfused with identical weights (scripts/export-fused-models.py: a BERT-like encoder with
 * EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu and FastGelu; a GPT-like
 * decoder with unidirectional Attention and SkipLayerNormalization carrying the residual sum).
 * After lowering, inspect finds the same blocks and the same parameter count on both, and
 * LoR2C and LoRA(q, v) train alike for 12 AdamW steps: LoRA's q and v deltas land in the
 * packed Attention weight's q and v columns exactly where the unfused model's own q and v
 * projections are.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectModel } from '../../../compiler/inspect.ts';
import { readModel } from '../../../compiler/onnx/index.ts';
import { readManifest } from '../../../runtime/artifacts.ts';
import { readTrainingLog } from '../../../runtime/log.ts';
import { runCli } from '../../support/cli.ts';

const DIR = fileURLToPath(new URL('../../fixtures/fused/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lor2c-fused-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

for (const model of ['bert', 'gpt']) {
  test(`${model}: inspect finds the same blocks and parameter count in the fused and the plain export`, (t) => {
    const [plain, fused] = ['plain', 'fused'].map((kind) => inspectModel(readModel(`${DIR}${model}-${kind}.onnx`)));
    t.true(Object.keys(fused!.ops).some((op) => op.startsWith('com.microsoft.')), 'the fused export has fused ops');
    t.is(fused!.parameters, plain!.parameters);
    t.is(fused!.parameters, model === 'bert' ? 5203 : 5528);
    for (const r of [plain!, fused!]) if ('error' in r.blocks) t.fail(r.blocks.error);
    const blocks = [plain!, fused!].map((r) => ('error' in r.blocks ? [] : r.blocks.blocks));
    t.is(blocks[1]!.length, 2);
    t.is(blocks[1]!.length, blocks[0]!.length);
    const style = [plain!, fused!].map((r) => ('error' in r.blocks ? '' : r.blocks.style));
    t.is(style[1], style[0]);
    // The packed Attention weight is a fused QKV projection whose q, k and v columns are proven: [q | k | v].
    for (const block of blocks[1]!) {
      const qkv = block.projections.find((p) => p.role === 'qkv');
      t.truthy(qkv?.parts, `${block.label}: the packed weight is found as q, k and v`);
      const range = (from: number) => Array.from({ length: 16 }, (_, i) => from + i);
      t.deepEqual([qkv!.parts!.q.columns, qkv!.parts!.k.columns, qkv!.parts!.v.columns], [range(0), range(16), range(32)]);
    }
  });

  for (const adapter of ['lor2c', 'lora']) {
    test.serial(`${model} ${adapter}: the fused export trains as the plain one (12 AdamW steps, within 1e-5), with no warning`, async (t) => {
      const losses: number[][] = [];
      const names: string[][] = [];
      for (const kind of ['plain', 'fused']) {
        const dir = join(work, `${model}-${adapter}-${kind}`);
        const compiled = await runCli('compile', `${DIR}${model}-${adapter}.lor2c`, '--model', `${DIR}${model}-${kind}.onnx`, '--out', join(dir, 'artifacts'));
        t.is(compiled.code, 0, compiled.out + compiled.err);
        t.notRegex(compiled.out + compiled.err, /warning/i);
        names.push(readManifest(join(dir, 'artifacts')).parameters.map((p) => `${p.name} ${p.shape.join('x')}`).sort());
        const log = join(dir, 'log.jsonl');
        const trained = await runCli('train', join(dir, 'artifacts'), '--data', `${DIR}${model}-data.jsonl`, '--no-shuffle', '--steps', '12', '--log', log);
        t.is(trained.code, 0, trained.out + trained.err);
        losses.push(readTrainingLog(log).filter((r) => r.type === 'step').map((r) => r.loss as number));
      }
      t.deepEqual(names[1], names[0]);
      t.is(losses[1]!.length, 12);
      const worst = Math.max(...losses[0]!.map((l, i) => Math.abs(l - losses[1]![i]!)));
      t.log(`max |fused - plain| loss ${worst.toExponential(2)}; ${losses[0]![0]!.toFixed(4)} -> ${losses[0]!.at(-1)!.toFixed(4)}`);
      t.true(Math.max(...losses[0]!) - Math.min(...losses[0]!) > 0.05, 'the losses moved');
      t.true(worst <= 1e-5, `plain ${losses[0]!.join(', ')}; fused ${losses[1]!.join(', ')}`);
    });
  }
}
