/**
 * Raw text as examples: rows of text (and the pair's second text, and a label) are tokenized
 * when the file is opened, cut to the model's length limit, and held as token ids in memory
 * (4 bytes a token). Each row becomes the model's token inputs (input_ids, attention_mask,
 * token_type_ids, position_ids: whichever the graph has) and the label, then goes through the
 * same row check as token-id JSONL, so every later stage sees one kind of example.
 *
 * Bad rows follow the dataset policy: an error at open time listing file:line for each (the
 * first 20), or left out and reported under skipInvalid.
 */
import { UserError } from '../../contract/errors.ts';
import type { Manifest } from '../../contract/manifest.ts';
import type { HfTokenizer } from '../tokenizer/hf.ts';
import { acceptBadRows, BadRows } from './bad-rows.ts';
import { LabelMap } from './labels.ts';
import { checkExample, type CheckedExample, type DataSchema, type InputSpec } from './schema.ts';
import { readTextRows, type TextFields, type TextRow } from './text-rows.ts';

/** The data keys that come from the tokenizer rather than from a field of the row. */
export const TOKEN_KEYS: ReadonlySet<string> = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

/** How raw text becomes model inputs. `labels` is filled in (and `labelsChanged` set) when a first labelled file fixes the map. */
export interface TextInput {
  tokenizer: HfTokenizer;
  fields: Omit<TextFields, 'label'> & { label?: string };
  /** Longest token sequence (special tokens included); the model's fixed sequence dim and the tokenizer file's truncation also apply. */
  maxLength?: number;
  labels?: LabelMap;
  labelsChanged?: boolean;
}

const ENCODE_CHUNK = 512;

export class TextDataset {
  readonly refs: { line: number }[] = [];
  readonly lengths: number[] = [];
  skipped = new BadRows();
  private readonly examples: CheckedExample[] = [];

  private constructor(readonly path: string, readonly schema: DataSchema) {}

  static async open(path: string, schema: DataSchema, input: TextInput, opts: { skipInvalid?: boolean; task: Manifest['task']; classes?: number }): Promise<TextDataset> {
    const ds = new TextDataset(path, schema);
    const labelSpec = schema.inputs.find((s) => !TOKEN_KEYS.has(s.key));
    for (const spec of schema.inputs) {
      if (!TOKEN_KEYS.has(spec.key) && spec !== labelSpec) {
        throw new UserError(`the model input '${spec.name}' cannot be fed from text: text rows give ${[...TOKEN_KEYS].join(', ')} and the label '${labelSpec?.key}'`, 'give token-id JSONL rows with every model input instead');
      }
    }
    const maxLength = lengthLimit(schema, input);
    const byKey = new Map<string, InputSpec>();
    for (const spec of schema.inputs.filter((s) => TOKEN_KEYS.has(s.key))) {
      const other = byKey.get(spec.key);
      if (other && other.pad !== spec.pad && (typeof spec.dims[0] === 'number' || typeof other.dims[0] === 'number')) {
        throw new UserError(`the inputs '${other.name}' and '${spec.name}' both read '${spec.key}' with a fixed sequence length but pad it differently (${other.pad}, ${spec.pad}): text rows cannot be padded for both`, 'export the model with a symbolic sequence dim, or give token-id JSONL rows');
      }
      byKey.set(spec.key, spec);
    }
    const fields: TextFields = { ...input.fields, label: labelSpec ? (input.fields.label ?? labelSpec.key) : undefined };
    const { rows, problems } = readTextRows(path, fields, labelSpec !== undefined);
    const bad = new BadRows();
    for (const p of problems) bad.add(p.line, p.message);
    const labelOf = labelSpec ? labelReader(path, rows, input, opts.task, opts.classes) : undefined;

    for (let start = 0; start < rows.length; start += ENCODE_CHUNK) {
      const chunk = rows.slice(start, start + ENCODE_CHUNK);
      const encoded = await input.tokenizer.encode(chunk.map((r) => r.text), input.fields.pair !== undefined ? chunk.map((r) => r.pair!) : undefined, maxLength);
      chunk.forEach((row, k) => {
        const { ids, typeIds } = encoded[k]!;
        if (ids.length === 0) {
          bad.add(row.line, 'the text tokenizes to no tokens');
          return;
        }
        const values: Record<string, unknown> = {};
        for (const spec of schema.inputs) {
          if (spec === labelSpec) {
            const label = labelOf!(row);
            if (typeof label === 'string') {
              bad.add(row.line, label);
              return;
            }
            values[spec.key] = label;
          } else {
            values[spec.key] = tokenValues(spec, ids, typeIds);
          }
        }
        const checked = checkExample(values, schema);
        if (typeof checked === 'string') {
          bad.add(row.line, checked);
          return;
        }
        ds.refs.push({ line: row.line });
        ds.lengths.push(checked.length);
        ds.examples.push(checked);
      });
    }
    ds.skipped = acceptBadRows(path, bad, opts.skipInvalid, ds.examples.length);
    return ds;
  }

