import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../../../runtime/data/dataset-file.ts';
import { dataSchema } from '../../../runtime/data/schema.ts';
import type { GraphInfo, Manifest } from '../../../contract/manifest.ts';

const graph: GraphInfo = {
  file: 'train.onnx',
  inputs: [
    { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' },
    { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' },
    { name: 'features', dtype: 'float32', shape: ['batch', 2], role: 'batch' },
    { name: 'labels', dtype: 'int64', shape: ['batch'], role: 'batch' },
    { name: 'W', dtype: 'float32', shape: [2, 2], role: 'param', of: 'W' },
  ],
  outputs: [],
};
const task: Manifest['task'] = { kind: 'classify', labelKey: 'labels', logits: 'logits' };
const schema = dataSchema(graph, task);

function file(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-data-'));
  const path = join(dir, 'd.jsonl');
  writeFileSync(path, lines.join('\n'));
  return path;
}

const good = (n: number) => JSON.stringify({ input_ids: Array(n).fill(5), attention_mask: Array(n).fill(1), features: [0.5, -1], labels: 1, text: 'ignored' });

test('the schema takes batch inputs only, with per-example dims', (t) => {
  t.deepEqual(schema.inputs.map((s) => [s.name, s.dims, s.pad]), [['input_ids', ['seq'], 0], ['attention_mask', ['seq'], 0], ['features', [2], 0], ['labels', [], 0]]);
  const lm = dataSchema({ ...graph, inputs: [{ name: 'labels', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' }] }, { kind: 'lm', labelKey: 'labels', logits: 'l' });
  t.is(lm.inputs[0]!.pad, -100, 'LM labels pad with the ignore index');
});

test('indexes lines by offset, skips blank lines, handles CRLF and a BOM, reads examples back', (t) => {
  const path = file(['\ufeff' + good(3), '', '   ', good(5) + '\r', good(1)]);
  const ds = openDataset(path, schema);
  t.is(ds.size, 3);
  t.deepEqual(ds.refs.map((r) => r.line), [1, 4, 5]);
  t.deepEqual(ds.lengths, [3, 5, 1]);
  t.deepEqual(ds.example(1).values.input_ids, [5, 5, 5, 5, 5]);
  t.deepEqual(ds.example(1).sizes, { seq: 5 });
  t.is(ds.where(2), `${path}:5`);
  ds.close();
});

test('a long file spanning many read chunks is indexed exactly', (t) => {
  const lines = Array.from({ length: 30000 }, (_, i) => JSON.stringify({ input_ids: Array(i % 20).fill(i), attention_mask: Array(i % 20).fill(1), features: [i, 0], labels: i % 3 }));
  const ds = openDataset(file(lines), schema);
  t.is(ds.size, 30000);
  for (const i of [0, 1, 12345, 29999]) t.deepEqual(ds.example(i).values.features, [i, 0]);
});

const badRows: { name: string; row: string; message: RegExp }[] = [
  { name: 'not JSON', row: '{"input_ids": [1,', message: /:2: not valid JSON/ },
  { name: 'not an object', row: '[1, 2]', message: /:2: expected a JSON object/ },
  { name: 'missing key', row: JSON.stringify({ input_ids: [1], attention_mask: [1], features: [1, 2] }), message: /:2: missing key 'labels' \(the row has 'input_ids', 'attention_mask', 'features'/ },
  { name: 'wrong fixed length', row: JSON.stringify({ input_ids: [1], attention_mask: [1], features: [1, 2, 3], labels: 0 }), message: /:2: 'features' has length 3, expected 2/ },
  { name: 'symbolic lengths disagree', row: JSON.stringify({ input_ids: [1, 2], attention_mask: [1], features: [1, 2], labels: 0 }), message: /:2: 'attention_mask' has length 1, but 'input_ids' has length 2 for the same dim 'seq'/ },
  { name: 'rank too low', row: JSON.stringify({ input_ids: 3, attention_mask: [1], features: [1, 2], labels: 0 }), message: /:2: 'input_ids' must be an array \(the input has rank 1 per example: \[seq\]\)/ },
  { name: 'rank too high', row: JSON.stringify({ input_ids: [[1]], attention_mask: [1], features: [1, 2], labels: 0 }), message: /:2: 'input_ids\[0\]' must be a finite number, got \[1\] \(the input has rank 1/ },
  { name: 'non-numeric', row: JSON.stringify({ input_ids: [1, 'x'], attention_mask: [1, 1], features: [1, 2], labels: 0 }), message: /:2: 'input_ids\[1\]' must be a finite number, got "x"/ },
  { name: 'non-integer for int64', row: JSON.stringify({ input_ids: [1], attention_mask: [1], features: [1, 2], labels: 0.5 }), message: /:2: 'labels' must be an integer \(int64\), got 0.5/ },
  { name: 'null in floats', row: JSON.stringify({ input_ids: [1], attention_mask: [1], features: [1, null], labels: 0 }), message: /:2: 'features\[1\]' must be a finite number, got null/ },
];

for (const c of badRows) {
  test(`a bad row stops the file at open time: ${c.name}`, (t) => {
    const path = file([good(2), c.row, good(3)]);
    const e = t.throws(() => openDataset(path, schema));
    t.is(e!.name, 'UserError');
    t.regex(e!.message, c.message);
    t.true(e!.message.includes(`${path}:2:`));
  });
}

test('every bad row is listed, and --skip-invalid leaves them out instead', (t) => {
  const path = file([good(2), '{', good(3), '{"labels": 1}', good(1)]);
  const e = t.throws(() => openDataset(path, schema));
  t.regex(e!.message, /2 bad rows/);
  t.regex(e!.message, /:2: not valid JSON[\s\S]*:4: missing key 'input_ids'/);
  const ds = openDataset(path, schema, { skipInvalid: true });
  t.is(ds.size, 3);
  t.deepEqual(ds.skipped.listed.map((b) => b.line), [2, 4]);
  t.deepEqual(ds.refs.map((r) => r.line), [1, 3, 5]);
});

test('a file changed after opening is caught when an example is read', (t) => {
  const path = file([good(2), good(3)]);
  const ds = openDataset(path, schema);
  writeFileSync(path, '{"oops": 1}\n' + good(3));
  t.throws(() => ds.example(0), { message: /:1: .*the file changed after it was opened/ });
});

test('an empty file is a clear error', (t) => {
  t.throws(() => openDataset(file(['', '']), schema), { message: /no usable examples \(the file is empty\)/ });
});

test('a value nested 5000 deep (or 100,000 deep under a key the model ignores) is a row error with file:line, not a stack overflow', (t) => {
  const deep = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);
  for (const [key, n] of [['labels', 5000], ['features', 5000], ['input_ids', 5000]] as const) {
    const row = JSON.parse(good(2)) as Record<string, unknown>;
    const text = JSON.stringify({ ...row, [key]: 0 }).replace(`"${key}":0`, `"${key}":${key === 'features' ? `[${deep(n)},1]` : deep(n)}`);
    const path = file([good(2), text]);
    const e = t.throws(() => openDataset(path, schema));
    t.true(e!.message.includes(`${path}:2: '${key}`), e!.message);
    t.regex(e!.message, /got \[\[\[.*\.\.\./);
    t.true(e!.message.length < 1000, `${e!.message.length} characters`);
  }
  const ignored = JSON.stringify({ ...JSON.parse(good(2)), extra: 0 }).replace('"extra":0', `"extra":${deep(100_000)}`);
  t.is(openDataset(file([good(2), ignored]), schema).size, 2);
});

test('130,000 bad rows skipped: no crash, every one counted, only the first 20 kept and printed', (t) => {
  const bad = '{"labels": 1}';
  const path = file([good(2), ...Array(130_000).fill(bad), good(3)]);
  const ds = openDataset(path, schema, { skipInvalid: true });
  t.is(ds.size, 2);
  t.is(ds.skipped.count, 130_000);
  t.is(ds.skipped.listed.length, 20);
  t.deepEqual(ds.skipped.listed.map((b) => b.line).slice(0, 3), [2, 3, 4]);
  const lines = ds.skipped.lines(path);
  t.is(lines.length, 21);
  t.is(lines[20], `... and 129980 more bad rows in ${path}`);
  // Refused without --skip-invalid: the same bounded list.
  const e = t.throws(() => openDataset(path, schema));
  t.regex(e!.message, /130000 bad rows; nothing was trained[\s\S]*:21: missing key[\s\S]*\.\.\. and 129980 more bad rows/);
  t.true(e!.message.length < 4000, `${e!.message.length} characters`);
});
