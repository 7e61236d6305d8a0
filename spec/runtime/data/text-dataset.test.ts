import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphInfo, Manifest } from '../../../contract/manifest.ts';
import { openExamples } from '../../../runtime/data/examples.ts';
import { dataSchema } from '../../../runtime/data/schema.ts';
import { readTextRows } from '../../../runtime/data/text-rows.ts';
import { TextDataset, type TextInput } from '../../../runtime/data/text-dataset.ts';
import { HfTokenizer } from '../../../runtime/tokenizer/hf.ts';
import { trainTokenizer } from '../../../runtime/tokenizer/train.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-text-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const corpus = file('corpus.txt', Array.from({ length: 200 }, (_, i) => `the quick brown fox ${i} jumps over the lazy dog and a cat`).join('\n'));
const tokenizerPath = file('tokenizer.json', trainTokenizer({ corpus: [corpus], kind: 'wordpiece', vocabSize: 120 }).json);
const tokenizer = HfTokenizer.load(tokenizerPath);
const id = (tok: string) => tokenizer.tokenToId(tok)!;

const graph = (seq: string | number): GraphInfo => ({
  file: 'train.onnx',
  inputs: [
    { name: 'input_ids', dtype: 'int64', shape: ['batch', seq], role: 'batch' },
    { name: 'attention_mask', dtype: 'int64', shape: ['batch', seq], role: 'batch' },
    { name: 'token_type_ids', dtype: 'int64', shape: ['batch', seq], role: 'batch' },
    { name: 'label', dtype: 'int64', shape: ['batch'], role: 'batch', label: true },
  ],
  outputs: [],
});
const task: Manifest['task'] = { kind: 'classify', labelKey: 'label', logits: 'logits' };
const input = (over: Partial<TextInput> = {}): TextInput => ({ tokenizer, fields: { text: 'text' }, maxLength: 16, ...over });

test('CSV rows keep the line they start on, across quoted newlines and delimiters', (t) => {
  const path = file('rows.csv', 'text,label\n"a, b",x\n"two\nlines",y\n\nplain,z\n');
  const { rows, problems } = readTextRows(path, { text: 'text', label: 'label' }, true);
  t.deepEqual(problems, []);
  t.deepEqual(rows.map((r) => [r.line, r.text, r.label]), [[2, 'a, b', 'x'], [3, 'two\nlines', 'y'], [6, 'plain', 'z']]);
});

test('a CSV row with the wrong field count is an error at its line; a missing column names the columns', (t) => {
  const bad = file('bad.csv', 'text,label\nok,x\ntoo,many,fields\n');
  t.throws(() => readTextRows(bad, { text: 'text', label: 'label' }, true), { message: /bad\.csv:3:/ });
  const { problems } = readTextRows(file('cols.tsv', 'body\tlabel\nhello\tx\n'), { text: 'text', label: 'label' }, true);
  t.deepEqual(problems, [{ line: 2, message: "no 'text' field (the row has 'body', 'label'; --text-field names the text field)" }]);
});

test('text becomes input_ids / attention_mask / token_type_ids with [CLS] .. [SEP], labels get a sorted map', async (t) => {
  const path = file('d.jsonl', ['{"text":"the lazy dog","label":"pos"}', '{"text":"a cat","label":"neg"}'].join('\n'));
  const inp = input();
  const ds = await TextDataset.open(path, dataSchema(graph('seq'), task), inp, { task, classes: 2 });
  t.deepEqual(inp.labels?.names, ['neg', 'pos']);
  t.true(inp.labelsChanged);
  const ex = ds.example(0).values as Record<string, number[] | number>;
  t.is((ex.input_ids as number[])[0], id('[CLS]'));
  t.is((ex.input_ids as number[]).at(-1), id('[SEP]'));
  t.deepEqual(ex.attention_mask, (ex.input_ids as number[]).map(() => 1));
  t.is(ex.label, 1);
  t.is(ds.example(1).values.label, 0);
  t.is(ds.where(1), `${path}:2`);
});

