/** Adapter export (safetensors + config), merged standalone models, LoRA folding, value sources. */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Pipeline } from '../../runtime/pipeline.ts';
import { adapterWarnings, adapterConfigPath, exportAdapter, exportMerged, type AdapterConfig } from '../../runtime/export.ts';
import { foldLora } from '../../compiler/adapters/fold-lora.ts';
import { sourceParameters } from '../../runtime/adapter.ts';
import { writeCheckpoint } from '../../runtime/checkpoint.ts';
import { readModel } from '../../compiler/onnx/read.ts';
import { DataType, makeTensor, makeValueInfo } from '../../compiler/onnx/index.ts';
import { Graph, GraphBuilder } from '../../compiler/graph/index.ts';
import { addLowRankPath } from '../../compiler/adapters/low-rank.ts';
import { LOR2C, LORA, randomAdapter, randomRows, writeAdapterArtifacts } from './fixtures/adapter-artifacts.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-export-'));
const fixture = writeAdapterArtifacts(join(root, 'artifacts'));
const values = randomAdapter(fixture.manifest, 21);
const rows = randomRows(fixture.D, [3, 1, 4, 2], 22);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < Math.min(a.length, b.length); i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

async function runModel(file: string): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(file);
  const out: Float32Array[] = [];
  for (const r of rows) {
    const x = new ort.Tensor('float32', Float32Array.from(r.x.flat()), [1, r.x.length, fixture.D]);
    out.push((await session.run({ x })).logits!.data as Float32Array);
  }
  await session.release();
  return out;
}

async function pipelineOutputs(adapter: string | Map<string, Float32Array>): Promise<Float32Array[]> {
  const p = await Pipeline.load(fixture.dir, { adapter });
  const out = (await p.runRows(rows)).map((r) => r.logits!.data as Float32Array);
  await p.release();
  return out;
}

