import test from 'ava';
import type { Manifest } from '../../contract/manifest.ts';
import { MemoryHost, needsCompiler } from '../../runtime/memory-host.ts';
import type { Engine } from '../../runtime/engine/engine.ts';

const manifest = (plan: unknown) => ({ format: 'lor2c-artifacts', formatVersion: 1, plan }) as unknown as Manifest;
const noEngine: Engine = { name: 'none', open: () => Promise.reject(new Error('not opened in this test')) };

test('scheduled Merge / Inject need the compiler: refused with the reason and what to do', (t) => {
  t.is(needsCompiler(manifest({ modules: [] })), undefined);
  t.is(needsCompiler(manifest({ merge: { static: [] } })), undefined, 'static merges are already compiled in');
  t.regex(needsCompiler(manifest({ merge: { schedule: { every: { unit: 'steps', count: 5 } } } }))!, /MergeLoR2C merges.*lor2c train/);
  t.regex(needsCompiler(manifest({ merge: { schedule: {} }, inject: {} }))!, /MergeLoR2C merges and InjectLoR2C injections/);
  const files = new Map([['a/manifest.json', new TextEncoder().encode(JSON.stringify(manifest({ inject: {} })))]]);
  t.throws(() => new MemoryHost(files, noEngine).readManifest('a'), { message: /a: these artifacts schedule InjectLoR2C injections/ });
});

test('a missing artifacts file is named, and checkpoints are kept as files to download', (t) => {
  const host = new MemoryHost(new Map(), noEngine);
  t.throws(() => host.readManifest('art'), { message: /art\/manifest\.json was not given/ });
  const where = host.writeCheckpoint('ckpt', { step: 3, data: { epoch: 0, batch: 3 }, rng: { seed: 1 }, plan: {}, artifacts: 'art', parameters: new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]), optimizer: new Map() }, false);
  t.is(where, 'ckpt/step-00000003');
  t.deepEqual(host.checkpoints.get('ckpt')?.latest?.files.map((f) => f.name), ['params.safetensors', 'optimizer.safetensors', 'state.json']);
});