test('pairs: the second text has token type 1; truncation keeps at most maxLength tokens', async (t) => {
  const path = file('pairs.csv', 'premise,hypothesis,label\nthe quick brown fox jumps over the lazy dog,a cat,0\n');
  const ds = await TextDataset.open(path, dataSchema(graph('seq'), task), input({ fields: { text: 'premise', pair: 'hypothesis' }, maxLength: 9 }), { task, classes: 2 });
  const ex = ds.example(0).values as Record<string, number[]>;
  t.is(ex.input_ids!.length, 9);
  t.is(ex.token_type_ids!.filter((x) => x === 1).length, 3, 'a cat [SEP]');
  t.is(ex.input_ids!.filter((x) => x === id('[SEP]')).length, 2);
});

test('a fixed sequence dim pads with mask 0; a symbolic one with no limit is refused', async (t) => {
  const path = file('short.jsonl', '{"text":"a cat","label":1}');
  const ds = await TextDataset.open(path, dataSchema(graph(12), task), input({ maxLength: undefined }), { task, classes: 2 });
  const ex = ds.example(0).values as Record<string, number[]>;
  t.is(ex.input_ids!.length, 12);
  t.deepEqual(ex.attention_mask, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  await t.throwsAsync(TextDataset.open(path, dataSchema(graph('seq'), task), input({ maxLength: undefined }), { task }), { message: /no maximum sequence length is known: the model's sequence dim 'seq' is symbolic/ });
});

test('an unknown label (once the map is kept), or more labels than classes, is refused with file:line', async (t) => {
  const inp = input();
  await TextDataset.open(file('a.jsonl', '{"text":"a","label":"x"}\n{"text":"b","label":"y"}'), dataSchema(graph('seq'), task), inp, { task, classes: 2 });
  inp.labelsChanged = false; // kept with the artifacts, as the CLI does after reading
  const e = await t.throwsAsync(TextDataset.open(file('b.jsonl', '{"text":"a","label":"x"}\n{"text":"b","label":"z"}'), dataSchema(graph('seq'), task), inp, { task, classes: 2 }));
  t.regex(e!.message, /b\.jsonl:2: unknown label "z": the labels are "x", "y"/);
  await t.throwsAsync(TextDataset.open(file('c.jsonl', '{"text":"a","label":"p"}\n{"text":"b","label":"q"}\n{"text":"b","label":"r"}'), dataSchema(graph('seq'), task), input(), { task, classes: 2 }), { message: /3 labels \(p, q, r\) but the model's logits have 2 classes/ });
  const skipped = await TextDataset.open(file('d.jsonl', '{"text":"a","label":"x"}\n{"text":"b","label":"z"}'), dataSchema(graph('seq'), task), inp, { task, classes: 2, skipInvalid: true });
  t.is(skipped.size, 1);
  t.is(skipped.skipped.listed[0]!.line, 2);
});

test('openExamples: token-id JSONL still streams as before; text without a tokenizer says what to pass', async (t) => {
  const ids = file('ids.jsonl', JSON.stringify({ input_ids: [1, 2], attention_mask: [1, 1], token_type_ids: [0, 0], label: 1 }));
  const ds = await openExamples(ids, dataSchema(graph('seq'), task), { task });
  t.deepEqual(ds.example(0).values.input_ids, [1, 2]);
  const text = file('text.jsonl', '{"text":"a cat","label":"x"}');
  await t.throwsAsync(openExamples(text, dataSchema(graph('seq'), task), { task }), { message: /holds raw text .* no tokenizer was given/ });
  const viaText = await openExamples(text, dataSchema(graph('seq'), task), { task, text: input() });
  t.is(viaText.size, 1);
});

test('a map fixed by the training file and not kept yet grows by the evaluation file\'s new labels, ids unchanged', async (t) => {
  const inp = input();
  await TextDataset.open(file('tr.jsonl', '{"text":"a","label":"ham"}'), dataSchema(graph('seq'), task), inp, { task, classes: 2 });
  const ev = await TextDataset.open(file('ev.jsonl', '{"text":"a","label":"spam"}\n{"text":"b","label":"ham"}'), dataSchema(graph('seq'), task), inp, { task, classes: 2 });
  t.deepEqual(inp.labels!.names, ['ham', 'spam']);
  t.deepEqual([ev.example(0).values.label, ev.example(1).values.label], [1, 0]);
});
