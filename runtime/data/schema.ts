/**
 * What a data row must contain for a graph: one key per 'batch' input of the graph (model
 * inputs and the label), with the dtype, the per-example dims (the graph shape without its
 * leading batch dim) and the value used to pad it. Rows are checked against it with errors
 * that say which key, which position and what was expected.
 */
import type { Dim, GraphInfo, InputBounds, Manifest } from '../../contract/manifest.ts';
import { previewValue } from '../preview.ts';

/** Element types a data file can feed. */
export type DataDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

export interface InputSpec {
  /** The graph input fed. */
  name: string;
  /** The data key it reads (usually its name; LM labels may read the model's input_ids). */
  key: string;
  dtype: DataDtype;
  /** Per-example dims: numbers are fixed, strings are symbolic (padded to the longest in the batch). */
  dims: Dim[];
  /** Fill value for padding. */
  pad: number;
  /** The graph's batch dim: a symbol (any batch size) or a fixed number. */
  batchDim: Dim;
  /** Values and lengths the model accepts (token ids within its vocabulary, labels within its classes). */
  bounds?: InputBounds;
}

export interface DataSchema {
  inputs: InputSpec[];
}

/** Default `ignore_index` of cross-entropy (PyTorch's), used to pad LM labels. */
export const DEFAULT_IGNORE_INDEX = -100;

const DATA_DTYPES: readonly string[] = ['float32', 'float64', 'int64', 'int32', 'bool'];

/**
 * The schema of a graph's 'batch' inputs. Padding: 0 for every model input (ids, attention
 * mask, token types), the task's ignore index for LM labels (so padded positions add no loss);
 * `padOverrides` sets any other value by input name.
 */
export function dataSchema(graph: GraphInfo, task: Manifest['task'], padOverrides: Record<string, number> = {}): DataSchema {
  const inputs: InputSpec[] = [];
  const flagged = graph.inputs.some((io) => io.label);
  for (const io of graph.inputs) {
    if (io.role !== 'batch') continue;
    if (!DATA_DTYPES.includes(io.dtype)) throw new Error(`graph input '${io.name}' has dtype ${io.dtype}, which data files cannot feed`);
    if (io.shape.length === 0) throw new Error(`graph input '${io.name}' is a scalar; a batch input needs a leading batch dim`);
    let pad = 0;
    // Artifacts from before the `label` flag mark the labels only by name.
    const isLabel = flagged ? io.label === true : io.name === task.labelKey;
    if (isLabel && task.kind === 'lm') pad = task.ignoreIndex ?? DEFAULT_IGNORE_INDEX;
    if (Object.hasOwn(padOverrides, io.name)) pad = padOverrides[io.name]!;
    inputs.push({ name: io.name, key: io.key ?? io.name, dtype: io.dtype as DataDtype, dims: io.shape.slice(1), pad, batchDim: io.shape[0]!, ...(io.bounds ? { bounds: io.bounds } : {}) });
  }
  return { inputs };
}

export function isIntegerDtype(dtype: DataDtype): boolean {
  return dtype === 'int64' || dtype === 'int32' || dtype === 'bool';
}

/** A validated row: its values by input name and the size each symbolic dim took. */
export interface CheckedExample {
  values: Record<string, unknown>;
  /** Symbol -> length in this example (e.g. { seq: 37 }). */
  sizes: Record<string, number>;
  /** The largest symbolic size (0 when there is none): the example's length for bucketing and tokens/s. */
  length: number;
}

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * Checks one parsed row against the schema; returns a message (without file:line) for the
 * first problem, or the checked example.
 */
export function checkExample(row: unknown, schema: DataSchema): CheckedExample | string {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return `expected a JSON object, got ${previewValue(row)}`;
  const obj = row as Record<string, unknown>;
  const sizes: Record<string, number> = {};
  const sizeSource: Record<string, string> = {};
  for (const spec of schema.inputs) {
    if (!Object.hasOwn(obj, spec.key)) {
      const keys = Object.keys(obj);
      return `missing key '${spec.key}' (the row has ${keys.length ? keys.map((k) => `'${k}'`).join(', ') : 'no keys'}; needed: ${[...new Set(schema.inputs.map((s) => `'${s.key}'`))].join(', ')})`;
    }
    const problem = checkValue(obj[spec.key], spec, 0, spec.key, sizes, sizeSource);
    if (problem) return problem;
  }
  const length = Object.values(sizes).reduce((a, b) => Math.max(a, b), 0);
  return { values: obj, sizes, length };
}

function checkValue(v: unknown, spec: InputSpec, depth: number, where: string, sizes: Record<string, number>, sizeSource: Record<string, string>): string | undefined {
  if (depth === spec.dims.length) {
    if (spec.dtype === 'bool' && typeof v === 'boolean') return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const rankNote = Array.isArray(v) ? ` (the input has rank ${spec.dims.length} per example: [${spec.dims.join(', ')}])` : '';
      return `'${where}' must be a finite number, got ${previewValue(v)}${rankNote}`;
    }
    if (isIntegerDtype(spec.dtype)) {
      if (!Number.isInteger(v)) return `'${where}' must be an integer (${spec.dtype}), got ${v}`;
      if (spec.dtype === 'bool' && v !== 0 && v !== 1) return `'${where}' must be 0 or 1 (bool), got ${v}`;
      if (spec.dtype === 'int32' && (v < INT32_MIN || v > INT32_MAX)) return `'${where}' is out of int32 range: ${v}`;
      if (spec.dtype === 'int64' && !Number.isSafeInteger(v)) return `'${where}' is beyond the exactly representable integers: ${v}`;
    }
    const range = spec.bounds?.values;
    if (range && (v as number) !== range.ignore && ((v as number) < range.min || (v as number) > range.max)) {
      const ignore = range.ignore !== undefined ? ` (or ${range.ignore}, the ignore index)` : '';
      return `'${where}' is ${v}, outside [${range.min}, ${range.max}]${ignore}: ${range.why}`;
    }
    return undefined;
  }
  if (!Array.isArray(v)) {
    return `'${where}' must be an array (the input has rank ${spec.dims.length} per example: [${spec.dims.join(', ')}]), got ${previewValue(v)}`;
  }
  const dim = spec.dims[depth]!;
  const limit = spec.bounds?.lengths?.find((l) => l.axis === depth + 1);
  if (limit && v.length > limit.max) return `'${where}' has length ${v.length}, longer than the model takes (${limit.max}): ${limit.why}`;
  if (typeof dim === 'number') {
    if (v.length !== dim) return `'${where}' has length ${v.length}, expected ${dim}`;
  } else {
    const known = sizes[dim];
    if (known === undefined) {
      sizes[dim] = v.length;
      sizeSource[dim] = where;
    } else if (known !== v.length) {
      return `'${where}' has length ${v.length}, but '${sizeSource[dim]}' has length ${known} for the same dim '${dim}'`;
    }
  }
  for (let i = 0; i < v.length; i++) {
    const problem = checkValue(v[i], spec, depth + 1, `${where}[${i}]`, sizes, sizeSource);
    if (problem) return problem;
  }
  return undefined;
}
