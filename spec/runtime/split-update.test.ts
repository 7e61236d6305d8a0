/**
 * The split update end to end: the same spec compiled with the optimizer fused into the train
 * graph and split into update.onnx trains to the same parameters and optimizer state, bit for
 * bit, with chunks that cut tensors apart; fp16's skipped steps are skipped alike; a step the
 * update makes non-finite is refused, and said to be partial once values were written in place.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { Trainer } from '../../runtime/trainer.ts';
import { nodeHost } from '../../runtime/node-host.ts';
import type { Manifest } from '../../contract/manifest.ts';
import type { StepRecord } from '../../runtime/log.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-split-update-'));
writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: 50, seed: 5 }).model, join(root, 'bert.onnx'));
const data = join(root, 'train.jsonl');
writeFileSync(data, Array.from({ length: 24 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 6 }, (_, j) => (i * 7 + j * 3) % 50), attention_mask: new Array(6).fill(1), label: i % 2 })).join('\n'));

interface Outcome { params: Map<string, Float32Array>; state: Map<string, Float32Array>; records: Record<string, unknown>[]; status: string; bytes: NonNullable<StepRecord['bytes']>; manifest: Manifest; dir: string }

/**
 * Compiles `train` (the body of the spec's train block) with the given update and trains `steps`
 * steps; `kernel` false runs a split update's graph a chunk at a time instead of its kernel.
 */
async function run(name: string, train: string, update: 'fused' | 'split', steps = 5, kernel = true): Promise<Outcome> {
  const spec = join(root, `${name}.lor2c`);
  writeFileSync(spec, `model "bert.onnx"\nlor2c { rank 4; alpha 8; dropout 0.1 }\ntrain {\n  task classify(logits "logits", labels "label")\n  batch 4\n  steps ${steps}\n${train}\n}\n`);
  const dir = join(root, `${name}-${update}`);
  compileSpecFile(spec, { out: dir, update });
  const log = join(root, `${name}-${update}${kernel ? '' : '-graph'}.jsonl`);
  let bytes: Outcome['bytes'] | undefined;
  // 37 values a chunk (or a kernel block): most tensors are cut apart, blocks end mid-row and
  // mid-vector (the kernel's last values one at a time).
  const trainer = await Trainer.open({ artifacts: dir, data, steps, shuffle: false, progress: false, log, updateChunk: 37, updateKernel: kernel, session: { intraOpThreads: 1 }, onStep: (r) => (bytes ??= r.bytes) }, nodeHost);
  const result = await trainer.run();
  const copy = (m: ReadonlyMap<string, { data: Float32Array }>) => new Map([...m].map(([k, v]) => [k, Float32Array.from(v.data)]));
  const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.type === 'step' || r.type === 'skipped').map(({ seconds: _s, bytes: _b, ...rest }) => rest);
  return { params: copy(trainer.parameters()), state: copy(trainer.optimizerState()), records, status: result.status, bytes: bytes!, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest, dir };
}

function differing(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => !Object.is(x, w[i]))) out.push(k);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(k);
  return out;
}

const cases: Record<string, string> = {
  'every weight, AdamW, linear warmup, the head at lr / 2, biases not decayed': '  trainable "classifier.*" lr_scale 0.5\n  trainable "*"\n  optimizer adamw(lr 1e-2)\n  schedule linear(warmup 1 steps)',
  'gradient accumulation and clipping': '  trainable "*"\n  optimizer adamw(lr 1e-2, weight_decay 0.05)\n  accumulate 2\n  clip 0.5',
  'SGD with Nesterov momentum and weight decay, cosine schedule': '  trainable "*"\n  optimizer sgd(lr 5e-2, momentum 0.9, nesterov true, weight_decay 0.01)\n  schedule cosine(warmup 2 steps)',
  'LoR2C adapters only, AdamW': '  optimizer adamw(lr 1e-2)',
  'plain SGD: no state, no decay': '  trainable "*"\n  optimizer sgd(lr 5e-2)',
};

for (const [title, train] of Object.entries(cases)) {
  test(`split and fused reach the same bits: ${title}`, async (t) => {
    const name = `case${Object.keys(cases).indexOf(title)}`;
    const fused = await run(name, train, 'fused');
    const split = await run(name, train, 'split');
    t.is(fused.status, 'done');
    t.is(split.status, 'done');
    t.false(existsSync(join(fused.dir, 'update.onnx')));
    t.true(existsSync(join(split.dir, 'update.onnx')));
    t.truthy(split.manifest.graphs.update?.kernel, 'AdamW and SGD have a kernel');
    t.deepEqual(differing(fused.params, split.params), [], 'parameters');
    t.deepEqual(differing(fused.state, split.state), [], 'optimizer state');
    t.deepEqual(split.records, fused.records, 'the logs, losses and learning rates included');
    // The update graph run a chunk at a time reaches the same bits as its kernel.
    const graph = await run(name, train, 'split', 5, false);
    t.deepEqual(differing(fused.params, graph.params), [], 'parameters, the update graph a chunk at a time');
    t.deepEqual(differing(fused.state, graph.state), [], 'optimizer state, the update graph a chunk at a time');
  });
}

