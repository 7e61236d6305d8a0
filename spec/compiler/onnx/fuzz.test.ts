/**
 * Damaged model files, generated: random byte flips, truncations and splices of a real model.
 * Reading one (and inspecting what reads) either works or is a UserError; nothing else escapes.
 */
import test from 'ava';
import { decodeModel, encodeModel } from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { inspectModel } from '../../../compiler/inspect.ts';
import { buildGpt2 } from '../../../examples/models/index.ts';
import { mulberry32 } from '../../../compiler/adapters/init.ts';

test('1,000 damaged copies of a model: read and inspect never crash', (t) => {
  const good = encodeModel(buildGpt2({ layers: 1, dModel: 16, heads: 2, ffn: 32, vocabSize: 20, maxPositions: 16 }).model);
  const rand = mulberry32(42);
  const pick = (n: number) => Math.floor(rand() * n);
  let readable = 0, refused = 0;
  const escaped: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const bytes = Uint8Array.from(good);
    let damaged: Uint8Array = bytes;
    switch (i % 3) {
      case 0: for (let k = 0; k < 1 + pick(8); k++) bytes[pick(bytes.length)] = pick(256); break;
      case 1: damaged = bytes.subarray(0, pick(bytes.length)); break;
      default: { const at = pick(bytes.length); damaged = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(pick(bytes.length))]); }
    }
    try {
      const model = decodeModel(damaged, { label: `case ${i}` });
      inspectModel(model);
      readable++;
    } catch (e) {
      if (isUserError(e)) refused++;
      else escaped.push(`case ${i}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    }
  }
  t.log(`${readable} still readable, ${refused} refused with a UserError, ${escaped.length} escaped`);
  t.deepEqual(escaped.slice(0, 5), []);
});
