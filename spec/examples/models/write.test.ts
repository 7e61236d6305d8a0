import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWriteArgs } from '../../../examples/models/write-args.ts';
import { readModel } from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';

const PARSES: [string[], ReturnType<typeof parseWriteArgs>][] = [
  [['bert', '--layers', '2', '--out', '/tmp/b.onnx'], { arch: 'bert', config: { layers: 2 }, out: '/tmp/b.onnx' }],
  [['gpt2', '--d-model=48', '--anonymous', '--no-tie-word-embeddings', '--causal-mask', 'constant', '--out', 'g.onnx'], { arch: 'gpt2', config: { dModel: 48, anonymous: true, tieWordEmbeddings: false, causalMask: 'constant' }, out: 'g.onnx' }],
  [['bert', '--head', 'mlm', '--weights-from', 'enc.onnx', '--out', 'm.onnx'], { arch: 'bert', config: { head: 'mlm' }, out: 'm.onnx', weightsFrom: 'enc.onnx' }],
  [['llama', '--kv-heads', '2', '--opset', '23', '--rms-norm-form', 'op', '--fused-qkv=false', '--init-std', '0.1', '--out', 'l.onnx'], { arch: 'llama', config: { kvHeads: 2, opset: 23, rmsNormForm: 'op', fusedQkv: false, initStd: 0.1 }, out: 'l.onnx' }],
];

for (const [argv, expected] of PARSES) {
  test(`write.ts flags: ${argv.join(' ')}`, (t) => {
    t.deepEqual(parseWriteArgs(argv), expected);
  });
}

const REJECTS: [string[], RegExp][] = [
  [['vit', '--out', 'x'], /expected an architecture/],
  [['bert', '--layers', 'two', '--out', 'x'], /--layers must be a number/],
  [['bert', '--kv-heads', '2', '--out', 'x'], /unknown flag --kv-heads for bert/],
  [['bert', '--layers', '2'], /missing --out/],
  [['gpt2', '--anonymous=yes', '--out', 'x'], /takes true or false/],
];

for (const [argv, message] of REJECTS) {
  test(`write.ts rejects: ${argv.join(' ')}`, (t) => {
    const e = t.throws(() => parseWriteArgs(argv));
    t.true(isUserError(e));
    t.regex(e!.message, message);
  });
}

test('write.ts writes a model that reads back with the asked sizes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-models-'));
  try {
    const out = join(dir, 'llama.onnx');
    const printed = execFileSync(process.execPath, ['--import=tsx', 'examples/models/write.ts', 'llama', '--layers', '3', '--d-model', '32', '--out', out], { encoding: 'utf8' });
    t.regex(printed, /wrote .*llama\.onnx: llama, 3 layers, d 32/);
    const names = readModel(out).graph!.initializer.map((i) => i.name);
    t.true(names.includes('model.layers.2.mlp.down_proj.weight'));
    t.false(names.includes('model.layers.3.mlp.down_proj.weight'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
