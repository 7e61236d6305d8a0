/**
 * The estimate of what ORT's weight prepacking adds to a session: counted on small graphs for
 * each way a weight reaches a product, and measured against ORT itself on a 64 MiB weight.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Graph, GraphBuilder, Model } from '../../../compiler/graph/index.ts';
import { DataType, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { prepackBytes } from '../../../compiler/emit/prepack-bytes.ts';
import { writeModelFile } from '../../support/model-file.ts';

type Reader = 'matmul' | 'gemmT' | 'fusedT' | 'gather' | 'asA';
interface Case { n: number; stored?: 'half'; through?: 'transpose'; readers: Reader[] }

/** A graph reading one n x n weight W (float32, or half cast to float32; optionally through Transpose) with the given nodes. */
function weightGraph(c: Case): Graph {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const count = c.n * c.n;
  let w = c.stored === 'half'
    ? b.op('Cast', [b.constant('W', DataType.FLOAT16, [c.n, c.n], new Uint16Array(count).fill(0x3c00))], { to: DataType.FLOAT })
    : b.constant('W', DataType.FLOAT, [c.n, c.n], Float32Array.from({ length: count }, (_, i) => (i % 7) - 3));
  if (c.through === 'transpose') w = b.op('Transpose', [w], { perm: [1, 0] });
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, [2, c.n]), makeValueInfo('ids', DataType.INT64, [2]));
  c.readers.forEach((r, i) => {
    const out = `y${i}`;
    if (r === 'matmul') b.op('MatMul', ['x', w], undefined, { outputs: [out] });
    else if (r === 'gemmT') b.op('Gemm', ['x', w], { transB: 1 }, { outputs: [out] });
    else if (r === 'fusedT') b.op('FusedMatMul', ['x', w], { transB: 1 }, { domain: 'com.microsoft', outputs: [out] });
    else if (r === 'asA') b.op('MatMul', [w, b.op('Transpose', ['x'], { perm: [1, 0] })], undefined, { outputs: [out] });
    else b.op('Gather', [w, 'ids'], { axis: 0 }, { outputs: [out] });
    g.outputs.push(makeValueInfo(out, DataType.FLOAT));
  });
  return g;
}

const copy = (n: number) => 4 * n * n;

test('one product reading a weight: its packed copy replaces the initializer, nothing added', (t) => {
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul'] })), 0);
});

test('a forward and a backward product (MatMul, transB Gemm or FusedMatMul): one copy more', (t) => {
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul', 'gemmT'] })), copy(8));
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul', 'fusedT'] })), copy(8));
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul', 'gemmT', 'fusedT'] })), 2 * copy(8));
});

test('a reader that does not pack keeps the initializer: every packed copy is added', (t) => {
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul', 'gather'] })), copy(8));
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['matmul', 'asA'] })), copy(8));
  t.is(prepackBytes(weightGraph({ n: 8, readers: ['gather', 'asA'] })), 0, 'nothing packs it');
});

test('through the constants ORT folds: a half weight cast to float32 is packed as float32, a transposed weight as its folded transpose', (t) => {
  t.is(prepackBytes(weightGraph({ n: 8, stored: 'half', readers: ['matmul', 'gemmT'] })), copy(8), 'float32 bytes, not the stored half ones');
  t.is(prepackBytes(weightGraph({ n: 8, through: 'transpose', readers: ['matmul', 'gemmT'] })), copy(8));
  t.is(prepackBytes(weightGraph({ n: 8, stored: 'half', through: 'transpose', readers: ['matmul'] })), 0);
});

/** The process's RSS after opening the graph's session and running it once, in a fresh process. */
function measuredRss(t: { is: (a: unknown, b: unknown, m?: string) => void }, path: string, dir: string, n: number, prepacking: boolean): number {
  const script = join(dir, `open-${prepacking}.mts`);
  writeFileSync(script, `import * as ort from '${createRequire(import.meta.url).resolve('onnxruntime-node')}';\nimport { openSession } from '${new URL('../../../runtime/session.ts', import.meta.url).pathname}';\nconst { session } = await openSession(${JSON.stringify(path)}, { intraOpThreads: 1, weightPrepacking: ${prepacking} });\nconst feeds = { x: new ort.Tensor('float32', new Float32Array(${2 * n}).fill(1), [2, ${n}]), ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n), [2]) };\nawait session.run(Object.fromEntries(session.inputNames.map((k) => [k, feeds[k]])));\nconsole.log(process.memoryUsage().rss);\n`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: new URL('../../..', import.meta.url).pathname });
  t.is(child.status, 0, child.stderr);
  return Number(child.stdout.trim());
}

/**
 * What ORT adds is the estimate: each graph of 64 MiB weights opened with prepacking on and
 * off (runtime/session.ts weightPrepacking), the difference of the two processes' RSS.
 */
for (const c of [
  { n: 4096, readers: ['matmul', 'gemmT'] },
  { n: 4096, stored: 'half', through: 'transpose', readers: ['matmul', 'gemmT', 'gather'] },
] as Case[]) {
  test(`measured: ${c.stored ?? 'float32'} W${c.through ? ` through ${c.through}` : ''} read by ${c.readers.join(', ')}`, (t) => {
    const m = new Model(weightGraph(c));
    m.opsets.set('', 17);
    m.opsets.set('com.microsoft', 1);
    const { path, dir } = writeModelFile(m, 'lor2c-prepack-');
    const estimate = prepackBytes(m.graph);
    const added = measuredRss(t, path, dir, c.n, true) - measuredRss(t, path, dir, c.n, false);
    t.log(`prepacking added ${(added / 2 ** 20).toFixed(0)} MiB; estimated ${(estimate / 2 ** 20).toFixed(0)} MiB`);
    t.true(estimate > 0);
    t.true(added > 0.8 * estimate && added < 1.2 * estimate, `added ${added} B, estimated ${estimate} B`);
  });
}
