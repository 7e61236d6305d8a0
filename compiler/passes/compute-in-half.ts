/**
 * `precision fp16` / `bf16`: a float32 forward graph rewritten to compute in half precision,
 * as torch.autocast does on CUDA:
 * - activations are half: MatMul, Gemm, Conv, Einsum always read half inputs, and an op reading
 *   a half activation computes in half;
 * - float32 islands: Softmax, LogSoftmax, the normalizations (their statistics), the
 *   reductions, Exp, Log, Pow, Reciprocal, Softplus and CumSum read float32 and write float32
 *   (AMP's float32 list); an op whose activation inputs are all float32 stays float32 (a
 *   LayerNorm's variance + eps, then its sqrt; a mask made from integers; dropout's draws), so
 *   float32 is given up only where a half activation is met;
 * - weights, constants and graph inputs (the trainable tensors, fed in float32: the master
 *   copies) are read through a Cast to the type their consumer computes in, one per value and
 *   type. A Cast of a constant is folded by ORT when it opens the session; a weight the base
 *   stores in half (kept half behind compute-in-float32's `upcast/` Cast) is read as stored,
 *   without any Cast, when its consumer computes in that half type;
 * - graph outputs keep their float32 type (a Cast at the end), so the loss head reads float32
 *   logits and computes the loss and its reductions in float32.
 * Gradients follow the same types through autodiff: the gradient of a float32 trainable
 * tensor read through a Cast to half arrives in float32 (the Cast's gradient casts back).
 */
import type { Graph, Model, Node } from '../graph/graph.ts';
import { hasSubgraphs } from '../graph/graph.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { inferDtypes } from '../graph/dtypes.ts';
import { attrInt } from '../graph/attributes.ts';
import { DataType } from '../onnx/dtype.ts';
import { inferShapes } from '../shapes/infer.ts';

export type HalfType = DataType.FLOAT16 | DataType.BFLOAT16;

/** Ops computed in float32 whatever their inputs (torch.autocast's float32 list, in ONNX terms). */
export const FLOAT32_OPS: ReadonlySet<string> = new Set([
  'Softmax', 'LogSoftmax', 'LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization', 'BatchNormalization',
  'InstanceNormalization', 'GroupNormalization', 'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceProd', 'Exp', 'Log', 'Pow', 'Reciprocal', 'Softplus', 'CumSum',
]);

/** Ops always computed in half: the matrix products, where half precision pays. */
const HALF_OPS: ReadonlySet<string> = new Set(['MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Einsum']);

/** Inputs whose float type the op's schema fixes apart from its data (left as they are). */
const FIXED_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2], Upsample: [1], Dropout: [1] };

const isFloat = (t: number | undefined) => t === DataType.FLOAT || t === DataType.FLOAT16 || t === DataType.BFLOAT16;

export interface HalfCompute {
  /** Nodes computing in half / in float32 (of those reading or writing floats). */
  half: number;
  float32: number;
  /** Weights stored in half read as stored (no Cast). */
  storedHalf: number;
}

