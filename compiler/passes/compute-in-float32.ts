/**
 * A base model stored in float16 or bfloat16 (a `model.half()` export, as many published ONNX
 * files are) rewritten to compute in float32, so fp32 adapters train on it with ORT's CPU
 * kernels, which mostly lack half-precision ones:
 * - a large half weight stays half on disk and in the artifacts (its data file is linked as
 *   is) behind a Cast to float; the Cast's input is a constant, so ORT folds it once when it
 *   opens the session: the float32 copy is made at load, not per step;
 * - a small half weight (below `keepHalfAbove` bytes: norm scales, biases, a task head) and
 *   half Constant / ConstantOfShape values become float32 tensors, so they can be trained;
 * - Casts to half and `dtype` attributes asking for half ask for float instead, and half graph
 *   inputs, outputs and value types become float.
 * The frozen weights' values are the stored half values exactly; the model then computes in
 * float32 what its half-precision forward approximates.
 */
import type { Model, Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { halfArrayToFloat } from '../onnx/half.ts';
import { makeTensor, tensorArray, tensorByteLength } from '../onnx/tensor.ts';
import { AttributeProtoSchema, AttributeType, create, type TensorProto, type ValueInfoProto } from '../onnx/proto.ts';

export interface HalfRewrite {
  /** Half weights left half behind a Cast (ORT makes their float32 copy at load). */
  kept: number;
  keptBytes: number;
  /** Half tensors (small weights, constants) converted to float32 here. */
  converted: number;
  /** The half type seen ('float16', 'bfloat16'), or undefined when the model had none. */
  type?: 'float16' | 'bfloat16';
}

const isHalf = (dtype: number) => dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16;

function toFloat(t: TensorProto, name = t.name): TensorProto {
  const values = halfArrayToFloat(tensorArray(t) as Uint16Array, t.dataType === DataType.BFLOAT16);
  return makeTensor(name, DataType.FLOAT, t.dims.map(Number), values);
}

export function computeInFloat32(model: Model, keepHalfAbove: number): HalfRewrite {
  const g = model.graph;
  const out: HalfRewrite = { kept: 0, keptBytes: 0, converted: 0 };
  const saw = (dtype: number) => (out.type ??= dtype === DataType.BFLOAT16 ? 'bfloat16' : 'float16');
  const casts: Node[] = [];
  for (const [name, t] of [...g.initializers]) {
    if (!isHalf(t.dataType)) continue;
    saw(t.dataType);
    if (tensorByteLength(t) > keepHalfAbove) {
      // Renamed in place: a deferred tensor's bytes stay tied to this TensorProto object.
      let stored = `${name}.stored_half`;
      for (let i = 2; g.initializers.has(stored); i++) stored = `${name}.stored_half${i}`;
      g.initializers.delete(name);
      t.name = stored;
      g.initializers.set(stored, t);
      casts.push({ name: `upcast/${name}`, opType: 'Cast', domain: '', inputs: [stored], outputs: [name], attributes: [intAttr('to', DataType.FLOAT)] });
      out.kept++;
      out.keptBytes += tensorByteLength(t);
    } else {
      g.initializers.set(name, toFloat(t));
      out.converted++;
    }
  }
  for (const n of g.nodes) {
    for (const a of n.attributes) {
      if (a.t && isHalf(a.t.dataType) && (n.opType === 'Constant' || n.opType === 'ConstantOfShape')) {
        saw(a.t.dataType);
        a.t = toFloat(a.t);
        out.converted++;
      }
      if ((a.name === 'to' && n.opType === 'Cast') || a.name === 'dtype') {
        if (isHalf(Number(a.i))) {
          saw(Number(a.i));
          a.i = BigInt(DataType.FLOAT);
        }
      }
    }
  }
  const retype = (v: ValueInfoProto) => {
    const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
    if (tt && isHalf(tt.elemType)) {
      saw(tt.elemType);
      tt.elemType = DataType.FLOAT;
    }
  };
  g.inputs.forEach(retype);
  g.outputs.forEach(retype);
  g.valueInfo.forEach(retype);
  g.nodes.unshift(...casts);
  return out;
}

function intAttr(name: string, value: number) {
  return create(AttributeProtoSchema, { name, type: AttributeType.INT, i: BigInt(value) });
}
