/**
 * `lor2c infer` as one stage of a shell pipeline: when the reader goes away early
 * (`lor2c infer ... | head -1`), lor2c stops quietly with exit 0, no EPIPE stack trace.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomRows, writeAdapterArtifacts } from '../runtime/fixtures/adapter-artifacts.ts';

const root = mkdtempSync(join(tmpdir(), 'lor2c-cli-pipes-'));
const lor2c = join(new URL('../..', import.meta.url).pathname, 'bin/lor2c.js');

test('infer | head -1: the reader closes the pipe after one line, lor2c exits 0 and prints nothing on stderr', async (t) => {
  const fixture = writeAdapterArtifacts(join(root, 'artifacts'));
  const rows = randomRows(fixture.D, [3, 1, 4, 2], 5);
  // Enough output that lor2c is still writing when the reader leaves.
  const data = join(root, 'data.jsonl');
  writeFileSync(data, Array.from({ length: 4000 }, (_, i) => JSON.stringify({ x: rows[i % rows.length]!.x, labels: 0 })).join('\n') + '\n');
  const child = spawn(process.execPath, [lor2c, 'infer', fixture.dir, '--data', data, '--batch', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const first = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) {
        child.stdout.destroy(); // what `head -1` does after its line
        resolve(out.slice(0, out.indexOf('\n')));
      }
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(JSON.parse(first).line, 1);
  t.is(code, 0, err);
  t.is(err, '');
});
