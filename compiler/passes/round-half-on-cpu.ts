/**
 * A half-precision graph (compute-in-half.ts) made to run on ORT's CPU provider with the
 * numerics of its storage precision. ORT 1.30's CPU provider registers float16 kernels for few
 * ops (of those a transformer uses: LayerNormalization, Transpose, Max, IsInf, IsNaN,
 * Identity, Cast) and bfloat16 for fewer; for the others it inserts Casts itself, but around a
 * whole chain of such ops, which then computes in float32 without rounding in between (a
 * float32 graph with half inputs, not the half graph). Here every op that reads or writes a
 * half value (Cast and constants aside) computes in float32 between explicit Casts: its half
 * inputs widened (exact), its outputs rounded to half and widened again where read. ORT keeps
 * those Cast pairs (a lossy round trip is not removed), so every tensor the half graph stores
 * holds a half value, as on the GPU; what differs is only the precision inside one kernel
 * (a GPU half kernel computes in float32 inside too for the matrix products and reductions
 * lor2c emits, with cuBLAS's and the reduction kernels' float32 accumulation).
 */
import type { Graph, Node } from '../graph/graph.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { inferDtypes } from '../graph/dtypes.ts';
import { DataType } from '../onnx/dtype.ts';
import type { ValueType } from '../shapes/types.ts';

const isHalf = (t: number | undefined) => t === DataType.FLOAT16 || t === DataType.BFLOAT16;
const KEPT: ReadonlySet<string> = new Set(['Cast', 'Constant']);

/** Rewrites g in place; returns how many nodes now compute in float32 between Casts. */
export function roundHalfOnCpu(g: Graph, known?: ReadonlyMap<string, ValueType>): number {
  return widenHalfNodes(g, () => true, known);
}

/**
 * Each node `which` picks among those reading or writing half values (Cast and Constant aside)
 * computes in float32 between Casts: half inputs widened, outputs rounded back to half.
 */
export function widenHalfNodes(g: Graph, which: (n: Node, dtypes: ReadonlyMap<string, number>) => boolean, known?: ReadonlyMap<string, ValueType>): number {
  const dtypes = inferDtypes(g, known);
  const b = new GraphBuilder(g, 'cpu_half/');
  const nodes = g.nodes;
  g.nodes = [];
  const widened = new Map<string, string>();
  const wide = (v: string) => {
    let w = widened.get(v);
    if (!w) widened.set(v, (w = b.op('Cast', [v], { to: DataType.FLOAT }, { outputs: [b.fresh(`${v}.f32`)] })));
    return w;
  };
  let count = 0;
  for (const n of nodes) {
    const halfIn = n.inputs.map((v) => !!v && isHalf(dtypes.get(v)));
    const halfOut = n.outputs.map((v) => !!v && isHalf(dtypes.get(v)));
    if (KEPT.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx') || !(halfIn.some(Boolean) || halfOut.some(Boolean)) || !which(n, dtypes)) {
      g.nodes.push(n);
      continue;
    }
    count++;
    const computed: Node = { ...n, inputs: n.inputs.map((v, i) => (halfIn[i] ? wide(v) : v)), outputs: n.outputs.map((v, i) => (halfOut[i] ? b.fresh(`${v}.f32`) : v)) };
    g.nodes.push(computed);
    n.outputs.forEach((v, i) => {
      if (!halfOut[i]) return;
      b.op('Cast', [computed.outputs[i]!], { to: dtypes.get(v)! }, { outputs: [v] });
    });
  }
  for (const name of [...g.valueInfo.keys()]) if (isHalf(dtypes.get(name))) g.valueInfo.delete(name);
  return count;
}
