/**
 * The committed pretrained decoder (examples/pretrain/): its tokenizer fits its vocabulary, it
 * compiles with the adaptation spec, and generate runs on it, stopping at its 64 positions.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { HfTokenizer } from '../../../runtime/index.ts';

const HERE = new URL('../../../examples/pretrain/', import.meta.url).pathname;

test.serial('decoder.onnx + tokenizer.json: compile LoR2C, generate deterministically up to the position limit', async (t) => {
  const tokenizer = HfTokenizer.load(join(HERE, 'tokenizer.json'));
  t.is(tokenizer.vocabSize, 2048);
  t.deepEqual(tokenizer.endToken(), { token: '<|endoftext|>', id: 0 });
  const dir = join(mkdtempSync(join(tmpdir(), 'lor2c-pretrained-')), 'artifacts');
  const compiled = await runCli('compile', join(HERE, 'moby.lor2c'), '--model', join(HERE, 'decoder.onnx'), '--out', dir, '--tokenizer', join(HERE, 'tokenizer.json'), '--max-length', '64');
  t.is(compiled.code, 0, compiled.err);
  const run = () => runCli('generate', dir, '--prompt', 'The President', '--max-tokens', '100', '--temperature', '0.8', '--top-k', '40', '--seed', '3', '--json');
  const [a, b] = [await run(), await run()];
  t.is(a.code, 0, a.err);
  t.is(a.out, b.out);
  const out = JSON.parse(a.out);
  t.true(out.text.startsWith('The President'));
  t.true(out.stopped === 'end-token' || (out.stopped === 'position-limit' && out.prompt_ids.length + out.ids.length === 64), a.err);
});
