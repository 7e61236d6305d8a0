/**
 * What `model.half()` followed by torch.onnx.export gives, made from a float32 export: float16
 * weights and constants, float16 casts and outputs, float32's lowest (the attention masks'
 * fill) written as float16's, -65504. (Torch 1.13 cannot trace a half model on CPU.)
 */
import { DataType, floatToHalf, halfToFloat, makeTensor, tensorArray, type ModelProto, type TensorProto } from '../../compiler/onnx/index.ts';

const toHalf = (x: number) => floatToHalf(Math.max(-65504, Math.min(65504, x)));

/** Every float32 tensor of the model (initializers, Constant / ConstantOfShape values) through `f`. */
function mapFloatTensors(m: ModelProto, f: (t: TensorProto) => TensorProto): void {
  const g = m.graph!;
  g.initializer = g.initializer.map((t) => (t.dataType === DataType.FLOAT ? f(t) : t));
  for (const n of g.node) for (const a of n.attribute) if (a.t && a.t.dataType === DataType.FLOAT) a.t = f(a.t);
}

/** Rewrites `m` in place into its half export. */
export function toHalfExport(m: ModelProto): ModelProto {
  mapFloatTensors(m, (t) => makeTensor(t.name, DataType.FLOAT16, t.dims.map(Number), Uint16Array.from(tensorArray(t) as Float32Array, toHalf)));
  for (const n of m.graph!.node) for (const a of n.attribute) if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT) a.i = BigInt(DataType.FLOAT16);
  for (const v of [...m.graph!.output, ...m.graph!.valueInfo]) if (v.type?.value.case === 'tensorType' && v.type.value.value.elemType === DataType.FLOAT) v.type.value.value.elemType = DataType.FLOAT16;
  return m;
}

/** Rewrites `m` in place to hold, in float32, the values its half export holds. */
export function roundToHalf(m: ModelProto): ModelProto {
  mapFloatTensors(m, (t) => makeTensor(t.name, DataType.FLOAT, t.dims.map(Number), Float32Array.from(tensorArray(t) as Float32Array, (x) => halfToFloat(toHalf(x)))));
  return m;
}
