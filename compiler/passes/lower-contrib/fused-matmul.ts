/**
 * com.microsoft FusedMatMul: MatMul(op(A), op(B)) * alpha, where op transposes the last two
 * axes when transA / transB say so. A transposed weight is then Transpose(W) read by a
 * MatMul, which projection discovery reads as the weight in the other layout.
 */
import { attrFloat, attrInt } from '../../graph/attributes.ts';
import type { Lowering, LoweringContext } from './context.ts';

function maybeTransposed(c: LoweringContext, v: string, flag: string): string {
  if (attrInt(c.node, flag, 0) === 0) return v;
  const rank = c.dims(v)?.length;
  if (rank === undefined || rank < 2) c.refuse(`${flag}=1 on '${v}', whose rank is not known`, "give the model's inputs static ranks");
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return c.e.op('Transpose', [v], { perm });
}

export const fusedMatMul: Lowering = (c) => {
  for (const flag of ['transBatchA', 'transBatchB']) if (attrInt(c.node, flag, 0) !== 0) c.refuse(`${flag}=1 (a batch-axis transpose)`);
  const a = maybeTransposed(c, c.required(0, 'A'), 'transA');
  const b = maybeTransposed(c, c.required(1, 'B'), 'transB');
  let y = c.e.op('MatMul', [a, b]);
  const alpha = attrFloat(c.node, 'alpha', 1);
  if (alpha !== 1) y = c.e.op('Mul', [y, c.scalar(alpha)]);
  c.bind(0, y);
};
