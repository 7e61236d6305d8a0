/**
 * Writes the train, eval and infer graphs into one folder with ONE external data file: the
 * frozen weights are the same TensorProto objects in all three graphs, and ExternalDataFile
 * places identical bytes once, so each frozen weight is on disk once.
 */
import { join } from 'node:path';
import { modelToProto } from '../graph/convert.ts';
import { encodeModel, ExternalDataFile, writeFileAtomic, DEFAULT_EXTERNAL_THRESHOLD } from '../onnx/write.ts';
import type { Model } from '../graph/graph.ts';

export interface ArtifactPaths {
  train: string;
  eval: string;
  infer: string;
  data: string;
}

export function writeTrainingArtifacts(dir: string, graphs: { train: Model; eval: Model; infer: Model }, opts: { threshold?: number; dataFile?: string } = {}): ArtifactPaths {
  const paths: ArtifactPaths = { train: join(dir, 'train.onnx'), eval: join(dir, 'eval.onnx'), infer: join(dir, 'infer.onnx'), data: join(dir, opts.dataFile ?? 'weights.data') };
  const external = new ExternalDataFile(paths.data);
  const threshold = opts.threshold ?? DEFAULT_EXTERNAL_THRESHOLD;
  try {
    const encoded = (['train', 'eval', 'infer'] as const).map((k) => [k, encodeModel(modelToProto(graphs[k]), { external, threshold })] as const);
    external.commit();
    for (const [k, bytes] of encoded) writeFileAtomic(paths[k], bytes);
  } catch (e) {
    external.abort();
    throw e;
  }
  return paths;
}