test('exportAdapter: safetensors + config that describes the adapter and loads back', async (t) => {
  const file = join(root, 'out', 'spam.safetensors');
  mkdirSync(join(root, 'out'), { recursive: true });
  const exported = exportAdapter(fixture.dir, values, file, { source: { kind: 'checkpoint', path: '/ck/step-00000010', step: 10 } });
  t.is(exported.configFile, join(root, 'out', 'spam.config.json'));
  const config = JSON.parse(readFileSync(exported.configFile, 'utf8')) as AdapterConfig;
  t.is(config.method, 'lor2c');
  t.is(config.peft_type, 'LOR2C');
  t.is(config.base_model_sha256, fixture.manifest.base.sha256);
  t.is(config.base_model_name_or_path, 'hand-built-mlp.onnx');
  t.deepEqual(config.modules, [
    { id: 'b0', span: [0, 0], rank: 4, alpha: 16, dropout: 0, A: 'lor2c.shared0.A', B: 'lor2c.b0.B' },
    { id: 'b1', span: [1, 1], rank: 4, alpha: 16, dropout: 0, B: 'lor2c.b1.B' },
  ]);
  t.deepEqual(config.share_groups, [{ share: 'A', modules: ['b0', 'b1'] }]);
  t.deepEqual(config.lora, [{ target: 'b0.q', rank: 2, alpha: 8, dropout: 0, A: 'lora.b0.q.A', B: 'lora.b0.q.B' }]);
  t.deepEqual(config.modules_to_save, ['head.weight']);
  t.deepEqual(config.source, { kind: 'checkpoint', path: '/ck/step-00000010', step: 10 });
  t.is(config.weights.file, 'spam.safetensors');
  t.is(config.weights.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
  t.deepEqual(await pipelineOutputs(file), await pipelineOutputs(values), 'the file reproduces the values exactly');
  t.deepEqual(readdirSync(join(root, 'out')).sort(), ['spam.config.json', 'spam.safetensors']);
});

test('adapter config path: PEFT names for the PEFT layout, <stem>.config.json otherwise', (t) => {
  t.is(adapterConfigPath('/a/adapter_model.safetensors'), '/a/adapter_config.json');
  t.is(adapterConfigPath('/a/x.safetensors'), '/a/x.config.json');
  t.throws(() => exportAdapter(fixture.dir, values, join(root, 'x.bin')), { message: /must end in \.safetensors/ });
});

test('exportMerged: standalone (own data file, no parameter inputs), outputs equal the pipeline', async (t) => {
  const dir = join(root, 'merged');
  mkdirSync(dir);
  const result = exportMerged(fixture.dir, values, join(dir, 'model.onnx'));
  t.regex(result.dataFile!, /model\.onnx\.[0-9a-f]{12}\.data$/, 'a data file of its own, named for this export');
  t.deepEqual(readdirSync(dir).sort(), ['model.onnx', basename(result.dataFile!)], 'no temporary files left');
  const proto = readModel(join(dir, 'model.onnx'));
  t.deepEqual(proto.graph!.input.map((i) => i.name), ['x']);
  const meta = JSON.parse(proto.metadataProps.find((e) => e.key === 'lor2c.merged')!.value);
  t.is(meta.base_sha256, fixture.manifest.base.sha256);
  // Standalone: it never names the artifacts' weights file, and runs from another folder.
  t.false(readFileSync(join(dir, 'model.onnx')).includes(fixture.manifest.weights));
  const moved = join(root, 'moved');
  cpSync(dir, moved, { recursive: true });
  const expected = await pipelineOutputs(values);
  const got = await runModel(join(moved, 'model.onnx'));
  got.forEach((g, i) => t.true(maxDiff(g, expected[i]!) <= 1e-6, `row ${i}: ${maxDiff(g, expected[i]!)}`));
});

test('exportMerged: small models inline; the data file of the export it replaces is removed, files of the user are kept', async (t) => {
  const dir = join(root, 'inline');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.onnx.data'), 'mine');
  const first = exportMerged(fixture.dir, values, join(dir, 'model.onnx'));
  t.true(existsSync(first.dataFile!));
  const result = exportMerged(fixture.dir, values, join(dir, 'model.onnx'), { externalThreshold: Infinity });
  t.is(result.dataFile, undefined);
  t.false(existsSync(first.dataFile!), 'the replaced export\'s data file is gone');
  t.is(readFileSync(join(dir, 'model.onnx.data'), 'utf8'), 'mine', 'a file lor2c did not write is kept');
  const expected = await pipelineOutputs(values);
  (await runModel(join(dir, 'model.onnx'))).forEach((g, i) => t.true(maxDiff(g, expected[i]!) <= 1e-6));
});

test('exportMerged --fold-lora: LoRA folded into its weight, LoR2C paths kept, same outputs', async (t) => {
  const plain = join(root, 'plain.onnx');
  const folded = join(root, 'folded.onnx');
  exportMerged(fixture.dir, values, plain);
  const result = exportMerged(fixture.dir, values, folded, { foldLora: true });
  t.deepEqual(result.fold, { folded: [{ module: 'b0.q', weight: 'block0.W' }], kept: [] });
  const before = readModel(plain).graph!;
  const after = readModel(folded).graph!;
  const names = (g: typeof after) => g.initializer.map((i) => i.name);
  // The factors are stored transposed (A^T [D, r], B^T [r, D]): LoRA's two go, LoR2C's three stay.
  const factors = (g: typeof after) => g.initializer.filter((i) => {
    const [small, large] = i.dims.map(Number).sort((x, y) => x - y);
    return i.dims.length === 2 && large === fixture.D && (small === LORA.rank || small === LOR2C.rank);
  }).length;
  t.is(factors(before), 5);
  t.is(factors(after), 3);
  t.false(names(after).some((n) => n.startsWith('lora.')));
  const matmuls = (g: typeof after) => g.node.filter((n) => n.opType === 'MatMul').length;
  t.is(matmuls(before) - matmuls(after), 2);
  const a = await runModel(plain);
  const b = await runModel(folded);
  a.forEach((x, i) => t.true(maxDiff(x, b[i]!) < 1e-5, `row ${i}: ${maxDiff(x, b[i]!)}`));
});

test('foldLora keeps a path whose projection is split after the MatMul, and says why', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, [2, 4]));
  g.initializers.set('Wqkv', makeTensor('Wqkv', DataType.FLOAT, [4, 12], new Float32Array(48).fill(0.1)));
  g.initializers.set('lora.b0.q.A', makeTensor('lora.b0.q.A', DataType.FLOAT, [2, 4], new Float32Array(8).fill(1)));
  g.initializers.set('lora.b0.q.B', makeTensor('lora.b0.q.B', DataType.FLOAT, [4, 2], new Float32Array(8).fill(1)));
  const [q, k, v] = b.opN('Split', [b.op('MatMul', ['x', 'Wqkv'])], 3, { axis: 1 });
  b.op('Concat', [q!, k!, v!], { axis: 1 }, { outputs: ['out'] });
  g.outputs.push(makeValueInfo('out', DataType.FLOAT, [2, 12]));
  addLowRankPath({ graph: g, b, opset: 17 }, { x: 'x', y: q!, A: 'lora.b0.q.A', B: 'lora.b0.q.B', rank: 2, alpha: 4, dropout: 0 });
  const manifest = { ...fixture.manifest, parameters: fixture.manifest.parameters.filter((p) => p.module === 'b0.q') };
  const report = foldLora(g, manifest, new Map());
  t.deepEqual(report.folded, []);
  t.is(report.kept.length, 1);
  t.regex(report.kept[0]!.reason, /is not computed by a MatMul/);
});

