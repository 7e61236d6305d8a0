/**
 * Element types of every value of a graph, by a small forward pass over the nodes. The
 * Emitter needs a value's dtype to emit typed constants; full shape inference
 * (compiler/shapes) is optional for it, this is not, so it lives beside the Emitter and covers
 * the ops whose output type is not simply their first input's.
 */
import { attrInt, attrTensor, getAttr } from './attributes.ts';
import type { Graph, Node } from './graph.ts';
import { topologicalOrder } from '../passes/toposort.ts';
import { DataType } from '../onnx/dtype.ts';
import type { ValueType } from '../shapes/types.ts';

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const FLOAT_DEFAULT = new Set(['RandomNormal', 'RandomUniform']);

function tensorTypeOf(v: { type?: { value: { case?: string; value?: unknown } } }): number | undefined {
  const t = v.type?.value;
  if (t?.case !== 'tensorType') return undefined;
  const elem = (t.value as { elemType: number }).elemType;
  return elem || undefined;
}

export function inferDtypes(graph: Graph, known?: ReadonlyMap<string, ValueType>): Map<string, number> {
  const dt = new Map<string, number>();
  if (known) for (const [k, v] of known) if (v.dtype) dt.set(k, v.dtype);
  for (const v of [...graph.inputs, ...graph.valueInfo.values(), ...graph.outputs]) {
    const t = tensorTypeOf(v);
    if (t && !dt.has(v.name)) dt.set(v.name, t);
  }
  for (const [name, t] of graph.initializers) dt.set(name, t.dataType);
  for (const node of topologicalOrder(graph.nodes)) {
    const outs = outputDtypes(node, (v) => dt.get(v));
    node.outputs.forEach((o, i) => {
      const t = outs[i];
      if (o && t && !dt.has(o)) dt.set(o, t);
    });
  }
  return dt;
}

function outputDtypes(node: Node, dtype: (v: string) => number | undefined): (number | undefined)[] {
  const input = (i: number) => (node.inputs[i] ? dtype(node.inputs[i]!) : undefined);
  const all = (t: number | undefined) => node.outputs.map(() => t);
  const op = node.opType;
  if (node.domain !== '' && node.domain !== 'ai.onnx' && node.domain !== 'com.microsoft') return all(undefined);
  if (INT64_OUT.has(op)) return all(DataType.INT64);
  if (BOOL_OUT.has(op)) return all(DataType.BOOL);
  switch (op) {
    case 'Cast': return all(attrInt(node, 'to'));
    case 'CastLike': return all(input(1));
    case 'Constant': {
      const t = attrTensor(node, 'value');
      if (t) return all(t.dataType);
      if (getAttr(node, 'value_float') || getAttr(node, 'value_floats')) return all(DataType.FLOAT);
      if (getAttr(node, 'value_int') || getAttr(node, 'value_ints')) return all(DataType.INT64);
      return all(undefined);
    }
    case 'ConstantOfShape': return all(attrTensor(node, 'value')?.dataType ?? DataType.FLOAT);
    case 'Where': return all(input(1));
    case 'OneHot': return all(input(2));
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike': return all(attrInt(node, 'dtype') ?? input(0));
    case 'Dropout': return [input(0), DataType.BOOL];
    case 'TopK': return [input(0), DataType.INT64];
    case 'MaxPool': return [input(0), DataType.INT64];
    case 'LayerNormalization': return [input(0), attrInt(node, 'stash_type', 1) === 1 ? DataType.FLOAT : input(0), attrInt(node, 'stash_type', 1) === 1 ? DataType.FLOAT : input(0)];
    case 'Unique': return [input(0), DataType.INT64, DataType.INT64, DataType.INT64];
    case 'DequantizeLinear': return all(input(1));
    case 'QuantizeLinear': return all(input(2) ?? DataType.UINT8);
  }
  if (FLOAT_DEFAULT.has(op)) return all(attrInt(node, 'dtype') ?? DataType.FLOAT);
  for (let i = 0; i < node.inputs.length; i++) {
    const t = input(i);
    if (t) return all(t);
  }
  return all(undefined);
}
