/** Matrix products: MatMul (numpy semantics, batched, 1-D operands), Gemm, FusedMatMul, Einsum. */
import { DataType } from '../../onnx/dtype.ts';
import { attrInt, attrString } from '../../graph/attributes.ts';
import type { Dim } from '../dim.ts';
import { broadcastDim, broadcastShapes } from '../helpers.ts';
import type { Rule, RuleTable } from '../rule.ts';
import { ShapeContradiction } from '../rule.ts';

/** numpy.matmul's shape: 1-D operands get a 1 prepended/appended and removed after. */
export function matmulShape(a: readonly Dim[], b: readonly Dim[], transA = false, transB = false): Dim[] {
  if (a.length === 0 || b.length === 0) throw new ShapeContradiction('MatMul of a scalar');
  let aa = a.length === 1 ? [1, a[0]!] : [...a];
  let bb = b.length === 1 ? [b[0]!, 1] : [...b];
  if (transA && a.length > 1) aa = [...aa.slice(0, -2), aa[aa.length - 1]!, aa[aa.length - 2]!];
  if (transB && b.length > 1) bb = [...bb.slice(0, -2), bb[bb.length - 1]!, bb[bb.length - 2]!];
  const m = aa[aa.length - 2]!;
  const n = bb[bb.length - 1]!;
  broadcastDim(aa[aa.length - 1]!, bb[bb.length - 2]!); // throws on a numeric mismatch of k (except 1 vs k)
  const batch = broadcastShapes(aa.slice(0, -2), bb.slice(0, -2));
  const out = [...batch];
  if (a.length > 1) out.push(m);
  if (b.length > 1) out.push(n);
  return out;
}

const matmul: Rule = (ctx) => {
  const a = ctx.shape(0), b = ctx.shape(1);
  const dtype = ctx.dtype(0) || ctx.dtype(1);
  return [{ dtype, shape: a && b ? matmulShape(a, b) : undefined }];
};

const matmulInteger: Rule = (ctx) => {
  const a = ctx.shape(0), b = ctx.shape(1);
  return [{ dtype: DataType.INT32, shape: a && b ? matmulShape(a, b) : undefined }];
};

const qlinearMatmul: Rule = (ctx) => {
  const a = ctx.shape(0), b = ctx.shape(3);
  return [{ dtype: ctx.dtype(7), shape: a && b ? matmulShape(a, b) : undefined }];
};

const gemm: Rule = (ctx) => {
  const a = ctx.shape(0), b = ctx.shape(1);
  const dtype = ctx.dtype(0) || ctx.dtype(1);
  if (!a || !b || a.length !== 2 || b.length !== 2) return [{ dtype }];
  const m = attrInt(ctx.node, 'transA', 0) ? a[1]! : a[0]!;
  const n = attrInt(ctx.node, 'transB', 0) ? b[0]! : b[1]!;
  return [{ dtype, shape: [m, n] }];
};

/** com.microsoft FusedMatMul: MatMul with optional transposes of the last two dims (and alpha). */
const fusedMatmul: Rule = (ctx) => {
  const a = ctx.shape(0), b = ctx.shape(1);
  const dtype = ctx.dtype(0) || ctx.dtype(1);
  if (!a || !b) return [{ dtype }];
  if (attrInt(ctx.node, 'transBatchA', 0) || attrInt(ctx.node, 'transBatchB', 0)) return [{ dtype }];
  return [{ dtype, shape: matmulShape(a, b, !!attrInt(ctx.node, 'transA', 0), !!attrInt(ctx.node, 'transB', 0)) }];
};

/** Einsum: parses 'ij,jk->ik' (with '...' ellipses and implicit output) and reads each letter's size off the operands. */
const einsum: Rule = (ctx) => {
  const dtype = ctx.dtype(0);
  const equation = attrString(ctx.node, 'equation', '').replace(/\s+/g, '');
  const [lhs, rhsGiven] = equation.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ctx.inputCount) throw new ShapeContradiction('Einsum: operand count does not match the equation');
  const sizes = new Map<string, Dim>();
  let ellipsis: Dim[] | undefined;
  const counts = new Map<string, number>();
  terms.forEach((term, i) => {
    const shape = ctx.shape(i);
    if (!shape) throw new ShapeContradiction('unknown operand shape');
    const letters = term.replace('...', '.').split('');
    const dotAt = letters.indexOf('.');
    const explicit = letters.filter((l) => l !== '.').length;
    const ellRank = dotAt >= 0 ? shape.length - explicit : 0;
    if (ellRank < 0 || (dotAt < 0 && explicit !== shape.length)) throw new ShapeContradiction('Einsum: term rank mismatch');
    let pos = 0;
    for (const l of letters) {
      if (l === '.') {
        const part = shape.slice(pos, pos + ellRank);
        ellipsis = ellipsis ? broadcastShapes(ellipsis, part) : part;
        pos += ellRank;
        continue;
      }
      const d = shape[pos++]!;
      const prev = sizes.get(l);
      sizes.set(l, prev === undefined ? d : broadcastDim(prev, d));
      counts.set(l, (counts.get(l) ?? 0) + 1);
    }
  });
  // Implicit output: ellipsis dims, then letters used once, alphabetically.
  const rhs = rhsGiven ?? `${ellipsis ? '...' : ''}${[...counts].filter(([, c]) => c === 1).map(([l]) => l).sort().join('')}`;
  const out: Dim[] = [];
  for (const l of rhs.replace('...', '.').split('')) {
    if (l === '.') out.push(...(ellipsis ?? []));
    else {
      const d = sizes.get(l);
      if (d === undefined) throw new ShapeContradiction(`Einsum: output letter ${l} is not in any operand`);
      out.push(d);
    }
  }
  return [{ dtype, shape: out }];
};

/** Det: the determinant of each trailing square matrix. */
const det: Rule = (ctx) => {
  const x = ctx.shape(0);
  return [{ dtype: ctx.dtype(0), shape: x && x.length >= 2 ? x.slice(0, -2) : undefined }];
};

export const matmulRules: RuleTable = {
  Det: det,
  MatMul: matmul,
  MatMulInteger: matmulInteger,
  QLinearMatMul: qlinearMatmul,
  Gemm: gemm,
  Einsum: einsum,
  'com.microsoft:FusedMatMul': fusedMatmul,
};
