/**
 * Which artifacts a checkpoint's parameters belong to. A checkpoint names the artifacts it was
 * written for (state.json `artifacts`): DIR itself, or, after a Merge/Inject, the recompile
 * DIR/structure/step-N (or wherever a library hook recompiled). Every command given DIR and a
 * checkpoint follows it there, but only to artifacts compiled from DIR's base model (same
 * sha256), and only while they hold the compile the checkpoint was written for (the sha256 of
 * their manifest.json, recorded in the checkpoint): anything else is refused, since its
 * parameters would silently mean something else.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../contract/errors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import type { Manifest } from '../contract/manifest.ts';
import { readManifest } from './artifacts.ts';

export interface CheckpointOrigin {
  /** The checkpoint directory (for messages). */
  dir: string;
  /** The artifacts recorded in its state.json. */
  artifacts: string;
  /** The base model's sha256 recorded by the trainer (absent in older checkpoints). */
  base?: { sha256: string };
  /** sha256 of the manifest.json of those artifacts when the checkpoint was written (absent in older checkpoints). */
  manifestSha256?: string;
}

/** sha256 of an artifacts directory's manifest.json: which compile the folder holds now. */
export function manifestDigest(dir: string): string {
  return createHash('sha256').update(readRegularFile(join(dir, 'manifest.json'), 'manifest')).digest('hex');
}

/** Whether `path` lies inside `folder`. */
function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && rel.split(sep)[0] !== '..';
}

/**
 * The artifacts directory (and its manifest) the checkpoint's parameters belong to, given the
 * DIR the user named: DIR itself, or its own recompile DIR/structure/step-N (also when the whole
 * folder was moved since). Refused: another folder, another base model, another spec.
 */
export function checkpointArtifacts(dir: string, ckpt: CheckpointOrigin): { dir: string; manifest: Manifest } {
  const found = locate(dir, ckpt);
  if (ckpt.manifestSha256 !== undefined && manifestDigest(found.dir) !== ckpt.manifestSha256) {
    throw new UserError(
      `checkpoint ${ckpt.dir} was written for other artifacts than the ones now in ${found.dir}: they were compiled again since (manifest.json changed)`,
      'its parameters and optimizer state belong to the earlier compile: recompile that spec and model again, or start a new run',
    );
  }
  return found;
}

function locate(dir: string, ckpt: CheckpointOrigin): { dir: string; manifest: Manifest } {
  const own = resolve(dir);
  const manifest = readManifest(own);
  const recorded = resolve(ckpt.artifacts);
  checkBase(manifest, own, ckpt);
  if (recorded === own) return { dir: own, manifest };
  // DIR's own recompiles: where the checkpoint says, or the same step-N under DIR if DIR moved.
  const structure = join(own, 'structure');
  const candidates = [
    ...(inside(structure, recorded) ? [recorded] : []),
    ...(basename(dirname(recorded)) === 'structure' ? [join(structure, basename(recorded))] : []),
  ];
  const found = candidates.find((c) => existsSync(join(c, 'manifest.json')));
  if (found === undefined) {
    // DIR copied or moved since (the recorded folder is gone, and was no recompile): DIR serves;
    // its parameter check still applies.
    const recompile = basename(dirname(recorded)) === 'structure';
    if (!recompile && !existsSync(join(recorded, 'manifest.json'))) return { dir: own, manifest };
    // A library hook may recompile elsewhere: followed when compiled from the same base and spec.
    if (existsSync(join(recorded, 'manifest.json'))) return sameOrigin(dir, manifest, recorded, ckpt);
    throw new UserError(
      `checkpoint ${ckpt.dir} was written for the artifacts in ${ckpt.artifacts}, which are not ${dir} nor one of its recompiles (${structure}${sep}step-N)`,
      `give the artifacts it was trained with as DIR (${ckpt.artifacts}), or a checkpoint of ${dir}`,
    );
  }
  return sameOrigin(dir, manifest, found, ckpt);
}

/** `found` (where the checkpoint leads) must come from the same base model as DIR. */
function sameOrigin(dir: string, manifest: Manifest, found: string, ckpt: CheckpointOrigin): { dir: string; manifest: Manifest } {
  const theirs = readManifest(found);
  checkBase(theirs, found, ckpt);
  if (theirs.base.sha256 !== manifest.base.sha256) {
    throw new UserError(
      `checkpoint ${ckpt.dir} belongs to ${found}, which was not compiled from the base model of ${dir}: sha256 ${short(theirs.base.sha256)} vs ${short(manifest.base.sha256)}`,
      `give the artifacts it was trained with as DIR, or a checkpoint of ${dir} (recompiled since that training?)`,
    );
  }
  return { dir: found, manifest: theirs };
}

function short(sha: string): string {
  return `${sha.slice(0, 12)}...`;
}

/** The checkpoint's recorded base model must be the one these artifacts were compiled from. */
function checkBase(manifest: Manifest, where: string, ckpt: CheckpointOrigin): void {
  const theirs = ckpt.base?.sha256;
  if (theirs === undefined || !manifest.base.sha256 || theirs === manifest.base.sha256) return;
  throw new UserError(
    `checkpoint ${ckpt.dir} was trained on a base model with sha256 ${short(theirs)}, but ${where} was compiled from ${manifest.base.path} (sha256 ${short(manifest.base.sha256)})`,
    'the same parameter names on another base model mean other values: use the artifacts compiled from the model it was trained on',
  );
}
