/** Inputs lor2c reads must be regular files: a FIFO, a device or a folder is refused at once, never read (which would hang or never end). */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegularFile, readRegularFile } from '../../contract/regular-file.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';
import { openDataset } from '../../runtime/data/dataset-file.ts';
import { dataSchema } from '../../runtime/data/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-regular-'));
const fifo = join(dir, 'data.fifo');
execFileSync('mkfifo', [fifo]);

test('a FIFO, a character device and a folder are refused by name; a regular file opens', (t) => {
  for (const [path, kind] of [[fifo, 'a FIFO \\(named pipe\\)'], ['/dev/zero', 'a character device'], [dir, 'a folder']] as const) {
    const started = Date.now();
    const e = t.throws(() => readRegularFile(path, 'data file'));
    t.regex(e!.message, new RegExp(`cannot read data file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is ${kind}`));
    t.is(e!.name, 'UserError');
    t.true(Date.now() - started < 2000, 'refused without waiting for a writer');
  }
  const missing = t.throws(() => openRegularFile(join(dir, 'missing.jsonl'), 'data file'));
  t.regex(missing!.message, /cannot open data file .*missing\.jsonl: no such file or directory \(ENOENT\)/);
  writeFileSync(join(dir, 'ok.txt'), 'hello');
  t.is(readRegularFile(join(dir, 'ok.txt'), 'data file').toString(), 'hello');
});

test('--data and --adapter pointing at a FIFO are refused, not waited on', (t) => {
  const schema = dataSchema({ file: 'train.onnx', inputs: [{ name: 'labels', dtype: 'int64', shape: ['batch'], role: 'batch' }], outputs: [] }, { kind: 'classify', labelKey: 'labels', logits: 'logits' });
  t.throws(() => openDataset(fifo, schema), { message: /it is a FIFO/ });
  t.throws(() => readSafetensors(fifo), { message: /cannot read safetensors file .*: it is a FIFO/ });
});
