/** A dataset read from a JSONL file (Node). */
import { Dataset, type DatasetOptions } from './dataset.ts';
import { FileLines } from './jsonl.ts';
import type { DataSchema } from './schema.ts';

export function openDataset(path: string, schema: DataSchema, opts: DatasetOptions = {}): Dataset {
  return Dataset.read(new FileLines(path), schema, opts);
}
