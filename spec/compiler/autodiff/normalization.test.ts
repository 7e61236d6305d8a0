/**
 * The normalizations' input gradient takes the expanded form (dxhat invstd + x b + c, per-row b
 * and c) in float32 and float64 only; in a half type, whose range invstd^3 leaves at a row
 * spread of 0.025, it keeps the factored form over xhat. The values of both are checked by
 * gradcheck.test.ts against finite differences; this checks which form each type gets.
 */
import test from 'ava';
import { Graph, GraphBuilder } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';

const D = 4;

/** loss = sum(norm(x) * w) over a frozen scale; returns the backward's nodes. */
function backward(op: 'LayerNormalization' | 'RMSNormalization', dtype: DataType): { expanded: boolean } {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(valueInfoFromType('x', { dtype, shape: [3, D] }));
  const values = (n: number) => (dtype === DataType.FLOAT16 ? new Uint16Array(n).fill(0x3c00) : dtype === DataType.DOUBLE ? new Float64Array(n).fill(1) : new Float32Array(n).fill(1));
  g.initializers.set('scale', makeTensor('scale', dtype, [D], values(D)));
  g.initializers.set('w', makeTensor('w', dtype, [3, D], values(3 * D)));
  const y = b.op(op, ['x', 'scale'], { epsilon: 1e-5 });
  b.op('ReduceSum', [b.op('Mul', [y, 'w'])], { keepdims: 0 }, { outputs: ['loss'] });
  const before = g.nodes.length;
  differentiate(g, { loss: 'loss', wrt: ['x'], opset: 23 });
  // The expanded forms negate one per-row term (LayerNorm's c, RMSNorm's b); the factored
  // forms subtract instead, and nothing else in this backward negates.
  return { expanded: g.nodes.slice(before).some((n) => n.opType === 'Neg') };
}

for (const op of ['LayerNormalization', 'RMSNormalization'] as const) {
  test(`${op}: float32 and float64 expand (x b + c); float16 keeps xhat`, (t) => {
    for (const dtype of [DataType.FLOAT, DataType.DOUBLE]) t.true(backward(op, dtype).expanded, `${op} in type ${dtype}`);
    t.false(backward(op, DataType.FLOAT16).expanded, `${op} in float16`);
  });
}
