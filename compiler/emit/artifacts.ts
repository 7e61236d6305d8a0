/**
 * Writing an artifact directory (docs/architecture.md): train.onnx, eval.onnx, infer.onnx sharing one
 * external data file of frozen weights, manifest.json and adapter.safetensors (and bindings.ts).
 * artifacts-folder.ts puts them in place: a failed or interrupted compile never leaves a
 * half-written DIR, never destroys the previous one, and never touches files of the user's.
 */
import { join, resolve } from 'node:path';
import { ExternalDataFile, type WeightsOnDisk } from '../onnx/write.ts';
import { writeDurable, writeFileAtomic } from '../../contract/atomic.ts';
import { BINDINGS_FILE, MANIFEST_FILE, replaceArtifacts, type ReplaceOptions } from '../../contract/artifacts-folder.ts';
import { EXTERNAL_THRESHOLD, adapterBytes, graphKinds, encodeGraph, manifestText, type ArtifactContents } from './artifact-files.ts';

export type { ArtifactContents };

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
    for (const kind of graphKinds(graphs)) {
      const encoded = encodeGraph(graphs, kind, weights, threshold);
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
    const adapter = adapterBytes(contents.initial);
    writeDurable(join(staging, contents.manifest.adapter), adapter);
    bytes[contents.manifest.adapter] = adapter.length;
    if (opts.bindings !== undefined) writeDurable(join(staging, BINDINGS_FILE), opts.bindings);
    opts.alsoWrite?.(staging);
    writeDurable(join(staging, MANIFEST_FILE), manifestText(contents.manifest));
  }, opts);
  return { dir: target, bytes };
}
