/**
 * ONNX's backend test corpus (Debian package libonnx-testdata): models with inputs and
 * expected outputs. Tests that use it skip when the package is not installed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary, TensorProtoSchema, type TensorProto } from '../../compiler/onnx/index.ts';

export const CORPUS_ROOT = '/usr/share/libonnx-testdata/data';
export const corpusAvailable = existsSync(CORPUS_ROOT);

export interface CorpusCase {
  /** e.g. 'node/test_abs' */
  id: string;
  dir: string;
  modelPath: string;
}

export function corpusCases(categories = ['node', 'pytorch-converted', 'pytorch-operator', 'simple']): CorpusCase[] {
  if (!corpusAvailable) return [];
  const out: CorpusCase[] = [];
  for (const cat of categories) {
    const root = join(CORPUS_ROOT, cat);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const modelPath = join(root, name, 'model.onnx');
      if (existsSync(modelPath)) out.push({ id: `${cat}/${name}`, dir: join(root, name), modelPath });
    }
  }
  return out;
}

/** The tensors of test_data_set_0: inputs and expected outputs, in file order. */
export function corpusDataSet(c: CorpusCase, set = 0): { inputs: TensorProto[]; outputs: TensorProto[] } | undefined {
  const dir = join(c.dir, `test_data_set_${set}`);
  if (!existsSync(dir)) return undefined;
  const read = (prefix: string) =>
    readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
      .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
      .map((f) => fromBinary(TensorProtoSchema, readFileSync(join(dir, f))));
  return { inputs: read('input_'), outputs: read('output_') };
}
