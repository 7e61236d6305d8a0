/**
 * Where `lor2c export` may write, and how a merged model and its data file are replaced so the
 * pair is consistent at every instant:
 *
 * - an export never writes over the artifacts' own files (their graphs, weights, initial
 *   adapter, manifest) nor over the base model;
 * - an existing .onnx is replaced only when it is an earlier merged export of lor2c's (it carries
 *   the `lor2c.merged` metadata); any other file of that name is the user's and is refused;
 * - a merged model's external data goes to a file named for this export
 *   (`model.onnx.<id>.data`) that nothing else refers to; the new .onnx, renamed into place
 *   last, is the commit point. Only then is the data file of the export it replaced removed, so a
 *   kill at any moment leaves the old model with its old data or the new model with its new data.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { ownedFiles } from '../contract/artifacts-folder.ts';
import { fromBinary, ModelProtoSchema } from '../compiler/index.ts';
import { removeStaleTemporaries } from '../contract/atomic.ts';
import { readRegularFile } from '../contract/regular-file.ts';

/** The metadata key of a merged export (JSON: base hash, parameters, source, data file). */
export const MERGED_METADATA = 'lor2c.merged';
/** An earlier merged export's .onnx is read to find its data file; a bigger file is not one of ours to replace blindly. */
const MAX_PREVIOUS_BYTES = 1 << 30;

/** Refuses an export target that is one of the artifacts' own files or the base model. */
export function refuseArtifactFiles(dir: string, manifest: Manifest, outFile: string, what: string): void {
  const target = resolve(outFile);
  const own = [...ownedFiles(dir)].map((f) => resolve(dir, f));
  if (own.includes(target) || target === resolve(manifest.base.path)) {
    throw new UserError(`${what} ${outFile} would overwrite ${target === resolve(manifest.base.path) ? 'the base model' : `a file of the artifacts in ${dir}`}`, 'export to a file outside the artifacts folder');
  }
}

/** A fresh data file name for a merged export to `outFile`. */
export function mergedDataName(outFile: string): string {
  return `${basename(outFile)}.${randomBytes(6).toString('hex')}.data`;
}

function dataPattern(outFile: string): RegExp {
  return new RegExp(`^${basename(outFile).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{12}\\.data$`);
}

/**
 * The data files of the merged export now at `outFile` (none when there is no file); throws
 * when a file is there that lor2c did not export, so it is never replaced.
 */
export function previousMergedData(outFile: string): string[] {
  if (!existsSync(outFile)) return [];
  const refuse = (why: string) => new UserError(`${outFile} exists and ${why}; lor2c replaces only a merged model it exported itself`, 'remove it or export to another name');
  const bytes = readRegularFile(outFile, {
    notRegular: (kind) => refuse(`is ${kind}`),
    cannotOpen: (cause) => refuse(`cannot be read (${cause})`),
  }, { maxBytes: MAX_PREVIOUS_BYTES, tooLarge: (size) => refuse(`is ${size} bytes, too large to be checked`) });
  let about: { data?: unknown } | undefined;
  try {
    const entry = fromBinary(ModelProtoSchema, bytes).metadataProps.find((e) => e.key === MERGED_METADATA);
    about = entry ? (JSON.parse(entry.value) as { data?: unknown }) : undefined;
  } catch {
    throw refuse('is not an ONNX model');
  }
  if (!about) throw refuse('is not a merged model of lor2c (no lor2c.merged metadata)');
  // Exports before per-export data names used `<file>.data`.
  const data = typeof about.data === 'string' ? about.data : `${basename(outFile)}.data`;
  return data.includes('/') || data.includes('\\') ? [] : [data];
}

/**
 * After the new merged model is in place: removes the data files of the export it replaced and
 * those that exports killed before their commit left (named like ours, referred to by nothing).
 */
export function removeObsoleteData(outFile: string, previous: readonly string[], current: string | undefined): void {
  const folder = dirname(outFile);
  const ours = dataPattern(outFile);
  for (const name of previous) if (name !== current) rmSync(join(folder, name), { force: true });
  for (const name of readdirSync(folder)) if (ours.test(name) && name !== current) rmSync(join(folder, name), { force: true });
  removeKilledWrites(outFile);
}

/** Temporary files that killed writes of `file` (and of its merged data files) left beside it. */
export function removeKilledWrites(file: string): void {
  const base = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  removeStaleTemporaries(dirname(file), ['tmp'], new RegExp(`^${base}(\\.[0-9a-f]{12}\\.data)?$`));
}
