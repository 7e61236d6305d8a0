/**
 * Models whose weights exceed 2 GiB: writes one (three 800 MiB float32 weights, external
 * data), reads it back through lor2c's untrusted-input reader, runs it in onnxruntime-node and
 * checks the rows it gathers. Prints sizes and timings.  Run: npx tsx bench/large-model.ts [DIR]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../compiler/graph/index.ts';
import { DataType, makeTensor, makeValueInfo, readModel, tensorArray, writeModel } from '../compiler/onnx/index.ts';

const ROWS = 51_200;
const COLS = 4_096; // 51,200 x 4,096 float32 = 800 MiB per weight
const WEIGHTS = 3;

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'lor2c-large-'));
const path = join(dir, 'large.onnx');
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2);

const g = new Graph();
const b = new GraphBuilder(g);
g.inputs = [makeValueInfo('rows', DataType.INT64, ['n'])];
for (let k = 0; k < WEIGHTS; k++) {
  const data = new Float32Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) data.fill(r * 10 + k, r * COLS, (r + 1) * COLS); // row r of weight k holds r*10+k
  g.initializers.set(`w${k}`, makeTensor(`w${k}`, DataType.FLOAT, [ROWS, COLS], data));
  b.op('Gather', [`w${k}`, 'rows'], { axis: 0 }, { outputs: [`y${k}`] });
  g.outputs.push(makeValueInfo(`y${k}`, DataType.FLOAT, ['n', COLS]));
}
const model = new Model(g);
model.opsets.set('', 17);

let t0 = performance.now();
writeModel(modelToProto(model), path);
const dataBytes = statSync(`${path}.data`).size;
console.log(`write   ${seconds(t0)} s   model ${statSync(path).size} B + external data ${(dataBytes / 2 ** 30).toFixed(2)} GiB`);

t0 = performance.now();
const back = readModel(path);
const last = tensorArray(back.graph!.initializer[WEIGHTS - 1]!);
console.log(`read    ${seconds(t0)} s   last weight's final element ${last[last.length - 1]} (want ${(ROWS - 1) * 10 + WEIGHTS - 1})`);

t0 = performance.now();
const session = await ort.InferenceSession.create(path);
console.log(`ORT load ${seconds(t0)} s`);
const rows = [0n, 7n, BigInt(ROWS - 1)];
const out = await session.run({ rows: new ort.Tensor('int64', BigInt64Array.from(rows), [rows.length]) });
let ok = true;
for (let k = 0; k < WEIGHTS; k++) {
  const y = out[`y${k}`]!.data as Float32Array;
  rows.forEach((r, i) => (ok &&= y[i * COLS] === Number(r) * 10 + k && y[(i + 1) * COLS - 1] === Number(r) * 10 + k));
}
console.log(`ORT gathered rows ${ok ? 'match' : 'DO NOT match'}`);
await session.release();
if (!process.argv[2]) rmSync(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
