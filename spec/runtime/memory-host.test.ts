import test from 'ava';
import type { Manifest } from '../../contract/manifest.ts';
import { MemoryHost, needsBaseModel } from '../../runtime/memory-host.ts';
import type { Engine } from '../../runtime/engine/engine.ts';

const manifest = (plan: unknown) => ({ format: 'lor2c-artifacts', formatVersion: 1, plan }) as unknown as Manifest;
const noEngine: Engine = { name: 'none', open: () => Promise.reject(new Error('not opened in this test')) };

test('scheduled Merge / Inject need the base model: refused without it, or with another one, naming what to load', (t) => {
  const m = (plan: unknown) => ({ ...manifest(plan), base: { path: '/models/bert4.onnx', sha256: 'ab'.repeat(32) } }) as Manifest;
  t.is(needsBaseModel(m({ modules: [] })), undefined);
  t.is(needsBaseModel(m({ merge: { static: [] } })), undefined, 'static merges are already compiled in');
  t.regex(needsBaseModel(m({ merge: { schedule: { every: { unit: 'steps', count: 5 } } } }))!, /MergeLoR2C merges.*from the base model .*\(bert4\.onnx, sha256 abababababab/);
  t.regex(needsBaseModel(m({ merge: { schedule: {} }, inject: {} }))!, /MergeLoR2C merges and InjectLoR2C injections/);
  const about = { plan: { inject: {} } as never, manifest: m({ inject: {} }), root: 'a', totalSteps: 10, stepsPerEpoch: 2 };
  t.throws(() => new MemoryHost(new Map(), noEngine).planSchedule(about), { message: /a: these artifacts schedule InjectLoR2C injections/ });
  const other = { name: 'other.onnx', bytes: new Uint8Array(1), sha256: 'cd'.repeat(32) };
  t.throws(() => new MemoryHost(new Map(), noEngine, undefined, other).planSchedule(about), { message: /other\.onnx is not the base model a was compiled from/ });
});

test('a missing artifacts file is named, and checkpoints are kept as files to download', (t) => {
  const host = new MemoryHost(new Map(), noEngine);
  t.throws(() => host.readManifest('art'), { message: /art\/manifest\.json was not given/ });
  const where = host.writeCheckpoint('ckpt', { step: 3, data: { epoch: 0, batch: 3 }, rng: { seed: 1 }, plan: {}, artifacts: 'art', parameters: new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]), optimizer: new Map() }, false);
  t.is(where, 'ckpt/step-00000003');
  t.deepEqual(host.checkpoints.get('ckpt')?.latest?.files.map((f) => f.name), ['params.safetensors', 'optimizer.safetensors', 'state.json']);
});
