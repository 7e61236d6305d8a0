import test from 'ava';
import * as ort from 'onnxruntime-node';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession, resetCudaProbe } from '../../runtime/session.ts';
import { maxThreads } from '../../runtime/threads.ts';
import { Graph, GraphBuilder, Model } from '../../compiler/graph/index.ts';
import { DataType, makeValueInfo } from '../../compiler/onnx/index.ts';
import { writeModelFile } from '../support/model-file.ts';

/** y = x @ W with W (640 x 640: 1.5 MB) stored as external data beside the model. */
function externalDataModel(): { path: string; w: Float32Array; dir: string } {
  const n = 640;
  const g = new Graph();
  const b = new GraphBuilder(g);
  const w = Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3);
  const wName = b.constant('W', DataType.FLOAT, [n, n], w);
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, [1, n]));
  b.op('MatMul', ['x', wName], undefined, { outputs: ['y'] });
  g.outputs.push(makeValueInfo('y', DataType.FLOAT, [1, n]));
  const m = new Model(g);
  m.opsets.set('', 17);
  return { ...writeModelFile(m, 'lor2c-session-'), w };
}

test('loads a model with external data by path, with thread and optimisation settings', async (t) => {
  const { path, w } = externalDataModel();
  t.true(existsSync(path + '.data'), 'the weight went to external data');
  const { session, provider } = await openSession(path, { intraOpThreads: 1, interOpThreads: 1, graphOptimization: 'basic' });
  t.is(provider, 'cpu');
  const x = new Float32Array(640);
  x[2] = 1;
  const out = await session.run({ x: new ort.Tensor('float32', x, [1, 640]) });
  t.deepEqual([...(out.y!.data as Float32Array)].slice(0, 5), [...w.slice(2 * 640, 2 * 640 + 5)]);
});

test('--target cuda falls back to CPU with one line saying why and how to get CUDA, once', async (t) => {
  const { path } = externalDataModel();
  resetCudaProbe();
  const lines: string[] = [];
  const first = await openSession(path, { target: 'cuda', notice: (l) => lines.push(l) });
  if (first.provider === 'cuda') {
    t.log('CUDA libraries are installed here; the fallback path was not exercised');
    t.is(lines.length, 0);
    return;
  }
  t.is(first.provider, 'cpu');
  t.is(lines.length, 1);
  t.false(lines[0]!.includes('\n'));
  t.regex(lines[0]!, /CUDA is not available \(.+\); running on CPU\. .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm install/);
  const second = await openSession(path, { target: 'cuda', notice: (l) => lines.push(l) });
  t.is(second.provider, 'cpu');
  t.is(lines.length, 1, 'the notice is not repeated for the next session');
  const out = await second.session.run({ x: new ort.Tensor('float32', new Float32Array(640), [1, 640]) });
  t.is(out.y!.dims[1], 640);
});

test('the fallback prints exactly one line on stderr, nothing from ORT itself', async (t) => {
  const { path } = externalDataModel();
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-session-'));
  const script = join(dir, 'probe.mts');
  const sessionModule = new URL('../../runtime/session.ts', import.meta.url).pathname;
  writeFileSync(script, `import { openSession } from '${sessionModule}';\nconst s = await openSession(${JSON.stringify(path)}, { target: 'cuda' });\nconsole.log('provider=' + s.provider);\n`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname });
  t.is(child.status, 0, child.stderr);
  if (child.stdout.includes('provider=cuda')) {
    t.log('CUDA libraries are installed here; the fallback path was not exercised');
    return;
  }
  t.regex(child.stdout, /provider=cpu/);
  const lines = child.stderr.split('\n').filter((l) => l.trim() !== '');
  t.is(lines.length, 1, child.stderr);
  t.regex(lines[0]!, /^lor2c: CUDA is not available/);
});

test('a missing model and bad settings are user errors', async (t) => {
  await t.throwsAsync(openSession('/nonexistent/model.onnx'), { message: /model file not found: \/nonexistent\/model.onnx/ });
  const { path } = externalDataModel();
  await t.throwsAsync(openSession(path, { intraOpThreads: -1 }), { message: /intraOpThreads must be a non-negative integer/ });
});

test('the library bounds thread counts itself (the CLI reports the same bound): 100000 threads is refused before a session opens', async (t) => {
  const { path } = externalDataModel();
  const { max, cores } = maxThreads();
  for (const setting of ['intraOpThreads', 'interOpThreads'] as const) {
    const e = await t.throwsAsync(openSession(path, { [setting]: 100_000 }));
    t.is(e?.name, 'UserError');
    t.regex(e!.message, new RegExp(`^${setting} must be at most ${max} \\(this machine has ${cores} cores`));
    await t.throwsAsync(openSession(path, { [setting]: 1.5 }), { message: new RegExp(`${setting} must be a non-negative integer`) });
  }
  await (await openSession(path, { intraOpThreads: max })).session.release();
});
