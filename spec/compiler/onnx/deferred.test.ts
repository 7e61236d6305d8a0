/**
 * Deferred external data: a model read with `deferAbove` leaves large external tensors in
 * their data file; their values are still readable, and a model written from it links the
 * data file instead of copying its bytes, and runs in ORT with the same results.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import {
  DataLocation, DataType, ExternalDataFile, deferredBytes, encodeModel, makeTensor, makeValueInfo, readModel, tensorArray, tensorElements, writeModel,
} from '../../../compiler/onnx/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { writeFileAtomic } from '../../../contract/atomic.ts';
import { runModel } from '../../support/ort.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-deferred-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 64, COLS = 512; // 128 KiB of float32
const weight = Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.sin(i) * 0.1);
const small = Float32Array.from({ length: COLS }, (_, i) => i / COLS);

/** y = x W + b with W (128 KiB) and b (2 KiB) both in external data. */
function writeBase(folder: string): string {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs = [makeValueInfo('x', DataType.FLOAT, [2, ROWS])];
  g.initializers.set('W', makeTensor('W', DataType.FLOAT, [ROWS, COLS], weight));
  g.initializers.set('b', makeTensor('b', DataType.FLOAT, [COLS], small));
  b.op('Add', [b.op('MatMul', ['x', 'W']), 'b'], {}, { outputs: ['y'] });
  g.outputs = [makeValueInfo('y', DataType.FLOAT, [2, COLS])];
  const model = new Model(g);
  model.opsets.set('', 17);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, 'base.onnx');
  writeModel(modelToProto(model), path, { threshold: 1024 });
  return path;
}

const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * ROWS }, (_, i) => (i % 7) - 3), [2, ROWS]);

test('large external tensors stay on disk, readable on demand; small ones are loaded', (t) => {
  const model = readModel(writeBase(join(dir, 'read')), { deferAbove: 64 * 1024 });
  const [w, b] = model.graph!.initializer;
  t.is(w!.dataLocation, DataLocation.EXTERNAL);
  t.is(w!.rawData.length, 0, 'no bytes held');
  t.truthy(deferredBytes(w!));
  t.deepEqual(tensorArray(w!), weight, 'values read from the file when asked');
  const view = tensorElements(w!);
  t.is(view.length, ROWS * COLS);
  t.is(view[ROWS * COLS - 1], weight[ROWS * COLS - 1]);
  t.is(view[12345], weight[12345]);
  t.is(b!.dataLocation, DataLocation.DEFAULT);
  t.deepEqual(tensorArray(b!), small);
});

test('a model written from a deferred one links the data file and computes the same', async (t) => {
  const basePath = writeBase(join(dir, 'link-base'));
  const want = (await runModel(basePath, { x })).y!;
  const model = readModel(basePath, { deferAbove: 64 * 1024 });
  const out = join(dir, 'link-out');
  mkdirSync(out);
  const weights = new ExternalDataFile(join(out, 'weights.bin'));
  writeFileAtomic(join(out, 'a.onnx'), encodeModel(model, { external: weights, threshold: 1024 }));
  writeFileAtomic(join(out, 'b.onnx'), encodeModel(model, { external: weights, threshold: 1024 }));
  weights.commit();
  const linked = join(out, 'base-data', 'base.onnx.data');
  t.is(statSync(linked).ino, statSync(`${basePath}.data`).ino, 'the same file, linked: no bytes copied');
  t.is(statSync(join(out, 'weights.bin')).size, small.byteLength, 'only the loaded tensor was written');
  t.is(model.graph!.initializer[0]!.dataLocation, DataLocation.EXTERNAL, 'the caller\'s model is left as it was');
  for (const file of ['a.onnx', 'b.onnx']) {
    const got = (await runModel(join(out, file), { x })).y!;
    t.deepEqual(got.data, want.data, file);
  }
  // Encoded without an external file, the deferred bytes are inlined.
  const inline = (await runModel(encodeModel(model), { x })).y!;
  t.deepEqual(inline.data, want.data);
});

test('a data file that changed size after reading is refused, not linked', (t) => {
  const basePath = writeBase(join(dir, 'changed'));
  const model = readModel(basePath, { deferAbove: 64 * 1024 });
  truncateSync(`${basePath}.data`, 100);
  const e = t.throws(() => tensorArray(model.graph!.initializer[0]!));
  t.true(isUserError(e));
  t.regex(e!.message, /changed size/);
  const out = join(dir, 'changed-out');
  mkdirSync(out);
  const weights = new ExternalDataFile(join(out, 'weights.bin'));
  encodeModel(model, { external: weights, threshold: 1024 });
  const c = t.throws(() => weights.commit());
  t.regex(c!.message, /changed size/);
});
