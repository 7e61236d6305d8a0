/** Untrusted model files: every kind of damage gives a UserError naming the file and the tensor, never a crash. */
import test from 'ava';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  DataLocation, DataType, makeValueInfo, StringStringEntryProtoSchema, create, encodeModel, makeTensor, readModel, writeModel, copyMessage, tensorRawBytes,
  type ModelProto, type TensorProto,
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

function withInitializers(model: ModelProto, initializers: TensorProto[]): ModelProto {
  return copyMessage(model, { graph: copyMessage(model.graph!, { initializer: initializers }) });
}

function writeCase(name: string, model: ModelProto): string {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'm.onnx');
  writeFileSync(path, encodeModel(model));
  return path;
}

test('an initializer with dims but no data is refused, not read as zeros', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  expectUserError(t, writeCase('no-data', withInitializers(m, [copyMessage(w, { rawData: new Uint8Array(0) })])), /tensor 'w' \(graph initializer\).*declares float32\[3,4\] but holds no data/);
  const scalar = copyMessage(w, { rawData: new Uint8Array(0), dims: [] });
  expectUserError(t, writeCase('no-data-scalar', withInitializers(m, [scalar])), /tensor 'w'.*declares float32\[\] but holds no data/);
});

test('an initializer with huge dims and no data is refused at once, without allocating them', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const big = copyMessage(w, { rawData: new Uint8Array(0), dims: [200000n, 200000n] }); // 160 GB of float32, within the element limit
  expectUserError(t, writeCase('no-data-huge', withInitializers(m, [big])), /tensor 'w'.*declares float32\[200000,200000\] but holds no data/);
});

test('an empty tensor needs no data', (t) => {
  const m = tinyModel();
  const empty = makeTensor('empty', DataType.FLOAT, [0, 4], new Float32Array(0));
  const back = readModel(writeCase('empty', withInitializers(m, [...m.graph!.initializer, empty])));
  t.deepEqual(back.graph!.initializer[1]!.dims, [0n, 4n]);
});

test('typed data fields: the count must match the dims, and the field must be the one of the type', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const short = copyMessage(w, { rawData: new Uint8Array(0), floatData: [1, 2, 3] });
  expectUserError(t, writeCase('float-data-short', withInitializers(m, [short])), /tensor 'w'.*3 entries in float_data but float32\[3,4\] needs 12/);
  const wrongField = copyMessage(w, { rawData: new Uint8Array(0), int64Data: Array.from({ length: 12 }, () => 1n) });
  expectUserError(t, writeCase('wrong-field', withInitializers(m, [wrongField])), /tensor 'w' .*is float32 but holds its data in int64_data/);
  const twoFields = copyMessage(w, { floatData: new Array(12).fill(1) });
  expectUserError(t, writeCase('two-fields', withInitializers(m, [twoFields])), /tensor 'w'.*several fields \(raw_data, float_data\)/);
  const good = copyMessage(w, { rawData: new Uint8Array(0), floatData: new Array(12).fill(0.25) });
  const back = readModel(writeCase('float-data-good', withInitializers(m, [good])));
  t.is(back.graph!.initializer[0]!.floatData.length, 12);
});

test('a complex64 tensor holds 8 bytes an element', (t) => {
  const m = tinyModel();
  const c = makeTensor('c', DataType.COMPLEX64, [2], new Float32Array([1, 2, 3, 4]));
  const back = readModel(writeCase('complex', withInitializers(m, [...m.graph!.initializer, c])));
  t.is(back.graph!.initializer[1]!.rawData.length, 16);
});

test('an initializer name defined twice is refused, naming it', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const other = makeTensor('w', DataType.FLOAT, [3, 4], new Float32Array(12).fill(-1));
  expectUserError(t, writeCase('duplicate', withInitializers(m, [w, other])), /initializer 'w' is defined twice in the graph of '.*duplicate\/m\.onnx'/);
});

test('external data location naming the model folder itself or a folder', (t) => {
  expectUserError(t, writeCase('ext-dot', externalTo(tinyModel(), '.')), /tensor 'w'.*external data location '\.' is a folder, not a data file/);
  const path = writeCase('ext-dir', externalTo(tinyModel(), 'sub'));
  mkdirSync(join(dir, 'ext-dir', 'sub'));
  expectUserError(t, path, /tensor 'w'.*external data location 'sub' is a folder/);
});

