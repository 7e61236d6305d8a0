/**
 * What values and lengths a model's data inputs accept, read from the model itself, so the
 * runtime can check every data row before the first step instead of training on a silently
 * wrapped index (ONNX Gather reads index -5 as vocab-5) or dying mid-run inside onnxruntime:
 *
 * - token ids: an input that indexes a weight table (Gather of an initializer [V, ...] by the
 *   input, through Cast / Reshape / Unsqueeze / Squeeze / Flatten / Identity) takes ids in [0, V);
 * - lengths: a table indexed by something computed from an input's shape (positions made by
 *   Range over the sequence length, or a slice of a stored position_ids buffer) bounds that
 *   input's dim by the table's rows; so does a stored table sliced to a length computed from
 *   the input's shape (a causal-mask buffer or a rotary cos / sin cache cut to [:seq]), by the
 *   size of the sliced axes. Tables are initializers or Constant nodes (caches folded by the
 *   exporter);
 * - labels: a classifier's labels are in [0, C) for C classes (the logits' last dim); a
 *   language model's labels are token ids in [0, V) or the loss's ignore index.
 */
import type { Graph, Node } from '../graph/graph.ts';
import type { ValueInfoProto } from '../onnx/proto.ts';
import { attrInt } from '../graph/attributes.ts';
import { constantNumbers, type ConstantScope } from '../graph/constants.ts';
import { describeType } from '../inspect.ts';
import type { InputBounds, Manifest } from '../../contract/manifest.ts';

/** Ops that carry an index tensor's values through unchanged (only their first input is the data). */
const VALUE_PRESERVING = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Expand']);
/** Ops whose inputs after the first only give the result's shape (or axes), not its values. */
const SHAPE_OPERANDS = new Set(['Expand', 'Reshape', 'Tile', 'Unsqueeze', 'Squeeze', 'Pad', 'Resize']);
/** Ancestors visited when looking for the shapes an index depends on (graphs are small near their inputs). */
const MAX_WALK = 200;

export function inputBounds(graph: Graph, task: Manifest['task'], batchInputs: readonly ValueInfoProto[], labelInput: string | undefined): Map<string, InputBounds> {
  const producers = graph.producers();
  const batch = new Map(batchInputs.map((v) => [v.name, describeType(v.type).shape ?? []]));
  const out = new Map<string, InputBounds>();
  const constants: ConstantScope = { graph, producer: (v) => producers.get(v) };
  /** A one-element constant, as a number (graph/constants.ts reads it). */
  const constantOf = (name: string | undefined): number | undefined => {
    const values = constantNumbers(constants, name);
    return values?.length === 1 ? values[0] : undefined;
  };
  const entry = (name: string) => out.get(name) ?? (out.set(name, {}), out.get(name)!);
  /** A stored tensor: an initializer or a Constant node's value. */
  const storedOf = (name: string | undefined) => {
    if (!name) return undefined;
    const p = producers.get(name);
    return graph.initializers.get(name) ?? (p?.opType === 'Constant' ? p.attributes.find((a) => a.name === 'value')?.t : undefined);
  };
  const boundLength = (input: string, axis: number, max: number, why: string) => {
    const lengths = (entry(input).lengths ??= []);
    const known = lengths.find((l) => l.axis === axis);
    if (!known) lengths.push({ axis, max, why });
    else if (max < known.max) Object.assign(known, { max, why });
  };

  for (const node of graph.nodes) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    if (node.opType === 'Slice') {
      const table = storedOf(node.inputs[0]);
      if (!table || !node.inputs[2]) continue;
      const dims = table.dims.map(Number);
      const axes = (node.inputs[3] ? constantNumbers(constants, node.inputs[3]) : dims.map((_, i) => i))?.map((a) => (a < 0 ? a + dims.length : a));
      const sizes = axes?.map((a) => dims[a]).filter((d): d is number => d !== undefined && d > 1);
      if (!sizes || sizes.length === 0) continue;
      const max = Math.min(...sizes);
      const name = table.name || node.inputs[0]!;
      for (const { input, axis } of shapeSources(node.inputs[2], producers, batch, constantOf)) boundLength(input, axis, max, `the table '${name}' ${JSON.stringify(dims)} is sliced to the length along it`);
      continue;
    }
    if (node.opType !== 'Gather') continue;
    const table = storedOf(node.inputs[0]);
    if (!table || table.dims.length < 2 || attrInt(node, 'axis', 0) !== 0) continue;
    const rows = Number(table.dims[0]);
    const direct = directSource(node.inputs[1]!, producers, batch);
    if (direct !== undefined) {
      const e = entry(direct);
      const why = `the table '${table.name || node.inputs[0]}' it indexes has ${rows} rows`;
      if (!e.values || rows - 1 < e.values.max) e.values = { min: 0, max: rows - 1, why };
      continue;
    }
    for (const { input, axis } of shapeSources(node.inputs[1]!, producers, batch, constantOf)) {
      boundLength(input, axis, rows, `the table '${table.name || node.inputs[0]}' indexed by positions along it has ${rows} rows`);
    }
  }

  if (labelInput && batch.has(labelInput) && task.kind !== 'regress') {
    const logits = graph.outputs.find((o) => o.name === task.logits);
    const width = logits ? describeType(logits.type).shape?.at(-1) : undefined;
    if (typeof width === 'number' && width > 0) {
      const e = entry(labelInput);
      if (task.kind === 'classify') e.values = { min: 0, max: width - 1, why: `the logits '${task.logits}' have ${width} classes` };
      else e.values = { min: 0, max: Math.min(width - 1, e.values?.max ?? Infinity), ignore: task.ignoreIndex ?? -100, why: `the logits '${task.logits}' cover ${width} tokens` };
    }
  }
  return out;
}

