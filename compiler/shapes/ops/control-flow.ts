/**
 * Control flow: If (the branch taken when the condition is known, else both branches merged)
 * and Loop (loop-carried values from the body, scan outputs stacked along a new first axis).
 * A body whose types cannot be worked out leaves the outputs unknown.
 */
import { DataType } from '../../onnx/dtype.ts';
import { attrInts, getAttr } from '../../graph/attributes.ts';
import { normalizeAxis } from '../helpers.ts';
import { dimEquals, type Dim } from '../dim.ts';
import type { Rule, RuleContext, RuleTable } from '../rule.ts';
import type { ValueType } from '../types.ts';

/** The type both a and b fit: equal dims kept, differing dims fresh, differing ranks unknown. */
function mergeTypes(ctx: RuleContext, a: ValueType | undefined, b: ValueType | undefined): ValueType | undefined {
  if (!a || !b) return undefined;
  const dtype = a.dtype || b.dtype;
  if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { dtype };
  return { dtype, shape: a.shape.map((d, i) => (dimEquals(d, b.shape![i]!) === true ? d : ctx.fresh('if'))) };
}

const ifRule: Rule = (ctx) => {
  const thenBody = getAttr(ctx.node, 'then_branch')?.g;
  const elseBody = getAttr(ctx.node, 'else_branch')?.g;
  if (!thenBody || !elseBody) return [];
  const cond = ctx.value(0);
  if (cond?.length === 1 && typeof cond[0] === 'number') return ctx.inferBody(cond[0] ? thenBody : elseBody, []);
  const a = ctx.inferBody(thenBody, []);
  const b = ctx.inferBody(elseBody, []);
  return ctx.node.outputs.map((_, i) => mergeTypes(ctx, a[i], b[i]));
};

const loop: Rule = (ctx) => {
  const body = getAttr(ctx.node, 'body')?.g;
  if (!body) return [];
  const carried = ctx.inputCount - 2;
  const initial: (ValueType | undefined)[] = [];
  for (let i = 0; i < carried; i++) initial.push(ctx.input(i + 2));
  const outs = ctx.inferBody(body, [{ dtype: DataType.INT64, shape: [] }, { dtype: DataType.BOOL, shape: [] }, ...initial]);
  // Without a condition input the trip count M is exact (the body's condition output is ignored).
  const trip = ctx.value(0);
  const iterations: Dim = !ctx.present(1) && trip?.length === 1 && typeof trip[0] === 'number' ? trip[0] : ctx.fresh('loop');
  const results: (ValueType | undefined)[] = [];
  for (let i = 0; i < carried; i++) {
    const init = initial[i];
    const next = outs[i + 1];
    results.push(init && next ? mergeTypes(ctx, init, next) : next && { dtype: next.dtype });
  }
  for (let k = 1 + carried; k < outs.length; k++) {
    const t = outs[k];
    results.push(t && { dtype: t.dtype, shape: t.shape && [iterations, ...t.shape] });
  }
  return results;
};

/**
 * Scan (opset 9+): states thread through the body; each scan input is cut along its scan axis
 * and each scan output stacks the body's per-iteration output along its own axis.
 */
const scan: Rule = (ctx) => {
  const body = getAttr(ctx.node, 'body')?.g;
  if (!body || ctx.opset < 9) return [];
  const m = Number(getAttr(ctx.node, 'num_scan_inputs')?.i ?? 0);
  const n = ctx.inputCount - m;
  const inAxes = attrInts(ctx.node, 'scan_input_axes') ?? Array(m).fill(0);
  const outAxesAttr = attrInts(ctx.node, 'scan_output_axes');
  const bodyInputs: (ValueType | undefined)[] = [];
  let length: Dim | undefined;
  for (let i = 0; i < n; i++) bodyInputs.push(ctx.input(i));
  for (let j = 0; j < m; j++) {
    const x = ctx.input(n + j);
    if (!x?.shape) {
      bodyInputs.push(x && { dtype: x.dtype });
      continue;
    }
    const axis = normalizeAxis(inAxes[j]!, x.shape.length);
    length ??= x.shape[axis];
    bodyInputs.push({ dtype: x.dtype, shape: x.shape.filter((_, i) => i !== axis) });
  }
  const outs = ctx.inferBody(body, bodyInputs);
  const results: (ValueType | undefined)[] = outs.slice(0, n);
  for (let k = n; k < outs.length; k++) {
    const t = outs[k];
    if (!t?.shape) {
      results.push(t && { dtype: t.dtype });
      continue;
    }
    const axis = normalizeAxis(outAxesAttr?.[k - n] ?? 0, t.shape.length + 1);
    const shape = [...t.shape];
    shape.splice(axis, 0, length ?? ctx.fresh('scan'));
    results.push({ dtype: t.dtype, shape });
  }
  return results;
};

export const controlFlowRules: RuleTable = {
  Scan: scan,
  If: ifRule,
  Loop: loop,
};
