/**
 * `lor2c compile --emit-ts`: DIR/bindings.ts for a compiled BERT classifier and a GPT-2 language
 * model. The generated file must typecheck under the repo's compiler settings (importing the
 * runtime by its package name, 'lor2c/inference', from a directory with no package.json of its own
 * inside a project that has lor2c installed: node_modules/lor2c links to this checkout, as
 * `npm install` of it would place it), misuses must be type errors
 * (a row without `input_ids`, a parameter name the artifacts do not have, `classify` on a
 * language model), and the module itself, imported through tsx, must give exactly what the
 * runtime's Pipeline gives.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Project, ts, type SourceFile } from 'ts-morph';
import { runCli } from '../../support/cli.ts';
import { compileCommand } from '../../../cli/commands/compile.ts';
import { buildBert, buildGpt2 } from '../../../examples/models/index.ts';
import { writeModel } from '../../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../../compiler/compile.ts';
import { emitBindings, propertyName } from '../../../compiler/emit/bindings.ts';
import type { Manifest } from '../../../contract/manifest.ts';
import { Pipeline } from '../../../runtime/pipeline.ts';
import { readCheckpoint } from '../../../runtime/checkpoint.ts';
import { Rng } from '../../../runtime/data/prng.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-bindings-'));
const bertOut = join(root, 'bert-out');
const gptOut = join(root, 'gpt-out');
const VOCAB = 50;

test.before(async () => {
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(join(import.meta.dirname, '../../..'), join(root, 'node_modules', 'lor2c'), 'dir');
  writeModel(buildBert({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: VOCAB, seed: 5 }).model, join(root, 'bert.onnx'));
  writeFileSync(join(root, 'bert.lor2c'), `model "bert.onnx"
lor2c { rank 4; alpha 8 }
lora { on q, v; rank 2; alpha 4 }
train {
  task classify(logits "logits", labels "label")
  trainable "classifier.*"
  optimizer adamw(lr 1e-3)
  batch 4
  steps 4
}
`);
  // Through the CLI, as a user would (console capture is process-wide: before any test runs).
  const cli = await runCli('compile', join(root, 'bert.lor2c'), '--out', bertOut, '--emit-ts');
  if (cli.code !== 0) throw new Error(`lor2c compile failed: ${cli.err}`);
  writeModel(buildGpt2({ layers: 2, dModel: 32, heads: 2, ffn: 64, vocabSize: VOCAB, seed: 6 }).model, join(root, 'gpt2.onnx'));
  writeFileSync(join(root, 'gpt2.lor2c'), `model "gpt2.onnx"
lor2c { rank 4 }
train {
  task lm(logits "logits", labels "input_ids")
  optimizer adamw(lr 1e-2)
  batch 2
  steps 4
}
`);
  compileSpecFile(join(root, 'gpt2.lor2c'), { out: gptOut, emitTs: true });
});

test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** One project with the repo's compiler settings: files are added to it and checked one by one. */
let project: Project | undefined;
function typecheck(path: string, text?: string): string[] {
  project ??= new Project({ tsConfigFilePath: join(import.meta.dirname, '../../../tsconfig.json'), skipAddingFilesFromTsConfig: true });
  const file: SourceFile = text === undefined ? project.addSourceFileAtPath(path) : project.createSourceFile(path, text, { overwrite: true });
  return file.getPreEmitDiagnostics().map((d) => `TS${d.getCode()} line ${d.getLineNumber() ?? '?'}: ${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, ' ')}`);
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

function randomRows(seed: number, count: number, withMask: boolean, sameLength = false): Record<string, number[]>[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i): Record<string, number[]> => {
    const len = sameLength ? 6 : 3 + ((i * 5) % 7); // different lengths: the rows are padded into batches
    const ids = Array.from({ length: len }, () => Math.floor(rng.nextFloat() * VOCAB));
    return withMask ? { input_ids: ids, attention_mask: ids.map(() => 1) } : { input_ids: ids };
  });
}

