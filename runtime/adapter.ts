/**
 * Adapter values: the trainable parameters of one artifacts directory, from wherever a user
 * keeps them (a safetensors file, a checkpoint, values in memory), always checked against the
 * manifest so a file for other artifacts is refused with the list of what does not match
 * instead of failing deep inside onnxruntime.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { decodeSafetensors } from '../contract/safetensors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { checkParameterSet } from './artifacts.ts';
import { decodeParameters } from './artifacts-parse.ts';
import { PEFT_CONFIG, PEFT_PREFIX, PEFT_WEIGHTS } from './peft-layout.ts';
import { readPeftAdapter } from './peft-read.ts';
import { readCheckpoint, type Float32Tensor } from './checkpoint.ts';
import { checkpointArtifacts } from './checkpoint-artifacts.ts';

/** Parameter values in memory: by name, plain values (shape from the manifest) or shaped tensors. */
export type AdapterValues = ReadonlyMap<string, Float32Array | Float32Tensor>;

/** A safetensors path, or values in memory. */
export type AdapterSource = string | AdapterValues;

/**
 * The values of an adapter file for artifacts DIR: lor2c's parameter names, or a PEFT LoRA
 * adapter (adapter_model.safetensors with adapter_config.json beside it and PEFT's
 * base_model.model. names), mapped back to lor2c's parameters (peft.ts).
 */
export function readAdapterFile(dir: string, manifest: Manifest, path: string): Map<string, Float32Tensor> {
  const bytes = readRegularFile(path, 'safetensors file');
  if (basename(path) === PEFT_WEIGHTS && existsSync(join(dirname(path), PEFT_CONFIG))) {
    const contents = decodeSafetensors(bytes, path);
    if ([...contents.tensors.keys()].some((name) => name.startsWith(PEFT_PREFIX))) return readPeftAdapter(dir, manifest, path, contents);
  }
  return decodeParameters(manifest, bytes, path);
}

/**
 * Values for every parameter of `manifest`, in manifest order. Plain Float32Arrays take the
 * manifest's shape and must have its element count; `label` names the source in errors. A file
 * is read with readAdapterFile, for artifacts `dir`.
 */
export function adapterValues(manifest: Manifest, source: AdapterSource, label = 'adapter values', dir?: string): Map<string, Float32Tensor> {
  if (typeof source === 'string') return dir === undefined ? decodeParameters(manifest, readRegularFile(source, 'safetensors file'), source) : readAdapterFile(dir, manifest, source);
  const expected = new Map(manifest.parameters.map((p) => [p.name, p]));
  const shaped = new Map<string, Float32Tensor>();
  const problems: string[] = [];
  for (const [name, v] of source) {
    if (v instanceof Float32Array) {
      const p = expected.get(name);
      // Unknown names are reported by checkParameterSet below, with the others.
      const shape = p?.shape ?? [v.length];
      const count = shape.reduce((a, b) => a * b, 1);
      if (p && v.length !== count) problems.push(`'${name}' has ${v.length} values, expected ${count} for shape ${JSON.stringify(shape)}`);
      shaped.set(name, { shape: [...shape], data: v });
    } else {
      if (!(v?.data instanceof Float32Array) || !Array.isArray(v.shape)) problems.push(`'${name}' is neither a Float32Array nor { shape, data: Float32Array }`);
      else if (v.data.length !== v.shape.reduce((a, b) => a * b, 1)) problems.push(`'${name}' has ${v.data.length} values but shape ${JSON.stringify(v.shape)}`);
      shaped.set(name, v);
    }
  }
  if (problems.length > 0) throw new UserError(`${label} do not match the artifacts' parameters:\n  ${problems.join('\n  ')}`);
  checkParameterSet(manifest, shaped, label);
  return new Map(manifest.parameters.map((p) => [p.name, shaped.get(p.name)!]));
}

export interface ParameterSourceOptions {
  /** A checkpoint folder (its `latest`, or `best` with `best`) or one checkpoint directory. */
  checkpoint?: string;
  best?: boolean;
  /** A safetensors file of parameter values. */
  adapter?: string;
}

export interface SourcedParameters {
  values: Map<string, Float32Tensor>;
  /** The artifacts the values belong to: DIR, or for a checkpoint after a Merge/Inject, its recompile. */
  artifacts: string;
  manifest: Manifest;
  /** Where they came from, for messages and the exported config. */
  source: { kind: 'checkpoint'; path: string; step: number } | { kind: 'adapter'; path: string } | { kind: 'initial'; path: string };
}

/**
 * The parameter values a command works with: a checkpoint's (latest, or best), else an
 * adapter file, else the artifacts' own initial values (DIR/adapter.safetensors). A checkpoint
 * made after a Merge/Inject is followed to the recompiled artifacts it belongs to.
 */
export function sourceParameters(dir: string, manifest: Manifest, opts: ParameterSourceOptions = {}): SourcedParameters {
  if (opts.checkpoint !== undefined && opts.adapter !== undefined) {
    throw new UserError('give either a checkpoint or an adapter file, not both');
  }
  if (opts.checkpoint !== undefined) {
    const ckpt = readCheckpoint(opts.checkpoint, opts.best ? 'best' : 'latest');
    const target = checkpointArtifacts(dir, ckpt);
    manifest = target.manifest;
    try {
      checkParameterSet(manifest, ckpt.parameters, ckpt.dir);
    } catch (e) {
      // After a Merge/Inject the checkpoint belongs to recompiled artifacts: say where they are.
      if (e instanceof UserError && ckpt.artifacts) {
        throw new UserError(e.message, `this checkpoint was written for the artifacts in ${ckpt.artifacts}; use that directory`);
      }
      throw e;
    }
    const values = new Map(manifest.parameters.map((p) => [p.name, ckpt.parameters.get(p.name)!]));
    return { values, artifacts: target.dir, manifest, source: { kind: 'checkpoint', path: ckpt.dir, step: ckpt.step } };
  }
  if (opts.best) throw new UserError('--best selects a checkpoint and needs --checkpoint');
  if (opts.adapter !== undefined) return { values: readAdapterFile(dir, manifest, opts.adapter), artifacts: dir, manifest, source: { kind: 'adapter', path: opts.adapter } };
  const initial = join(dir, manifest.adapter);
  return { values: decodeParameters(manifest, readRegularFile(initial, 'safetensors file'), initial), artifacts: dir, manifest, source: { kind: 'initial', path: initial } };
}