test('external data location naming a FIFO is refused without opening it (which would block)', (t) => {
  const path = writeCase('ext-fifo', externalTo(tinyModel(), 'pipe'));
  execFileSync('mkfifo', [join(dir, 'ext-fifo', 'pipe')]);
  expectUserError(t, path, /tensor 'w'.*external data location 'pipe' is a FIFO \(named pipe\), not a data file/);
  symlinkSync('pipe', join(dir, 'ext-fifo', 'link'));
  writeFileSync(path, encodeModel(externalTo(tinyModel(), 'link')));
  expectUserError(t, path, /tensor 'w'.*external data location 'link' is a FIFO/);
});

test('the model path itself naming a FIFO or a folder', (t) => {
  const sub = join(dir, 'model-fifo');
  mkdirSync(sub, { recursive: true });
  execFileSync('mkfifo', [join(sub, 'm.onnx')]);
  expectUserError(t, join(sub, 'm.onnx'), /cannot read model .*m\.onnx': it is a FIFO \(named pipe\), not a file/);
  expectUserError(t, sub, /cannot read model .*model-fifo': it is a folder, not a file/);
});

test('external data offset past the end with no length: the dims give the length', (t) => {
  const m = externalTo(tinyModel(), 'w.bin', 8, 48);
  const w = m.graph!.initializer[0]!;
  w.externalData = w.externalData.filter((e) => e.key !== 'length');
  const path = writeCase('ext-offset', m);
  writeFileSync(join(dir, 'ext-offset', 'w.bin'), Buffer.alloc(48));
  expectUserError(t, path, /tensor 'w'.*'w\.bin' offset 8 \+ length 48 runs past the end of the file \(48 bytes\)/);
});

test('dims whose product overflows a double (to Infinity x 0 = NaN) or that are negative', (t) => {
  const m = tinyModel();
  const w = m.graph!.initializer[0]!;
  const nan = copyMessage(w, { rawData: new Uint8Array(0), dims: [...new Array(18).fill(1n << 62n), 0n] });
  expectUserError(t, writeCase('dims-nan', withInitializers(m, [nan])), /tensor 'w'.*has a dimension of 4611686018427387904 .*an absurd size/);
  const negative = copyMessage(w, { dims: [-3n, -4n] });
  expectUserError(t, writeCase('dims-negative', withInitializers(m, [negative])), /tensor 'w'.*has a negative dimension -3/);
  const deep = copyMessage(w, { rawData: new Uint8Array(0), dims: new Array(65).fill(1n) });
  expectUserError(t, writeCase('dims-rank', withInitializers(m, [deep])), /tensor 'w'.*has rank 65, over the limit of 64/);
});

test('declared shapes of graph inputs and outputs: negative or absurd fixed dims are refused', (t) => {
  const m = tinyModel();
  const withInput = (dims: number[]) => copyMessage(m, { graph: copyMessage(m.graph!, { input: [makeValueInfo('x', DataType.FLOAT, dims)] }) });
  expectUserError(t, writeCase('input-negative', withInput([-2, 3])), /input 'x' of the graph of '.*input-negative\/m\.onnx' declares a negative dimension -2/);
  expectUserError(t, writeCase('input-huge', withInput([2 ** 50, 3])), /input 'x' of the graph .*declares a dimension of 1125899906842624, an absurd size/);
  const badOut = copyMessage(m, { graph: copyMessage(m.graph!, { output: [makeValueInfo('y', DataType.FLOAT, [2, -4])] }) });
  expectUserError(t, writeCase('output-negative', badOut), /output 'y' of the graph .*declares a negative dimension -4/);
});

test('a tensor built in memory without data is a bug, never zeros', (t) => {
  const w = copyMessage(tinyModel().graph!.initializer[0]!, { rawData: new Uint8Array(0) });
  const error = t.throws(() => tensorRawBytes(w));
  t.false(isUserError(error));
  t.regex(error!.message, /internal error: tensor 'w' declares float32\[3,4\] but holds no data/);
});
