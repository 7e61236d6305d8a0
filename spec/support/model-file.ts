/** A test graph written as an ONNX file in a fresh temp folder (its large weights as external data beside it). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelToProto, type Model } from '../../compiler/graph/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';

export function writeModelFile(m: Model, prefix: string): { path: string; dir: string } {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'model.onnx');
  writeModel(proto, path);
  return { path, dir };
}