  get size(): number {
    return this.examples.length;
  }

  example(i: number): CheckedExample {
    const ex = this.examples[i];
    if (!ex) throw new RangeError(`example ${i} out of range (dataset has ${this.examples.length})`);
    return ex;
  }

  where(i: number): string {
    return `${this.path}:${this.refs[i]?.line ?? '?'}`;
  }

  close(): void {}
}

/**
 * The longest token sequence: the smallest of --max-length, the model's fixed sequence dim and
 * the tokenizer file's truncation. A model with a symbolic sequence dim and no limit given is
 * refused: its position table has a size lor2c cannot read off the graph, and a longer row
 * would fail (or worse, read past it) mid-run.
 */
function lengthLimit(schema: DataSchema, input: TextInput): number {
  const fixed = schema.inputs.filter((s) => TOKEN_KEYS.has(s.key) && typeof s.dims[0] === 'number').map((s) => s.dims[0] as number);
  const limits = [input.maxLength, ...fixed, input.tokenizer.fileMaxLength].filter((n): n is number => n !== undefined);
  if (limits.length === 0) {
    const seq = schema.inputs.find((s) => TOKEN_KEYS.has(s.key))?.dims[0];
    throw new UserError(`no maximum sequence length is known: the model's sequence dim '${String(seq)}' is symbolic and ${input.tokenizer.path} sets no truncation`, 'pass --max-length N (at most the model\'s position limit, e.g. max_position_embeddings)');
  }
  return Math.min(...limits);
}

/** A token input's per-example values, padded to a fixed sequence dim (mask 0 there). */
export function tokenValues(spec: InputSpec, ids: number[], typeIds: number[]): number[] {
  const n = ids.length;
  const values = spec.key === 'input_ids' ? ids : spec.key === 'token_type_ids' ? typeIds : spec.key === 'attention_mask' ? ids.map(() => 1) : ids.map((_, i) => i);
  const fixed = spec.dims[0];
  if (typeof fixed !== 'number' || fixed === n) return values;
  // n < fixed: the length limit is at most the fixed dim.
  return [...values, ...new Array<number>(fixed - n).fill(spec.key === 'attention_mask' ? 0 : spec.key === 'position_ids' ? 0 : spec.pad)];
}

/**
 * Turns a row's label into what the label input takes: a class id (a JSON integer as is, a
 * name through the label map, fixed here from this file's labels when there is none yet), or a
 * number for regression. Returns a message for a bad label.
 */
function labelReader(path: string, rows: readonly TextRow[], input: TextInput, task: Manifest['task'], classes: number | undefined): (row: TextRow) => number | string {
  if (task.kind === 'regress') {
    return (row) => {
      const v = typeof row.label === 'number' ? row.label : Number(row.label);
      return Number.isFinite(v) && String(row.label).trim() !== '' ? v : `the label must be a number for regression, got ${JSON.stringify(row.label)}`;
    };
  }
  const names = rows.filter((r) => typeof r.label === 'string').map((r) => r.label as string);
  if (names.length > 0 && !input.labels) {
    input.labels = LabelMap.fromLabels(names);
    input.labelsChanged = true;
  } else if (names.length > 0 && input.labels && input.labelsChanged) {
    // A map fixed by an earlier file of this same command (training data before evaluation
    // data) and not kept yet grows by this file's new names, after the others: ids stay put.
    const added = LabelMap.fromLabels(names.filter((n) => input.labels!.id(n) === undefined)).names;
    if (added.length > 0) input.labels = new LabelMap([...input.labels.names, ...added]);
  }
  const labels = input.labels;
  if (labels && classes !== undefined && labels.size > classes) {
    throw new UserError(`${path}: ${labels.size} labels (${labels.names.join(', ')}) but the model's logits have ${classes} classes`, 'give a model whose classifier has one output per label, or map the labels in the data');
  }
  return (row) => {
    if (typeof row.label === 'number') {
      if (!Number.isInteger(row.label) || row.label < 0 || (classes !== undefined && row.label >= classes)) return `the label ${row.label} is not a class id${classes !== undefined ? ` (0..${classes - 1})` : ''}`;
      if (labels && row.label >= labels.size) return `the label ${row.label} is past the ${labels.size} named labels (${labels.names.join(', ')})`;
      return row.label;
    }
    const id = labels!.id(row.label!);
    return id ?? `unknown label ${JSON.stringify(row.label)}: the labels are ${labels!.names.map((n) => JSON.stringify(n)).join(', ')} (fixed by the first labelled file and kept with the artifacts)`;
  };
}
