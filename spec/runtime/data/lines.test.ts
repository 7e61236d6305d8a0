import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLines } from '../../../runtime/data/jsonl.ts';
import { BytesLines, type LineRef } from '../../../runtime/data/lines.ts';

const collect = (source: FileLines | BytesLines) => {
  const seen: { text: string; ref: LineRef; back: string }[] = [];
  source.scan((text, ref) => seen.push({ text, ref, back: '' }));
  for (const s of seen) s.back = source.read(s.ref);
  return seen;
};

test('a file read from disk and the same bytes in memory give the same lines (BOM, CRLF, blanks, no final newline)', (t) => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}\r\n\n  \n{"a":"é"}\n\r\n{"a":3}')]);
  const path = join(mkdtempSync(join(tmpdir(), 'lor2c-lines-')), 'd.jsonl');
  writeFileSync(path, bytes);
  const fromFile = collect(new FileLines(path));
  const fromBytes = collect(new BytesLines(path, bytes));
  t.deepEqual(fromBytes, fromFile);
  t.deepEqual(fromBytes.map((l) => l.text), ['{"a":1}', '{"a":"é"}', '{"a":3}']);
  t.deepEqual(fromBytes.map((l) => l.ref.line), [1, 4, 6]);
  t.true(fromBytes.every((l) => l.back === l.text));
});

test('invalid UTF-8 in memory is refused with file:line, as from disk', (t) => {
  t.throws(() => new BytesLines('x.jsonl', new Uint8Array([0x7b, 0x7d, 0x0a, 0xff, 0x0a])).scan(() => {}), { message: /x\.jsonl:2: the line is not valid UTF-8/ });
});