test('exportMerged --fold-lora folds LoRA trained with dropout (the inference Dropout is the identity), same outputs', async (t) => {
  const dropped = writeAdapterArtifacts(join(root, 'dropout-artifacts'), { loraDropout: 0.1, lor2cDropout: 0.1 });
  const trained = randomAdapter(dropped.manifest, 21);
  const plain = join(root, 'dropout-plain.onnx');
  const folded = join(root, 'dropout-folded.onnx');
  exportMerged(dropped.dir, trained, plain);
  const result = exportMerged(dropped.dir, trained, folded, { foldLora: true });
  t.deepEqual(result.fold, { folded: [{ module: 'b0.q', weight: 'block0.W' }], kept: [] });
  const dropouts = (file: string) => readModel(file).graph!.node.filter((n) => n.opType === 'Dropout').length;
  t.is(dropouts(plain), 3, 'the inference graph keeps a Dropout in each path');
  t.is(dropouts(folded), 2, "the LoRA path's Dropout went with it; the LoR2C paths keep theirs");
  const transposes = (file: string) => readModel(file).graph!.node.filter((n) => n.opType === 'Transpose').length;
  t.is(transposes(plain), 0, 'the constant factors are stored transposed, not transposed per run');
  const a = await runModel(plain);
  const b = await runModel(folded);
  a.forEach((x, i) => t.true(maxDiff(x, b[i]!) < 1e-5, `row ${i}: ${maxDiff(x, b[i]!)}`));
  const viaPipeline = await (async () => {
    const p = await Pipeline.load(dropped.dir, { adapter: trained });
    const out = (await p.runRows(rows)).map((r) => r.logits!.data as Float32Array);
    await p.release();
    return out;
  })();
  b.forEach((x, i) => t.true(maxDiff(x, viaPipeline[i]!) < 1e-5, `folded vs pipeline, row ${i}`));
});

test('foldLora keeps a path whose Dropout runs in training mode, and says why', (t) => {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, [2, 4]));
  g.initializers.set('W', makeTensor('W', DataType.FLOAT, [4, 4], new Float32Array(16).fill(0.1)));
  g.initializers.set('lora.b0.q.A', makeTensor('lora.b0.q.A', DataType.FLOAT, [2, 4], new Float32Array(8).fill(1)));
  g.initializers.set('lora.b0.q.B', makeTensor('lora.b0.q.B', DataType.FLOAT, [4, 2], new Float32Array(8).fill(1)));
  const y = b.op('MatMul', ['x', 'W']);
  b.op('Relu', [y], undefined, { outputs: ['out'] });
  g.outputs.push(makeValueInfo('out', DataType.FLOAT, [2, 4]));
  addLowRankPath({ graph: g, b, opset: 17 }, { x: 'x', y, A: 'lora.b0.q.A', B: 'lora.b0.q.B', rank: 2, alpha: 4, dropout: 0.1 });
  const manifest = { ...fixture.manifest, parameters: fixture.manifest.parameters.filter((p) => p.module === 'b0.q') };
  const dropout = g.nodes.find((n) => n.opType === 'Dropout')!;
  g.initializers.set('training', makeTensor('training', DataType.BOOL, [], Uint8Array.of(1)));
  dropout.inputs.push('training');
  const report = foldLora(g, manifest, new Map());
  t.deepEqual(report.folded, []);
  t.regex(report.kept[0]!.reason, /training-mode dropout/);
  // The same path with the flag false folds.
  g.initializers.set('training', makeTensor('training', DataType.BOOL, [], Uint8Array.of(0)));
  t.deepEqual(foldLora(g, manifest, new Map()).folded, [{ module: 'b0.q', weight: 'W' }]);
});

