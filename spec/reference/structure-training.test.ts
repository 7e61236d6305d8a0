/**
 * LoR2C and LoRA(q, v) trained by lor2c against PyTorch on exports whose structure is hard to
 * find (spec/fixtures/torch/structure): a decoder with the bias added after the residual Add and
 * a raw fused [q | k | v] weight, parallel-residual decoders with per-head fused QKV ([.., heads,
 * 3 * head_dim] and [.., heads, 3, head_dim]), two encoder-decoders (T5, BART) with every
 * stack adapted (LoRA also on the decoders' cross-attention q and v), and two classifiers behind
 * vision and audio front ends (ViT: Conv2d patches and a CLS token; Whisper: Conv1d over log-mel
 * frames), trained on float inputs with `classify`. scripts/reference/structure_training.py trained the same models in torch with
 * hooks written from the models' own code and recorded 12 AdamW losses
 * (spec/fixtures/reference/structure/). Here, as a user runs it: `lor2c compile SPEC --model M`
 * with no hints, then `lor2c train --init INIT --no-shuffle --steps 12`, on two opsets of each
 * export (one for the front ends); every step's loss must match torch's within 1e-4.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../../runtime/artifacts.ts';
import { readTrainingLog } from '../../runtime/log.ts';
import { cli } from './support.ts';

const DIR = fileURLToPath(new URL('../fixtures/reference/structure/', import.meta.url));
const MODELS = fileURLToPath(new URL('../fixtures/torch/structure/', import.meta.url));
const LOSS_ABS = 1e-4;

interface Scenario {
  scenario: string;
  models: string[];
  data: string;
  spec: string;
  init: string;
  steps: number;
  parameters: string[];
  loss: number[];
}

const scenarios: Scenario[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Scenario)
  .sort((a, b) => (a.scenario < b.scenario ? -1 : 1));

const work = mkdtempSync(join(tmpdir(), 'lor2c-structure-training-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('sixteen scenarios: LoR2C and LoRA on each of seven architectures, and LoRA on cross-attention too', (t) => {
  t.deepEqual(scenarios.map((s) => s.scenario), ['bart-lor2c', 'bart-lora', 'bart-lora-cross', 'falcon-lor2c', 'falcon-lora', 'gpt_hand-lor2c', 'gpt_hand-lora', 'neox-lor2c', 'neox-lora', 't5-lor2c', 't5-lora', 't5-lora-cross', 'vit-lor2c', 'vit-lora', 'whisper-lor2c', 'whisper-lora']);
});

for (const s of scenarios) {
  for (const model of s.models) {
    // Serial: the CLI's output is captured by swapping console and process streams.
    test.serial(`${s.scenario} on ${model}: ${s.steps} AdamW steps match torch's losses`, async (t) => {
      const dir = join(work, `${s.scenario}-${model.replace('.onnx', '')}`);
      const artifacts = join(dir, 'artifacts');
      const compiled = await cli('compile', join(DIR, s.spec), '--model', join(MODELS, model), '--out', artifacts);
      t.is(compiled.code, 0, compiled.out);
      // The adapters torch trained, no more and no fewer: every block of every stack.
      t.deepEqual(readManifest(artifacts).parameters.map((p) => p.name).sort(), [...s.parameters].sort());
      const logPath = join(dir, 'log.jsonl');
      const trained = await cli('train', artifacts, '--data', join(DIR, s.data), '--init', join(DIR, s.init), '--no-shuffle', '--steps', String(s.steps), '--log', logPath);
      t.is(trained.code, 0, trained.out);
      const steps = readTrainingLog(logPath).filter((r) => r.type === 'step');
      t.deepEqual(steps.map((r) => r.step), Array.from({ length: s.steps }, (_, i) => i + 1));
      const diffs = steps.map((r, i) => Math.abs((r.loss as number) - s.loss[i]!));
      const worst = Math.max(...diffs);
      t.log(`worst |loss - torch| ${worst.toExponential(2)} at step ${diffs.indexOf(worst) + 1}; torch ${s.loss[0]!.toFixed(5)} -> ${s.loss.at(-1)!.toFixed(5)}`);
      // The comparison can fail: the loss moved far more than the tolerance.
      t.true(Math.max(...s.loss) - Math.min(...s.loss) > 10 * LOSS_ABS);
      t.true(worst < LOSS_ABS, `losses: lor2c ${JSON.stringify(steps.map((r) => r.loss))}, torch ${JSON.stringify(s.loss)}`);
    });
  }
}
