/**
 * The files of an artifact directory as bytes, without Node modules: the three graphs sharing
 * one external data file of frozen weights, adapter.safetensors and manifest.json. artifacts.ts
 * writes them into a folder; a page keeps them in memory (artifactFiles).
 */
import type { Model } from '../graph/graph.ts';
import { modelToProto } from '../graph/convert.ts';
import { MemorySink, encodeModel, type ExternalSink } from '../onnx/encode.ts';
import { encodeSafetensors, float32Entry } from '../../contract/safetensors.ts';
import { MANIFEST_FILE } from '../../contract/artifacts-names.ts';
import type { Manifest } from '../../contract/manifest.ts';

/** Frozen weights of at least this many bytes go to the shared weights file. */
export const EXTERNAL_THRESHOLD = 1024;

export interface ArtifactContents {
  /** `update`: the split update's optimizer graph, when the train graph ends at the gradients. */
  graphs: { train: Model; eval: Model; infer: Model; update?: Model };
  manifest: Manifest;
  /** Initial values of the trainable parameters. */
  initial: Map<string, { shape: number[]; values: Float32Array }>;
}

export const GRAPH_KINDS = ['train', 'eval', 'infer', 'update'] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

/** The graphs these artifacts have: the three always, the update graph with the split update. */
export function graphKinds(graphs: ArtifactContents['graphs']): GraphKind[] {
  return GRAPH_KINDS.filter((kind) => graphs[kind] !== undefined);
}

/**
 * train.onnx, eval.onnx and infer.onnx with ONE external data sink: the frozen weights are the
 * same TensorProto objects in the three graphs, and the sink places identical bytes once.
 */
export function encodeGraph(graphs: ArtifactContents['graphs'], kind: GraphKind, external: ExternalSink, threshold = EXTERNAL_THRESHOLD): Uint8Array {
  const model = graphs[kind];
  if (!model) throw new Error(`internal error: these artifacts have no ${kind} graph`);
  return encodeModel(modelToProto(model), { external, threshold });
}

/** adapter.safetensors: the parameters' initial values. */
export function adapterBytes(initial: ArtifactContents['initial']): Uint8Array {
  return encodeSafetensors(new Map([...initial].map(([name, t]) => [name, float32Entry(t.shape, t.values)])), { format: 'lor2c' });
}

export function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Every file of the artifacts, by its name in the folder (the weights file only when a tensor went there). */
export function artifactFiles(contents: ArtifactContents): { name: string; bytes: Uint8Array }[] {
  const weights = new MemorySink(contents.manifest.weights);
  const files = graphKinds(contents.graphs).map((kind) => ({ name: `${kind}.onnx`, bytes: encodeGraph(contents.graphs, kind, weights) }));
  if (weights.used) files.push({ name: contents.manifest.weights, bytes: weights.bytes() });
  files.push({ name: contents.manifest.adapter, bytes: adapterBytes(contents.initial) });
  files.push({ name: MANIFEST_FILE, bytes: new TextEncoder().encode(manifestText(contents.manifest)) });
  return files;
}
