/** readSpecFile: a file too large to be a spec is refused unread, naming FILE:1:1; others read as text. */
import test from 'ava';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SPEC_BYTES, readSpecFile } from '../../compiler/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-spec-file-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('a spec file is read as text', (t) => {
  const file = join(dir, 'ok.lor2c');
  writeFileSync(file, 'lor2c { rank 8 }\n');
  t.is(readSpecFile(file), 'lor2c { rank 8 }\n');
});

test('a file over MAX_SPEC_BYTES is refused at FILE:1:1 without reading it', (t) => {
  const file = join(dir, 'huge.lor2c');
  writeFileSync(file, '');
  truncateSync(file, MAX_SPEC_BYTES + 1); // sparse: nothing is written
  const e = t.throws(() => readSpecFile(file));
  t.regex(e.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: the spec is [\\d,]+ bytes; the limit is 1,048,576 characters`));
});

test('a missing spec or a folder is a UserError naming it', (t) => {
  t.regex(t.throws(() => readSpecFile(join(dir, 'absent.lor2c'))).message, /cannot open spec .*absent\.lor2c.*ENOENT/);
  t.regex(t.throws(() => readSpecFile(dir)).message, /it is a folder/);
});
