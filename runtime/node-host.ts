/** The trainer's host on Node: artifacts, data, checkpoints and logs are files; Ctrl-C is SIGINT. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../contract/errors.ts';
import { makeFolder } from '../contract/atomic.ts';
import { lockFolder } from '../contract/lock.ts';
import { readManifest } from './artifacts.ts';
import { readAdapterFile } from './adapter.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { openExamples } from './data/examples.ts';
import { nodeEngine } from './engine/node.ts';
import { TrainingLog } from './log.ts';
import type { TrainerHost } from './trainer-host.ts';
import { checkpointArtifacts, manifestDigest } from './checkpoint-artifacts.ts';
import { dynamicAdapters, structureFolder } from './dynamic.ts';
import { prepareBase, writeArtifacts, type WeightsCache } from '../compiler/index.ts';

export const nodeHost: TrainerHost = {
  artifactsLocation: (where) => resolve(where),
  hasArtifacts: (where) => existsSync(join(where, 'manifest.json')),
  readManifest,
  openGraph: (artifacts, file, settings) => nodeEngine(settings).open({ kind: 'file', path: join(artifacts, file) }),
  readParameters(manifest, artifacts, init) {
    const path = init ?? join(artifacts, manifest.adapter);
    if (!existsSync(path)) throw new UserError(`initial parameter values not found: ${path}`);
    return readAdapterFile(artifacts, manifest, path);
  },
  openDataset: openExamples,
  readCheckpoint: (where) => readCheckpoint(where),
  writeCheckpoint: (root, ckpt, best) => writeCheckpoint(root, ckpt, { best }),
  claimCheckpointFolder(root) {
    makeFolder(root, 'the checkpoint folder');
    const lock = lockFolder(root, 'lor2c train');
    return () => lock.release();
  },
  openLog: (where, resumedAt) => (resumedAt !== undefined ? TrainingLog.resume(where, resumedAt) : TrainingLog.create(where)),
  pause: () => new Promise((r) => setImmediate(r)),
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
  exitNow: () => process.exit(130),
  notice: (line) => process.stderr.write(line + '\n'),
  checkpointArtifacts: (artifacts, ckpt, where) => checkpointArtifacts(artifacts, { ...ckpt, dir: (ckpt as { dir?: string }).dir ?? where }),
  manifestDigest,
  planSchedule({ plan, manifest, root, totalSteps, stepsPerEpoch }) {
    // Every recompile holds the same frozen weights: the first writes them, the rest link that file.
    const weights: WeightsCache = {};
    const store = (step: number, contents: Parameters<typeof writeArtifacts>[1]) => writeArtifacts(join(root, structureFolder(step)), contents, weights).dir;
    return dynamicAdapters({ prepare: () => prepareBase(plan, manifest.base.path), plan, totalSteps, stepsPerEpoch, artifacts: root, store });
  },
};