test('sourceParameters: checkpoint latest or best, adapter file, else the initial values', (t) => {
  const ckpt = join(root, 'ckpt');
  const tensors = (m: Map<string, Float32Array>) => new Map(fixture.manifest.parameters.map((p) => [p.name, { shape: p.shape, data: m.get(p.name)! }]));
  const info = { data: { epoch: 0, batch: 0 }, rng: { seed: 0 }, plan: {}, artifacts: fixture.dir, optimizer: new Map() };
  writeCheckpoint(ckpt, { ...info, step: 5, parameters: tensors(values), best: { step: 5, metric: 'accuracy', value: 1, metrics: {} } }, { best: true });
  const later = randomAdapter(fixture.manifest, 99);
  writeCheckpoint(ckpt, { ...info, step: 9, parameters: tensors(later) });
  const latest = sourceParameters(fixture.dir, fixture.manifest, { checkpoint: ckpt });
  t.like(latest.source, { kind: 'checkpoint', step: 9 });
  t.deepEqual(latest.values.get('head.weight')!.data, later.get('head.weight'));
  const best = sourceParameters(fixture.dir, fixture.manifest, { checkpoint: ckpt, best: true });
  t.like(best.source, { kind: 'checkpoint', step: 5 });
  t.deepEqual(best.values.get('head.weight')!.data, values.get('head.weight'));
  t.like(sourceParameters(fixture.dir, fixture.manifest).source, { kind: 'initial' });
  t.throws(() => sourceParameters(fixture.dir, fixture.manifest, { best: true }), { message: /needs --checkpoint/ });
  // A checkpoint of other (recompiled) artifacts: the error says where its artifacts are.
  const other = join(root, 'ckpt-other');
  const fewer = new Map([...tensors(values)].filter(([n]) => n !== 'lor2c.b1.B'));
  writeCheckpoint(other, { ...info, artifacts: '/runs/recompiled-3', step: 1, parameters: fewer });
  const err = t.throws(() => sourceParameters(fixture.dir, fixture.manifest, { checkpoint: other }))! as Error & { hint?: string };
  t.regex(err.message, /missing 'lor2c\.b1\.B'/);
  t.regex(err.hint ?? '', /\/runs\/recompiled-3/);
  rmSync(other, { recursive: true });
});

test('adapterWarnings reads a config anyone may have written: wrong types and null are no internal error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-config-types-'));
  const manifest = { base: { path: 'base.onnx', sha256: 'a'.repeat(64) } } as unknown as Parameters<typeof adapterWarnings>[0];
  const adapter = join(dir, 'adapter_model.safetensors');
  writeFileSync(adapter, 'not read unless the weights hash is a string');
  for (const config of ['null', '[]', '7', '{"base_model_sha256": 5}', '{"weights": null, "base_model_sha256": {"x": 1}}', '{"weights": {"sha256": 3}}']) {
    writeFileSync(join(dir, 'adapter_config.json'), config);
    t.deepEqual(adapterWarnings(manifest, adapter), [], config);
  }
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ base_model_sha256: 'b'.repeat(64), base_model_name_or_path: 17 }));
  t.regex(adapterWarnings(manifest, adapter).join('\n'), /was trained on base model \? \(sha256 bbbbbbbbbbbb\.\.\.\)/);
});