interface GeneratedBindings {
  load(options?: { dir?: string; batchSize?: number; adapter?: unknown; checkpoint?: string; best?: boolean }): Promise<{
    run(rows: unknown[]): Promise<Record<string, { shape: number[]; data: Float32Array }>[]>;
    classify?(rows: unknown[]): Promise<unknown[]>;
    nextTokenLogits?(rows: unknown[]): Promise<Float32Array[]>;
    useAdapter(adapter: unknown): void;
    release(): Promise<void>;
    structure: 'compiled' | 'recompiled';
    parameters: Record<string, readonly number[]>;
    pipeline: Pipeline;
  }>;
  PARAMETERS: Record<string, readonly number[]>;
  ROW_KEYS: readonly string[];
}

async function importBindings(dir: string): Promise<GeneratedBindings> {
  return (await import(pathToFileURL(join(dir, 'bindings.ts')).href)) as GeneratedBindings;
}

test('the CLI documents --emit-ts and writes bindings.ts beside the artifacts', async (t) => {
  t.regex(compileCommand.help, /\[--emit-ts\][\s\S]*--emit-ts\s+also write DIR\/bindings\.ts/);
  t.true(readdirSync(bertOut).includes('bindings.ts'));
  t.true(readdirSync(gptOut).includes('bindings.ts'));
  const text = readFileSync(join(bertOut, 'bindings.ts'), 'utf8');
  for (const expected of [
    /export interface Row \{\n(\s+\/\*\*.*\*\/\n)?\s+input_ids: number\[\];/,
    /int64, shape \[seq\] per row \(graph input \[batch, seq\]\)/,
    /export interface LabelledRow extends Row \{[\s\S]*?label: number;/,
    /logits: \{ shape: \[2\]; data: Float32Array \}/,
    /'lora\.b0\.q\.A': \[2, 32\],/,
    /export type Parameters = 'lora\.b0\.q\.A' \| .*'lor2c\.b0\.A' \| .*'classifier\.bias';\n/,
    /classify\(rows: readonly Row\[\]\): Promise<Classification\[\]>/,
    /from 'lor2c\/inference';/,
  ]) t.regex(text, expected);
  t.notRegex(text, /nextTokenLogits/, 'a classifier has no next-token logits');
});

test('bindings.ts typechecks under the repo settings, in a directory that is no ES module package', (t) => {
  t.deepEqual(typecheck(join(bertOut, 'bindings.ts')), []);
  t.deepEqual(typecheck(join(gptOut, 'bindings.ts')), []);
});

const CONSUMER_HEAD = `import { load, PARAMETERS, ROW_KEYS, type Row, type LabelledRow, type Parameters, type Outputs, type AdapterValues } from './bindings.ts';\n`;

test('correct use typechecks: rows, labelled rows, parameter shapes, classify, run, useAdapter', (t) => {
  const ok = `${CONSUMER_HEAD}
export async function main(values: AdapterValues): Promise<number> {
  const row: Row = { input_ids: [1, 2, 3], attention_mask: [1, 1, 1] };
  const labelled: LabelledRow = { ...row, label: 1 };
  const name: Parameters = 'lora.b1.v.B';
  const shape: readonly [32, 2] = PARAMETERS[name];
  const keys: readonly ['input_ids', 'attention_mask'] = ROW_KEYS;
  const model = await load({ batchSize: 2 });
  const [c] = await model.classify([row, labelled]);
  const [o]: Outputs[] = await model.run([row]);
  const classes: 2 = o!.logits.shape[0];
  const first: number = o!.logits.data[0]!;
  model.useAdapter(values);
  model.useAdapter('adapter.safetensors');
  await model.release();
  return c!.label + first + classes + shape[0] + keys.length;
}
`;
  t.deepEqual(typecheck(join(bertOut, 'consumer-ok.ts'), ok), []);
});

/** Misuses, each a file of its own: the TypeScript error code and words that must be reported. */
const MISUSES: { name: string; dir: () => string; body: string; code: number; words: RegExp }[] = [
  { name: 'a row without input_ids', dir: () => bertOut, body: `export const row: Row = { attention_mask: [1, 1] };`, code: 2741, words: /'input_ids' is missing/ },
  { name: 'a row of the wrong rank', dir: () => bertOut, body: `export const row: Row = { input_ids: [[1, 2]], attention_mask: [1, 1] };`, code: 2322, words: /'\[number, number\]' is not assignable to type 'number'/ },
  { name: 'a labelled row without its label', dir: () => bertOut, body: `export const row: LabelledRow = { input_ids: [1], attention_mask: [1] };`, code: 2741, words: /'label' is missing/ },
  { name: 'a parameter name the artifacts do not have', dir: () => bertOut, body: `export const p: Parameters = 'lor2c.b7.A';`, code: 2820, words: /'"lor2c\.b7\.A"' is not assignable to type 'Parameters'/ },
  { name: 'a misspelt parameter shape lookup', dir: () => bertOut, body: `export const s = PARAMETERS['classifier.wieght'];`, code: 2551, words: /'classifier\.wieght' does not exist/ },
  { name: 'adapter values missing a parameter', dir: () => bertOut, body: `export async function f(v: Float32Array) { (await load()).useAdapter({ 'lor2c.b0.A': v }); }`, code: 2345, words: /missing the following properties/ },
  { name: 'nextTokenLogits on a classifier', dir: () => bertOut, body: `export async function f(row: Row) { return (await load()).nextTokenLogits([row]); }`, code: 2339, words: /'nextTokenLogits' does not exist/ },
  { name: 'classify on a language model', dir: () => gptOut, body: `export async function f(row: Row) { return (await load()).classify([row]); }`, code: 2339, words: /'classify' does not exist/ },
  { name: 'an attention mask fed to a model without one', dir: () => gptOut, body: `export const row: Row = { input_ids: [1], attention_mask: [1] };`, code: 2353, words: /'attention_mask' does not exist in type 'Row'/ },
  { name: 'an output the model does not have', dir: () => gptOut, body: `export function f(o: Outputs) { return o.hidden; }`, code: 2339, words: /'hidden' does not exist/ },
];

for (const [i, m] of MISUSES.entries()) {
  test(`a type error: ${m.name}`, (t) => {
    const lmHead = CONSUMER_HEAD.replace('type AdapterValues', 'type AdapterValues as _AdapterValues');
    // Unused imports are no errors under the repo settings, so one import line serves every case.
    const diagnostics = typecheck(join(m.dir(), `misuse-${i}.ts`), `${m.dir() === gptOut ? lmHead.replace('type LabelledRow, ', '') : CONSUMER_HEAD}${m.body}\n`);
    t.is(diagnostics.length, 1, diagnostics.join('\n'));
    t.regex(diagnostics[0] ?? '', new RegExp(`^TS${m.code} `));
    t.regex(diagnostics[0] ?? '', m.words);
  });
}

test('names with dots, slashes and quotes become quoted keys; the file still typechecks', (t) => {
  const manifest = manifestOf(bertOut);
  const rename = (n: string) => (n === 'input_ids' ? 'tokens/ids:0' : n === 'logits' ? "model's/logits" : n.startsWith('lor2c.b0.') ? n.replace('lor2c.b0.', 'lor2c.enc/0.') : n);
  for (const g of [manifest.graphs.infer, manifest.graphs.eval]) {
    for (const io of [...g.inputs, ...g.outputs]) io.name = rename(io.name);
  }
  for (const p of manifest.parameters) p.name = rename(p.name);
  const dir = join(root, 'renamed');
  const text = emitBindings(manifest, { artifactsDir: dir });
  t.regex(text, /'tokens\/ids:0': number\[\];/);
  t.regex(text, /'model\\'s\/logits': \{ shape: \[2\]/);
  t.regex(text, /'lor2c\.enc\/0\.A': \[4, 32\],/);
  t.deepEqual(typecheck(join(root, 'renamed-bindings.ts'), text), []);
  const use = `import { type Row, type Parameters } from './renamed-bindings.ts';
export const row: Row = { 'tokens/ids:0': [1], attention_mask: [1] };
export const p: Parameters = 'lor2c.enc/0.B';
export const bad: Row = { input_ids: [1], attention_mask: [1] };
`;
  const diagnostics = typecheck(join(root, 'renamed-use.ts'), use);
  t.is(diagnostics.length, 1, diagnostics.join('\n'));
  t.regex(diagnostics[0]!, /^TS2353 line 4: .*'input_ids' does not exist in type 'Row'/);
  t.is(propertyName('input_ids'), 'input_ids');
  t.is(propertyName('ß_µ'), 'ß_µ', 'unicode identifiers stay bare');
  t.is(propertyName('0abc'), `'0abc'`);
  t.is(propertyName(''), `''`);
});

test('without an artifacts directory, load() requires { dir }', (t) => {
  const text = emitBindings(manifestOf(gptOut));
  t.regex(text, /export async function load\(options: LoadOptions\): Promise<Bindings>/);
  t.regex(text, /\n  dir: string;/);
  t.deepEqual(typecheck(join(root, 'dirless-bindings.ts'), text), []);
  const diagnostics = typecheck(join(root, 'dirless-use.ts'), `import { load } from './dirless-bindings.ts';\nexport const m = load({});\n`);
  t.is(diagnostics.length, 1, diagnostics.join('\n'));
  t.regex(diagnostics[0]!, /^TS2345 .*Property 'dir' is missing/);
});

test('imported through tsx, the bindings classify and run exactly as the runtime Pipeline does, and swap adapters', async (t) => {
  const bindings = await importBindings(bertOut);
  const rows = randomRows(11, 7, true);
  const model = await bindings.load({ batchSize: 3 });
  const pipeline = await Pipeline.load(bertOut, { batchSize: 3 });
  try {
    const classified = await model.classify!(rows);
    t.is(classified.length, rows.length);
    t.deepEqual(classified, await pipeline.classify(rows));
    const ran = await model.run(rows);
    t.deepEqual(ran, await pipeline.runRows(rows));
    t.deepEqual(ran[0]!.logits.shape, [2]);

    // A typed adapter (values by name) is the same adapter the Pipeline takes as a Map.
    const rng = new Rng(4);
    const values = Object.fromEntries(Object.entries(bindings.PARAMETERS).map(([name, shape]) => [name, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.nextFloat() - 0.5) * 0.2)]));
    model.useAdapter(values);
    pipeline.useAdapter(new Map(Object.entries(values)));
    const swapped = await model.classify!(rows);
    t.deepEqual(swapped, await pipeline.classify(rows));
    t.notDeepEqual(swapped, classified, 'the adapter changed the logits');
  } finally {
    await model.release();
    await pipeline.release();
  }
});

test('imported through tsx, the LM bindings give the Pipeline\'s next-token logits', async (t) => {
  const bindings = await importBindings(gptOut);
  t.deepEqual([...bindings.ROW_KEYS], ['input_ids']);
  // Rows of one length: the runtime pads an LM's input_ids with the ignore index when they are
  // also its labels, which the embedding of infer.onnx cannot look up (see the runtime's schema).
  const rows = randomRows(12, 5, false, true);
  const model = await bindings.load();
  const pipeline = await Pipeline.load(gptOut);
  try {
    const next = await model.nextTokenLogits!(rows);
    t.is(next.length, rows.length);
    t.is(next[0]!.length, VOCAB);
    t.deepEqual(next, await pipeline.nextTokenLogits(rows));
    const [first] = await model.run(rows);
    t.deepEqual(first!.logits.shape, [rows[0]!.input_ids!.length, VOCAB], 'cut to the row\'s own length');
  } finally {
    await model.release();
    await pipeline.release();
  }
});

test('bindings opened on other artifacts refuse them, naming what differs', async (t) => {
  const bindings = await importBindings(bertOut);
  const e = await t.throwsAsync(bindings.load({ dir: gptOut }));
  t.regex(e!.message, /generated for other artifacts \(task 'lm', expected 'classify'; row keys input_ids, expected input_ids, attention_mask; .*no parameter 'classifier\.weight'.*\); run `lor2c compile --emit-ts` again/);
});

/**
 * MergeLoR2C recompiles the artifacts during training (DIR/structure/step-N): the bindings of DIR
 * follow a checkpoint made after a merge to the artifacts it belongs to, as `lor2c infer
 * --checkpoint` does, and open the recompile itself; rows, outputs and task stay typed, the
 * parameters loaded are the recompile's. (The reference scenario d-merge: merges after steps 5 and 10.)
 */
test.serial('after a merge, the bindings load the recompiled structure through a checkpoint or its folder, giving what `lor2c infer --checkpoint` gives', async (t) => {
  const ref = join(import.meta.dirname, '../../fixtures/reference');
  const dir = join(root, 'merge-out');
  const ckpt = join(root, 'merge-ckpt');
  writeFileSync(join(root, 'merge.lor2c'), readFileSync(join(ref, 'd-merge.lor2c'), 'utf8')
    .replace('model "bert-opset17.onnx"', `model "${join(ref, 'bert-opset17.onnx')}"`).replace('steps 20', 'steps 12').replace('batch 8', 'batch 6'));
  const compiled = await runCli('compile', join(root, 'merge.lor2c'), '--out', dir, '--emit-ts');
  t.is(compiled.code, 0, compiled.err);
  const data = join(ref, 'bert-data.jsonl');
  const trained = await runCli('train', dir, '--data', data, '--eval-data', data, '--eval-every', '5', '--checkpoint', ckpt, '--threads', '1');
  t.is(trained.code, 0, trained.err);
  const recompile = join(dir, 'structure', 'step-00000010');
  const inferred = join(root, 'merge-infer.jsonl');
  const infer = await runCli('infer', dir, '--data', data, '--checkpoint', ckpt, '--out', inferred);
  t.is(infer.code, 0, infer.err);
  const expected = readFileSync(inferred, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: number; probabilities: number[] });

  const bindings = await importBindings(dir);
  const rows = readFileSync(data, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const model = await bindings.load({ checkpoint: ckpt });
  try {
    t.is(model.structure, 'recompiled');
    t.is(model.pipeline.dir, recompile, 'followed to the recompile the checkpoint belongs to');
    t.deepEqual(Object.keys(model.parameters), manifestOf(recompile).parameters.map((p) => p.name), 'the recompile\'s parameters');
    const merged = Object.keys(model.parameters).filter((n) => !(n in bindings.PARAMETERS));
    t.true(merged.length > 0 && merged.every((n) => /^lor2c\.b\d+_\d+\./.test(n)), `the merged modules are loaded, though the compiled structure had none: ${merged.join(', ')}`);
    const classified = await model.classify!(rows) as { label: number; probabilities: number[] }[];
    t.deepEqual(classified.map((c) => c.label), expected.map((e) => e.label));
    classified.forEach((c, i) => c.probabilities.forEach((p, k) => t.true(Math.abs(p - expected[i]!.probabilities[k]!) < 1e-6)));
    // Another adapter of the recompiled structure: a file of its own names.
    model.useAdapter(join(recompile, 'adapter.safetensors'));
    t.notDeepEqual(await model.classify!(rows.slice(0, 3)), classified.slice(0, 3));
  } finally {
    await model.release();
  }
  const direct = await bindings.load({ dir: recompile });
  t.is(direct.structure, 'recompiled');
  await direct.release();
  const fresh = await bindings.load({ dir });
  t.is(fresh.structure, 'compiled');
  await fresh.release();
  // The best checkpoint holds what was evaluated: at step 5 the structure before the first merge (DIR's own), at 10 a recompile.
  const best = await bindings.load({ checkpoint: ckpt, best: true });
  const bestCheckpoint = readCheckpoint(ckpt, 'best');
  t.is(best.structure, bestCheckpoint.artifacts === dir ? 'compiled' : 'recompiled', `best at step ${bestCheckpoint.step}`);
  t.is(best.pipeline.dir, bestCheckpoint.artifacts);
  await best.release();

  // Typed use of the recompiled structure: `structure`, `parameters`, a Map of its names.
  t.deepEqual(typecheck(join(dir, 'consumer-merged.ts'), `import { load } from './bindings.ts';
export async function main(): Promise<number> {
  const model = await load({ checkpoint: 'ckpt', best: true });
  if (model.structure === 'recompiled') model.useAdapter(new Map(Object.entries(model.parameters).map(([n, s]) => [n, new Float32Array(s.reduce((a, b) => a * b, 1))])));
  return Object.keys(model.parameters).length;
}
`), []);
});

test('bindings refuse a compile of the same model with other parameters when its spec schedules no Merge/Inject', async (t) => {
  const bindings = await importBindings(bertOut);
  writeFileSync(join(root, 'bert-rank8.lor2c'), readFileSync(join(root, 'bert.lor2c'), 'utf8').replace('lor2c { rank 4; alpha 8 }', 'lor2c { rank 8; alpha 8 }'));
  const other = join(root, 'bert-rank8');
  compileSpecFile(join(root, 'bert-rank8.lor2c'), { out: other });
  t.is(manifestOf(other).base.sha256, manifestOf(bertOut).base.sha256, 'the same base model');
  const e = await t.throwsAsync(bindings.load({ dir: other }));
  t.regex(e!.message, /generated for other artifacts \(parameter 'lor2c\.b0\.A' has shape \[8, 32\], expected \[4, 32\]/);
});
