/** Untrusted model files: every kind of damage gives a UserError naming the file and the tensor, never a crash. */
import test from 'ava';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataLocation, DataType, makeValueInfo, StringStringEntryProtoSchema, create, encodeModel, makeTensor, readModel, writeModel, copyMessage,
  type ModelProto,
} from '../../../compiler/onnx/index.ts';
import { Graph, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { GraphBuilder } from '../../../compiler/graph/builder.ts';


function tinyModel(): ModelProto {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs = [makeValueInfo('x', DataType.FLOAT, [2, 3])];
  g.initializers.set('w', makeTensor('w', DataType.FLOAT, [3, 4], new Float32Array(12).fill(0.5)));
  b.op('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
  g.outputs = [makeValueInfo('y', DataType.FLOAT, [2, 4])];
  const m = new Model(g);
  m.opsets.set('', 17);
  return modelToProto(m);
}

function externalTo(model: ModelProto, location: string, offset = 0, length = 48): ModelProto {
  const w = model.graph!.initializer[0]!;
  const ext = copyMessage(w, {
    rawData: new Uint8Array(0),
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
    ],
  });
  return copyMessage(model, { graph: copyMessage(model.graph!, { initializer: [ext] }) });
}

const dir = mkdtempSync(join(tmpdir(), 'lor2c-untrusted-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function expectUserError(t: import('ava').ExecutionContext, path: string, pattern: RegExp) {
  const error = t.throws(() => readModel(path));
  t.true(isUserError(error), `not a UserError: ${error?.stack}`);
  t.regex(error!.message, pattern);
}

test('a truncated file', (t) => {
  const bytes = encodeModel(tinyModel());
  const path = join(dir, 'truncated.onnx');
  writeFileSync(path, bytes.subarray(0, bytes.length - 7));
  expectUserError(t, path, /truncated\.onnx.*(not a valid ONNX model|has no graph)/);
});

test('random bytes', (t) => {
  const path = join(dir, 'garbage.onnx');
  writeFileSync(path, Buffer.from('this is not a model at all, just text\n'.repeat(20)));
  expectUserError(t, path, /garbage\.onnx/);
});

test('a missing file', (t) => {
  expectUserError(t, join(dir, 'nope.onnx'), /cannot read model .*nope\.onnx.*ENOENT/);
});

test('external data escaping the model folder with ..', (t) => {
  const sub = join(dir, 'esc');
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'm.onnx');
  writeFileSync(path, encodeModel(externalTo(tinyModel(), '../../etc/passwd')));
  expectUserError(t, path, /tensor 'w'.*'\.\.\/\.\.\/etc\/passwd' points outside the model's folder/);
});

test('external data with an absolute path', (t) => {
  const path = join(dir, 'abs.onnx');
  writeFileSync(path, encodeModel(externalTo(tinyModel(), '/etc/passwd')));
  expectUserError(t, path, /tensor 'w'.*points outside/);
});

test('external data through a symlink that leaves the folder', (t) => {
  const sub = join(dir, 'link');
  mkdirSync(sub, { recursive: true });
  symlinkSync('/etc/hostname', join(sub, 'weights.bin'));
  const path = join(sub, 'm.onnx');
  writeFileSync(path, encodeModel(externalTo(tinyModel(), 'weights.bin')));
  expectUserError(t, path, /tensor 'w'.*points outside/);
});

test('external data offset past the end of the file', (t) => {
  const sub = join(dir, 'short');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'w.bin'), Buffer.alloc(40));
  const path = join(sub, 'm.onnx');
  writeFileSync(path, encodeModel(externalTo(tinyModel(), 'w.bin', 16, 48)));
  expectUserError(t, path, /tensor 'w'.*offset 16 \+ length 48 runs past the end of the file \(40 bytes\)/);
});

test('external data file missing', (t) => {
  const path = join(dir, 'missing-data.onnx');
  writeFileSync(path, encodeModel(externalTo(tinyModel(), 'absent.bin')));
  expectUserError(t, path, /tensor 'w'.*'absent\.bin' does not exist/);
});

test('absurd dims', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const huge = copyMessage(w, { dims: [1n << 30n, 1n << 30n] });
  const path = join(dir, 'huge.onnx');
  writeFileSync(path, encodeModel(copyMessage(m, { graph: copyMessage(m.graph!, { initializer: [huge] }) })));
  expectUserError(t, path, /tensor 'w'.*absurd size/);
});

test('raw data shorter than the dims say', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const short = copyMessage(w, { dims: [3n, 5n] });
  const path = join(dir, 'short-raw.onnx');
  writeFileSync(path, encodeModel(copyMessage(m, { graph: copyMessage(m.graph!, { initializer: [short] }) })));
  expectUserError(t, path, /tensor 'w'.*48 bytes of data but float32\[3,5\] needs 60/);
});

test('a well-formed external-data model reads back with its values', (t) => {
  const sub = join(dir, 'good');
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'm.onnx');
  writeModel(tinyModel(), path, { threshold: 0 });
  t.truthy(readFileSync(join(sub, 'm.onnx.data')).length >= 48);
  const back = readModel(path);
  t.deepEqual(Array.from(new Float32Array(new Uint8Array(back.graph!.initializer[0]!.rawData).buffer)), new Array(12).fill(0.5));
});