/** The data input whose values `value` is, through value-preserving ops; undefined when computed. */
function directSource(value: string, producers: Map<string, Node>, batch: Map<string, unknown>): string | undefined {
  for (let v = value, hops = 0; hops < MAX_WALK; hops++) {
    if (batch.has(v)) return v;
    const p = producers.get(v);
    if (!p || !VALUE_PRESERVING.has(p.opType) || p.inputs[0] === undefined) return undefined;
    v = p.inputs[0];
  }
  return undefined;
}

/**
 * The (data input, axis) pairs whose sizes `value` is computed from: Shape nodes over a data
 * input among its ancestors, with the axis taken from the Shape's start or a constant Gather /
 * Slice of it, or, where that is not visible, the input's only symbolic per-example dim.
 */
function shapeSources(value: string, producers: Map<string, Node>, batch: Map<string, (number | string | null)[]>, constantOf: (name: string | undefined) => number | undefined): { input: string; axis: number }[] {
  const found: { input: string; axis: number }[] = [];
  const seen = new Set<string>();
  const queue = [value];
  const consumersOfShape = new Map<string, Node>();
  while (queue.length > 0 && seen.size < MAX_WALK) {
    const v = queue.shift()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = producers.get(v);
    if (!p) continue;
    if (p.opType === 'Shape') {
      const input = directSource(p.inputs[0]!, producers, batch);
      if (input !== undefined) {
        const dims = batch.get(input)!;
        const axis = shapeAxis(p, consumersOfShape.get(v), constantOf, dims.length) ?? onlySymbolicAxis(dims);
        if (axis !== undefined && axis > 0 && typeof dims[axis] !== 'number' && !found.some((f) => f.input === input && f.axis === axis)) found.push({ input, axis });
      }
      continue;
    }
    // Only inputs that decide the index VALUES: a shape operand (zeros of some shape, an
    // expand or reshape to it) decides how many there are, not which rows they read.
    const valueInputs = p.opType === 'ConstantOfShape' ? [] : SHAPE_OPERANDS.has(p.opType) ? p.inputs.slice(0, 1) : p.inputs;
    for (const i of valueInputs) {
      if (!i) continue;
      if (producers.get(i)?.opType === 'Shape') consumersOfShape.set(i, p);
      queue.push(i);
    }
  }
  return found;
}

/** The one dim a Shape node's value stands for, when it is visible: Shape(start=k, end=k+1) or Gather / Slice of it at a constant. */
function shapeAxis(shape: Node, reader: Node | undefined, constant: (name: string | undefined) => number | undefined, rank: number): number | undefined {
  const start = attrInt(shape, 'start');
  const norm = (k: number) => (k < 0 ? k + rank : k);
  if (start !== undefined) {
    const end = attrInt(shape, 'end');
    if (end !== undefined && norm(end) === norm(start) + 1) return norm(start);
    return undefined;
  }
  if (!reader) return undefined;
  if (reader.opType === 'Gather') {
    const k = constant(reader.inputs[1]);
    return k === undefined ? undefined : norm(k);
  }
  if (reader.opType === 'Slice') {
    const s = constant(reader.inputs[1]), e = constant(reader.inputs[2]);
    return s !== undefined && e !== undefined && norm(e) === norm(s) + 1 ? norm(s) : undefined;
  }
  return undefined;
}

function onlySymbolicAxis(dims: (number | string | null)[]): number | undefined {
  const symbolic = dims.map((d, i) => (i > 0 && typeof d !== 'number' ? i : -1)).filter((i) => i > 0);
  return symbolic.length === 1 ? symbolic[0] : undefined;
}