test('split: the train graph returns gradients, not updated values; the update graph takes one chunk and its group', async (t) => {
  const split = await run('roles', cases['every weight, AdamW, linear warmup, the head at lr / 2, biases not decayed']!, 'split', 1);
  const train = split.manifest.graphs.train;
  t.deepEqual(train.outputs.filter((io) => io.role === 'param.next' || io.role === 'state.next'), []);
  t.deepEqual(train.outputs.filter((io) => io.role === 'grad').map((io) => io.of).sort(), split.manifest.parameters.map((p) => p.name).sort());
  t.deepEqual(train.inputs.filter((io) => io.role === 'state'), [], 'the optimizer state never enters the train graph');
  const update = split.manifest.graphs.update!;
  t.deepEqual(update.inputs.map((io) => [io.name, io.role, io.slot]), [
    ['param', 'param', undefined], ['grad', 'grad', undefined], ['adam_m', 'state', 'adam_m'], ['adam_v', 'state', 'adam_v'], ['adam_t', 'state', 'adam_t'],
    ['step', 'step', undefined], ['lr_scale', 'hyper', 'lr_scale'], ['decay', 'hyper', 'decay'], ['warmup_steps', 'schedule', 'warmup_steps'], ['total_steps', 'schedule', 'total_steps'],
  ]);
  // The kernel's scalars (AdamW's step size, its decay factor and sqrt of the second bias correction) are the graph's too.
  t.deepEqual(update.outputs.map((io) => io.name), ['param.next', 'adam_m.next', 'adam_v.next', 'adam_t.next', 'nonfinite', 'operand.0', 'operand.1', 'operand.2']);
  t.deepEqual(update.outputs.filter((io) => io.role === 'operand').length, update.kernel!.scalars.filter((x) => 'output' in x).length);
  t.deepEqual(update.inputs.find((io) => io.name === 'param')!.shape, ['chunk']);
  // Across the boundary: the gradients once out and the parameters once in; the kernel updates them in JS memory.
  const paramBytes = split.manifest.parameters.reduce((n, p) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
  t.like(split.bytes, { grads_out: paramBytes, grads_in: 0, params_in: paramBytes, params_out: 0 });
  // The update graph run a chunk at a time: the gradients once out and once in, the parameters once each way.
  const graph = await run('roles', cases['every weight, AdamW, linear warmup, the head at lr / 2, biases not decayed']!, 'split', 1, false);
  t.like(graph.bytes, { grads_out: paramBytes, grads_in: paramBytes, params_in: 2 * paramBytes, params_out: paramBytes });
});

test('split with fp16 loss scaling: the same steps are skipped, with the same bits after', async (t) => {
  const train = '  trainable "*"\n  optimizer adamw(lr 1e-2)\n  precision fp16(loss_scale 1048576, growth 2)';
  const fused = await run('fp16', train, 'fused', 6);
  const split = await run('fp16', train, 'split', 6);
  t.true(fused.records.some((r) => r.type === 'skipped'), 'the first steps overflow at 2^20');
  t.true(fused.records.some((r) => r.type === 'step'));
  t.deepEqual(split.records, fused.records);
  t.deepEqual(differing(fused.params, split.params), []);
  t.deepEqual(differing(fused.state, split.state), []);
});

test('a chunk the update makes non-finite is not written; past the first, the outcome says the step is partial; a raised flag over finite values is a false alarm', async (t) => {
  const { applySplitUpdate } = await import('../../runtime/split-update.ts');
  const { nodeEngine } = await import('../../runtime/engine/node.ts');
  const { noBytes } = await import('../../runtime/boundary-bytes.ts');
  const { int64Scalar } = await import('../../runtime/engine/engine.ts');
  // SGD at lr 1 without momentum: p - g, which overflows where p = -3e38 and g = 3e38.
  const spec = join(root, 'sgd.lor2c');
  writeFileSync(spec, 'model "bert.onnx"\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "classifier.*"\n  optimizer sgd(lr 1)\n  schedule constant\n  steps 1\n}\n');
  const dir = join(root, 'sgd-split');
  compileSpecFile(spec, { out: dir, update: 'split' });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const session = await nodeEngine({ intraOpThreads: 1 }).open({ kind: 'file', path: join(dir, 'update.onnx') });
  const parameters = [{ name: 'a', shape: [8], dtype: 'float32', module: 'a', role: 'extra' as const, lrScale: 1, weightDecay: false }, { name: 'b', shape: [8], dtype: 'float32', module: 'b', role: 'extra' as const, lrScale: 1, weightDecay: false }];
  const apply = async (b: number[], gb: number[]) => {
    const params = new Map([['a', { shape: [8], data: new Float32Array(8).fill(1) }], ['b', { shape: [8], data: Float32Array.from(b) }]]);
    const grads = new Map([['a', new Float32Array(8).fill(0.5)], ['b', Float32Array.from(gb)]]);
    const outcome = await applySplitUpdate({ session, graph: manifest.graphs.update!, parameters, params, state: new Map(), grads, counter: () => int64Scalar(0), bytes: noBytes(), chunk: 4 });
    return { outcome, a: [...params.get('a')!.data], b: [...params.get('b')!.data] };
  };
  try {
    const fine = await apply([1, 2, 3, 4, 5, 6, 7, 8], new Array(8).fill(1));
    t.deepEqual(fine.outcome, {});
    t.deepEqual(fine.a, new Array(8).fill(0.5));
    t.deepEqual(fine.b, [0, 1, 2, 3, 4, 5, 6, 7]);
    // b's second chunk overflows: a and b's first chunk are written, the rest is not.
    const late = await apply([1, 1, 1, 1, 1, -3e38, 1, 1], [0, 0, 0, 0, 0, 3e38, 0, 0]);
    t.true(late.outcome.partial);
    t.regex(late.outcome.problem!, /'b' values 4\.\.7/);
    t.deepEqual(late.a, new Array(8).fill(0.5));
    t.deepEqual(late.b, [1, 1, 1, 1, 1, Math.fround(-3e38), 1, 1]);
    // Finite values whose sum overflows: the flag is raised, the scan finds nothing, the update is written.
    const big = Math.fround(3e38);
    const alarm = await apply([big, big, big, big, 0, 0, 0, 0], new Array(8).fill(0));
    t.deepEqual(alarm.outcome, {});
    t.deepEqual(alarm.b, [big, big, big, big, 0, 0, 0, 0]);
  } finally {
    await session.release();
  }
});

test('the first chunk non-finite: nothing is written and the run stops at the step before, checkpointed', async (t) => {
  const spec = join(root, 'overflow.lor2c');
  // lr 1e40 is infinite in float32: the first update of every weight is not finite.
  writeFileSync(spec, 'model "bert.onnx"\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "*"\n  optimizer sgd(lr 1e40)\n  schedule constant\n  batch 4\n  steps 3\n}\n');
  const dir = join(root, 'overflow-split');
  compileSpecFile(spec, { out: dir, update: 'split' });
  const trainer = await Trainer.open({ artifacts: dir, data, steps: 3, shuffle: false, progress: false, checkpoint: join(root, 'overflow-ckpt'), session: { intraOpThreads: 1 } }, nodeHost);
  const before = new Map([...trainer.parameters()].map(([k, v]) => [k, Float32Array.from(v.data)]));
  const result = await trainer.run();
  t.is(result.status, 'nonfinite');
  t.is(result.step, 0);
  t.regex(result.problem!, /step 1: non-finite values in the update of .*the step was not applied/);
  t.truthy(result.checkpoint);
  t.deepEqual(differing(before, new Map([...trainer.parameters()].map(([k, v]) => [k, Float32Array.from(v.data)]))), []);
});

test('a checkpoint of fused artifacts resumes on split ones (the same state keys), to the bits of an unbroken run', async (t) => {
  const train = '  trainable "*"\n  optimizer adamw(lr 1e-2)\n  schedule constant';
  const whole = await run('resume', train, 'fused', 5);
  const ckpt = join(root, 'resume-ckpt');
  const first = await Trainer.open({ artifacts: join(root, 'resume-fused'), data, steps: 2, shuffle: false, progress: false, checkpoint: ckpt, session: { intraOpThreads: 1 } }, nodeHost);
  t.is((await first.run()).status, 'done');
  compileSpecFile(join(root, 'resume.lor2c'), { out: join(root, 'resume-split'), update: 'split' });
  const second = await Trainer.open({ artifacts: join(root, 'resume-split'), data, steps: 5, shuffle: false, progress: false, resume: ckpt, updateChunk: 37, session: { intraOpThreads: 1 } }, nodeHost);
  t.is((await second.run()).status, 'done');
  t.deepEqual(differing(whole.params, new Map([...second.parameters()].map(([k, v]) => [k, Float32Array.from(v.data)]))), []);
});