export function computeInHalf(model: Model, half: HalfType): HalfCompute {
  const g = model.graph;
  const dtypes = inferDtypes(g, inferShapes(model));
  const b = new GraphBuilder(g, 'amp/');
  const nodes = g.nodes;
  g.nodes = [];
  /** A value's name and type as the rewritten graph holds it; `activation`: made by a node from the data (not a weight, constant or graph input). */
  const rep = new Map<string, { name: string; dtype: number; activation: boolean }>();
  const casts = new Map<string, string>();
  const stats: HalfCompute = { half: 0, float32: 0, storedHalf: 0 };
  const current = (v: string) => rep.get(v) ?? { name: v, dtype: dtypes.get(v) ?? 0, activation: false };
  const as = (v: string, dtype: number): string => {
    const r = current(v);
    if (r.dtype === dtype) return r.name;
    const key = `${r.name}\u0000${dtype}`;
    let c = casts.get(key);
    if (!c) casts.set(key, (c = b.op('Cast', [r.name], { to: dtype }, { outputs: [b.fresh(`${r.name}.${dtype === DataType.FLOAT ? 'f32' : 'half'}`)] })));
    return c;
  };
  // The `upcast/` Casts of compute-in-float32 read weights stored in half: the cast value is that weight.
  const storedHalf = new Map<string, string>();
  for (const n of nodes) {
    if (n.opType === 'Cast' && n.name.startsWith('upcast/') && g.initializers.has(n.inputs[0]!) && isFloat(g.initializers.get(n.inputs[0]!)!.dataType)) storedHalf.set(n.outputs[0]!, n.inputs[0]!);
  }
  for (const n of nodes) {
    const floatIn = n.inputs.map((v, i) => !!v && isFloat(current(v).dtype) && !(FIXED_INPUTS[n.opType] ?? []).includes(i));
    const stored = n.opType === 'Cast' ? storedHalf.get(n.outputs[0]!) : undefined;
    if (stored && g.initializers.get(stored)!.dataType === half) {
      // Not re-emitted: consumers computing in half read the weight as stored.
      rep.set(n.outputs[0]!, { name: stored, dtype: half, activation: false });
      stats.storedHalf++;
      continue;
    }
    if (n.opType === 'Constant' || n.opType === 'ConstantOfShape') {
      g.nodes.push(n);
      continue;
    }
    if (n.opType === 'Cast') {
      const to = attrInt(n, 'to');
      const input = n.inputs[0]!;
      if (to === DataType.FLOAT && floatIn[0]) {
        // A float-to-float32 Cast passes the value on in the type it has.
        rep.set(n.outputs[0]!, current(input));
        continue;
      }
      n.inputs = [current(input).name];
      g.nodes.push(n);
      // From integers or bools: a float32 value made from the data (a mask, dropout's draws).
      if (to !== undefined && isFloat(to)) rep.set(n.outputs[0]!, { name: n.outputs[0]!, dtype: to, activation: true });
      continue;
    }
    const activations = n.inputs.filter((v, i) => floatIn[i] && current(v).activation);
    const inHalf = HALF_OPS.has(n.opType) || (!FLOAT32_OPS.has(n.opType) && !hasSubgraphs(n) && (activations.length === 0 || activations.some((v) => current(v).dtype !== DataType.FLOAT)));
    const computeType = inHalf ? half : DataType.FLOAT;
    const touchesFloat = floatIn.some(Boolean) || n.outputs.some((o) => isFloat(dtypes.get(o)));
    if (!touchesFloat) {
      n.inputs = n.inputs.map((v) => (v ? current(v).name : v));
      g.nodes.push(n);
      continue;
    }
    if (inHalf) stats.half++;
    else stats.float32++;
    n.inputs = n.inputs.map((v, i) => (!v ? v : floatIn[i] ? as(v, computeType) : current(v).name));
    g.nodes.push(n);
    for (const o of n.outputs) if (o && isFloat(dtypes.get(o))) rep.set(o, { name: o, dtype: computeType, activation: true });
  }
  for (const name of [...g.valueInfo.keys()]) if (rep.get(name)?.dtype !== undefined && rep.get(name)!.dtype !== dtypes.get(name)) g.valueInfo.delete(name);
  // Graph outputs in their float32 type: the half value is renamed and cast back.
  for (const out of g.outputs) {
    const r = rep.get(out.name);
    if (r && r.name !== out.name) {
      b.op(r.dtype === dtypes.get(out.name) ? 'Identity' : 'Cast', [r.name], r.dtype === dtypes.get(out.name) ? undefined : { to: dtypes.get(out.name)! }, { outputs: [out.name] });
      continue;
    }
    if (!r || r.dtype === dtypes.get(out.name)) continue;
    const inner = b.fresh(`${out.name}.half`);
    renameValue(g, out.name, inner);
    b.op('Cast', [inner], { to: dtypes.get(out.name)! }, { outputs: [out.name] });
  }
  return stats;
}

/** Every definition and read of `from` in g's nodes now says `to`. */
function renameValue(g: Graph, from: string, to: string): void {
  const sub = (n: Node) => {
    n.inputs = n.inputs.map((v) => (v === from ? to : v));
    n.outputs = n.outputs.map((v) => (v === from ? to : v));
  };
  g.nodes.forEach(sub);
}
