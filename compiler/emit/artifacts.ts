/**
 * Writing an artifact directory (design.md): train.onnx, eval.onnx, infer.onnx sharing one
 * external data file of frozen weights, manifest.json and adapter.safetensors. Everything is
 * written into a fresh sibling directory that is renamed into place at the end, so a failed or
 * interrupted compile never leaves a half-written DIR (and never destroys a previous one
 * before the new one is complete).
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Model } from '../graph/graph.ts';
import { modelToProto } from '../graph/convert.ts';
import { ExternalDataFile, encodeModel, writeFileAtomic } from '../onnx/write.ts';
import { encodeSafetensors, float32Entry } from './safetensors.ts';
import type { Manifest } from './manifest.ts';

/** Frozen weights of at least this many bytes go to the shared weights file. */
const EXTERNAL_THRESHOLD = 1024;

export interface ArtifactContents {
  graphs: { train: Model; eval: Model; infer: Model };
  manifest: Manifest;
  /** Initial values of the trainable parameters. */
  initial: Map<string, { shape: number[]; values: Float32Array }>;
}

export interface WrittenArtifacts {
  dir: string;
  bytes: Record<string, number>;
}

/**
 * Writes train.onnx, eval.onnx and infer.onnx into `dir` with ONE external data file: the
 * frozen weights are the same TensorProto objects in the three graphs, and ExternalDataFile
 * places identical bytes once, so each frozen weight is on disk once. Returns bytes per file.
 */
export function writeGraphs(dir: string, graphs: ArtifactContents['graphs'], weightsFile: string, threshold = EXTERNAL_THRESHOLD): Record<string, number> {
  const weights = new ExternalDataFile(join(dir, weightsFile));
  const bytes: Record<string, number> = {};
  try {
    for (const kind of ['train', 'eval', 'infer'] as const) {
      const encoded = encodeModel(modelToProto(graphs[kind]), { external: weights, threshold });
      writeFileAtomic(join(dir, `${kind}.onnx`), encoded);
      bytes[`${kind}.onnx`] = encoded.length;
    }
    weights.commit();
  } catch (e) {
    weights.abort();
    throw e;
  }
  return bytes;
}

export function writeArtifacts(dir: string, contents: ArtifactContents): WrittenArtifacts {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.${process.pid}.staging`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  const bytes: Record<string, number> = {};
  try {
    Object.assign(bytes, writeGraphs(staging, contents.graphs, contents.manifest.weights));
    const adapter = encodeSafetensors(new Map([...contents.initial].map(([name, t]) => [name, float32Entry(t.shape, t.values)])), { format: 'lor2c' });
    writeFileSync(join(staging, contents.manifest.adapter), adapter);
    bytes[contents.manifest.adapter] = adapter.length;
    writeFileAtomic(join(staging, 'manifest.json'), `${JSON.stringify(contents.manifest, null, 2)}\n`);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  // Swap in: the old directory is moved aside first and removed only once the new one is in place.
  const old = `${staging}.old`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(staging, target);
  rmSync(old, { recursive: true, force: true });
  return { dir: target, bytes };
}
