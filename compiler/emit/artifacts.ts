/**
 * Writing an artifact directory (docs/architecture.md): train.onnx, eval.onnx, infer.onnx sharing one
 * external data file of frozen weights, manifest.json and adapter.safetensors (and bindings.ts).
 * artifacts-folder.ts puts them in place: a failed or interrupted compile never leaves a
 * half-written DIR, never destroys the previous one, and never touches files of the user's.
 */
import { join, resolve } from 'node:path';
import type { Model } from '../graph/graph.ts';
import { modelToProto } from '../graph/convert.ts';
import { ExternalDataFile, encodeModel, type WeightsOnDisk } from '../onnx/write.ts';
import { writeDurable, writeFileAtomic } from '../../contract/atomic.ts';
import { encodeSafetensors, float32Entry } from '../../contract/safetensors.ts';
import { BINDINGS_FILE, MANIFEST_FILE, replaceArtifacts, type ReplaceOptions } from '../../contract/artifacts-folder.ts';
import type { Manifest } from '../../contract/manifest.ts';

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
export function writeGraphs(dir: string, graphs: ArtifactContents['graphs'], weightsFile: string, threshold = EXTERNAL_THRESHOLD, reuse?: WeightsCache): Record<string, number> {
  const weights = new ExternalDataFile(join(dir, weightsFile), reuse?.onDisk);
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
  if (reuse) reuse.onDisk = { ...weights.onDisk(), path: join(reuse.finalDir?.(dir) ?? dir, weightsFile) };
  return bytes;
}

/**
 * Remembers the last weights file written, so the next write of the same frozen weights (a
 * recompile at Merge / Inject) links it instead of writing it again. `finalDir` maps a staging
 * directory to where it ends up.
 */
export interface WeightsCache {
  onDisk?: WeightsOnDisk;
  finalDir?: (staging: string) => string;
}

export interface WriteArtifactsOptions extends ReplaceOptions {
  /** Also write bindings.ts with this text (`lor2c compile --emit-ts`). */
  bindings?: string;
  /** Writes more files of the artifacts into the staging folder (text.json and the tokenizer). */
  alsoWrite?: (staging: string) => void;
}

/** Writes the artifacts into `dir`, replacing lor2c's earlier artifacts there (artifacts-folder.ts). */
export function writeArtifacts(dir: string, contents: ArtifactContents, weightsCache?: WeightsCache, opts: WriteArtifactsOptions = {}): WrittenArtifacts {
  const bytes: Record<string, number> = {};
  const target = replaceArtifacts(dir, (staging) => {
    if (weightsCache) weightsCache.finalDir = (d) => (d === staging ? resolve(dir) : d);
    Object.assign(bytes, writeGraphs(staging, contents.graphs, contents.manifest.weights, EXTERNAL_THRESHOLD, weightsCache));
    const adapter = encodeSafetensors(new Map([...contents.initial].map(([name, t]) => [name, float32Entry(t.shape, t.values)])), { format: 'lor2c' });
    writeDurable(join(staging, contents.manifest.adapter), adapter);
    bytes[contents.manifest.adapter] = adapter.length;
    if (opts.bindings !== undefined) writeDurable(join(staging, BINDINGS_FILE), opts.bindings);
    opts.alsoWrite?.(staging);
    writeDurable(join(staging, MANIFEST_FILE), `${JSON.stringify(contents.manifest, null, 2)}\n`);
  }, opts);
  return { dir: target, bytes };
}
