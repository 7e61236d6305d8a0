/**
 * What the trainer, evaluation and inference read examples from: a token-id JSONL dataset
 * (Dataset, streamed from a line source) or raw text tokenized on opening (TextDataset). No
 * Node modules here: a browser host implements the same contract.
 */
import type { Manifest } from '../../contract/manifest.ts';
import type { BadRows } from './bad-rows.ts';
import type { CheckedExample, DataSchema } from './schema.ts';
import type { TextInput } from './text-dataset.ts';

export interface Examples {
  readonly path: string;
  readonly schema: DataSchema;
  /** Where each usable example starts in the file (1-based lines). */
  readonly refs: readonly { readonly line: number }[];
  /** Per-example length (largest symbolic dim), for bucketing and tokens per second. */
  readonly lengths: readonly number[];
  /** Rows left out under skipInvalid (all counted, the first few with their messages). */
  readonly skipped: BadRows;
  readonly size: number;
  example(i: number): CheckedExample;
  where(i: number): string;
  close(): void;
}

export interface OpenExamplesOptions {
  skipInvalid?: boolean;
  /** How raw text becomes model inputs (tokenizer, fields, label map); needed for text files. */
  text?: TextInput;
  task: Manifest['task'];
  /** Classes of a classifier's logits, when the graph fixes them (checked against the labels). */
  classes?: number;
}

/** A classifier's class count: the last dim of its logits output in the infer graph, when fixed. */
export function classCount(manifest: Manifest): number | undefined {
  if (manifest.task.kind !== 'classify') return undefined;
  const out = manifest.graphs.infer.outputs.find((o) => o.name === manifest.task.logits) ?? manifest.graphs.eval.outputs.find((o) => o.name === manifest.task.logits);
  const last = out?.shape[out.shape.length - 1];
  return typeof last === 'number' ? last : undefined;
}
