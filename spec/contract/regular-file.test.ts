/** Inputs lor2c reads must be regular files: a FIFO, a device or a folder is refused at once, never read (which would hang or never end). */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegularFile, readRegularFile } from '../../contract/regular-file.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';
import { openDataset } from '../../runtime/data/dataset-file.ts';
import { HfTokenizer } from '../../runtime/tokenizer/hf.ts';
import { loadTextInput } from '../../runtime/data/text-config.ts';
import { readTrainingLog, readManifest, readParameterFile } from '../../runtime/index.ts';
import { readSpecFile } from '../../compiler/spec-file.ts';
import { readModel } from '../../compiler/onnx/read.ts';
import type { Manifest } from '../../contract/manifest.ts';
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

/** Every reader of a user-given path, each through the one opener: what it calls the file, and how a path reaches it. */
const READERS: { what: RegExp; read: (path: string) => unknown }[] = [
  { what: /tokenizer/, read: (p) => HfTokenizer.load(p) },
  { what: /tokenizer/, read: (p) => loadTextInput(undefined, { tokenizer: p }) },
  { what: /spec/, read: (p) => readSpecFile(p) },
  { what: /model/, read: (p) => readModel(p) },
  { what: /training log/, read: (p) => readTrainingLog(p) },
  { what: /manifest/, read: (p) => readManifest(join(p, '..')) },
  { what: /safetensors file/, read: (p) => readParameterFile({ parameters: [] } as unknown as Manifest, p) },
  { what: /safetensors file/, read: (p) => readSafetensors(p) },
  { what: /data file/, read: (p) => openDataset(p, dataSchema({ file: 'train.onnx', inputs: [{ name: 'labels', dtype: 'int64', shape: ['batch'], role: 'batch' }], outputs: [] }, { kind: 'classify', labelKey: 'labels', logits: 'logits' })) },
];

test('every reader of a user path refuses a FIFO, a device and a folder by name, in one wording, at once', (t) => {
  // The manifest reader is given a folder whose manifest.json is each kind in turn.
  const kinds: [string, string][] = [['a FIFO \\(named pipe\\)', 'fifo'], ['a character device', 'device'], ['a folder', 'folder']];
  for (const [kind, name] of kinds) {
    const holder = mkdtempSync(join(dir, `${name}-`));
    const path = join(holder, 'manifest.json');
    if (name === 'fifo') execFileSync('mkfifo', [path]);
    else if (name === 'device') symlinkSync('/dev/zero', path);
    else mkdirSync(path);
    for (const { what, read } of READERS) {
      const started = Date.now();
      const e = t.throws(() => read(path), undefined, `${what} given ${kind}`);
      t.is(e?.name, 'UserError', `${what} given ${kind}: ${e?.message}`);
      t.regex(e!.message, new RegExp(`it is ${kind}`), `${what}`);
      t.regex(e!.message, what);
      t.true(Date.now() - started < 2000, 'refused without waiting for a writer');
    }
  }
});
