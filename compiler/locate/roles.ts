/**
 * Roles of a block's projections, read off the dataflow rather than names:
 * - attention, from each Softmax: scores = MatMul(Q', K'^T) gives q (left) and k (right),
 *   MatMul(probs, V') gives v, and the projection fed by that context is o. When q, k and v
 *   come from one projection through a split, it is a fused 'qkv'.
 * - FFN, from each non-attention residual branch: down produces the branch output; gate is
 *   the projection whose output passes an activation before an elementwise Mul with up's.
 */
import { attrInt, attrInts, type Node } from '../graph/index.ts';
import type { GraphView } from './graph-view.ts';
import type { ProjectionSite } from './projections.ts';
import { nodesBetween, SCORE_PATH, type ResidualAdd } from './residuals.ts';
import { findBackward, findForward, splitPoint, traceToProjections, type TraceHit } from './trace.ts';
import { partColumns } from './fused-columns.ts';
import type { FusedPart, ProjectionRole } from './types.ts';

/** Between the Softmax and the context MatMul. */
const PROBS_PATH = new Set(['Cast', 'Dropout', 'Identity', 'Reshape', 'Where', 'Mul']);
/** Between the context MatMul and the output projection: merging heads. */
const CONTEXT_PATH = new Set(['Transpose', 'Reshape', 'Cast', 'Identity', 'Flatten', 'Dropout']);

/** Known dims of a value (numbers where concrete, -1 otherwise), or undefined when the rank is unknown. */
export type ShapeLookup = (value: string) => number[] | undefined;

export interface RoleAssignment {
  roles: Map<ProjectionSite, ProjectionRole>;
  /** Projections of the block's attention computed outside the block's nodes: a cross-attention's keys and values. */
  outside: ProjectionSite[];
  parts: Map<ProjectionSite, { q: FusedPart; k: FusedPart; v: FusedPart }>;
  notes: string[];
  /** Of `notes`, those that make the structure doubtful. */
  doubts: string[];
}

export function assignRoles(
  view: GraphView,
  label: string,
  blockNodes: Node[],
  sites: ProjectionSite[],
  residuals: ResidualAdd[],
  shapes: ShapeLookup,
  modelSites: Map<string, ProjectionSite>,
): RoleAssignment {
  const scope = new Set(blockNodes);
  const byValue = new Map<string, ProjectionSite>();
  for (const s of sites) {
    byValue.set(s.raw, s);
    byValue.set(s.y, s);
  }
  const out: RoleAssignment = { roles: new Map(), outside: [], parts: new Map(), notes: [], doubts: [] };
  const doubt = (text: string) => (out.notes.push(text), out.doubts.push(text));
  // A role names one projection per block (what LoRA on 'q' of block 3 means); a second
  // candidate, e.g. in a block the user made of two layers, stays 'other'.
  const used = new Set<ProjectionRole>();
  const take = (s: ProjectionSite, role: ProjectionRole) => {
    if (out.roles.has(s)) return;
    if (role !== 'other' && used.has(role)) {
      out.notes.push(`${label}: '${view.nameOf(s.node)}' looks like a second '${role}' projection; it keeps role 'other'`);
      role = 'other';
    }
    used.add(role);
    out.roles.set(s, role);
  };

  let selfAttentions = 0;
  let crossAttentions = 0;
  for (const softmax of blockNodes.filter((n) => n.opType === 'Softmax')) {
    const found = attentionAt(view, softmax, scope, byValue, modelSites);
    if (!found) {
      doubt(`${label}: Softmax '${view.nameOf(softmax)}' is not between a scores MatMul and a context MatMul; its projections keep role 'other'`);
      continue;
    }
    // A cross-attention's keys and values come from outside the block (the encoder's output).
    const cross = found.cross;
    if ((cross ? crossAttentions++ : selfAttentions++) > 0) {
      out.notes.push(`${label}: a second attention (Softmax '${view.nameOf(softmax)}', a ${cross ? 'cross' : 'self'}-attention); its projections keep role 'other'`);
      continue;
    }
    const role = (r: 'q' | 'k' | 'v' | 'o'): ProjectionRole => (cross ? `cross_${r}` : r);
    const { q, k, v, o } = found;
    for (const h of [k, v]) if (h && !scope.has(h.site.node)) out.outside.push(h.site);
    if (!cross && q && k && v && q.site === k.site && k.site === v.site) {
      take(q.site, 'qkv');
      const p = fusedParts(view, q, k, v, shapes);
      if (p) out.parts.set(q.site, p);
      else doubt(`${label}: fused projection '${view.nameOf(q.site.node)}' feeds q, k and v but the split points could not be told apart`);
    } else {
      const named: [TraceHit | undefined, 'q' | 'k' | 'v'][] = [[q, 'q'], [k, 'k'], [v, 'v']];
      const distinct = new Set(named.map(([h]) => h?.site).filter(Boolean));
      if (distinct.size < named.filter(([h]) => h).length) out.notes.push(`${label}: two of q, k, v come from one projection (a fused key/value?); it keeps the first role`);
      for (const [h, r] of named) if (h) take(h.site, role(r));
      for (const [h, r] of named) if (!h) doubt(`${label}: no ${role(r)} projection found (the ${r} side of the attention does not trace back to one projection)`);
    }
    if (o) take(o, role('o'));
    else doubt(`${label}: no output projection found after the attention context`);
  }

  // FFN branches: a residual branch without attention, or, in a parallel block
  // (x + attn(ln1 x) + mlp(ln2 x)), the terms of the branch's sum that hold no attention.
  for (const r of residuals) {
    const terms = r.branchNodes.some((n) => n.opType === 'Softmax') ? sumTerms(view, r.branch, new Set(r.branchNodes)) : [r.branch];
    for (const term of terms) {
      const termNodes = term === r.branch ? r.branchNodes : nodesBetween(view, r.skip, term);
      if (termNodes?.length && !termNodes.some((n) => n.opType === 'Softmax')) ffnRoles(view, term, termNodes, sites, byValue, out, take);
    }
  }
  for (const s of sites) take(s, 'other');
  return out;
}

interface AttentionHits {
  q?: TraceHit;
  k?: TraceHit;
  v?: TraceHit;
  o?: ProjectionSite;
  /** Keys and values are not computed from the block's stream. */
  cross: boolean;
}

function single(hits: TraceHit[]): TraceHit | undefined {
  return hits.length === 1 ? hits[0] : undefined;
}

/**
 * q, k, v and o of the attention around `softmax`. q and o lie in the block; k and v too for
 * a self-attention, while a cross-attention's k and v are traced through the whole model
 * (`modelSites`: every projection, keyed like `sites`).
 */
function attentionAt(view: GraphView, softmax: Node, scope: Set<Node>, sites: Map<string, ProjectionSite>, modelSites: Map<string, ProjectionSite>): AttentionHits | undefined {
  const isAttentionMatMul = (n: Node) => n.opType === 'MatMul' && view.dynamicInputs(n).length === 2;
  const scores = findBackward(view, softmax.inputs[0]!, scope, SCORE_PATH, isAttentionMatMul);
  const context = findForward(view, softmax.outputs[0]!, scope, PROBS_PATH, (n, via) => isAttentionMatMul(n) && n.inputs[0] === via);
  if (!scores || !context) return undefined;
  const q = single(traceToProjections(view, scores.inputs[0]!, scope, sites).hits);
  let k = single(traceToProjections(view, scores.inputs[1]!, scope, sites).hits);
  let v = single(traceToProjections(view, context.inputs[1]!, scope, sites).hits);
  let cross = false;
  if (!k && !v) {
    const everywhere = new Set(view.nodes);
    const kOut = single(traceToProjections(view, scores.inputs[1]!, everywhere, modelSites).hits);
    const vOut = single(traceToProjections(view, context.inputs[1]!, everywhere, modelSites).hits);
    if (kOut && vOut && !scope.has(kOut.site.node) && !scope.has(vOut.site.node)) [k, v, cross] = [kOut, vOut, true];
  }
  const byNode = new Map([...sites.values()].map((s) => [s.node, s]));
  const oNode = findForward(view, context.outputs[0]!, scope, CONTEXT_PATH, (n, via) => byNode.get(n)?.x === via);
  return { q, k, v, o: oNode ? byNode.get(oNode) : undefined, cross };
}

/** Where q, k and v leave the split of a fused projection, in output order. */
function fusedParts(view: GraphView, q: TraceHit, k: TraceHit, v: TraceHit, shapes: ShapeLookup): { q: FusedPart; k: FusedPart; v: FusedPart } | undefined {
  const hits = [q, k, v];
  const points = hits.map(splitPoint);
  if (points.some((p) => !p) || new Set(points.map((p) => p!.out)).size !== 3) return undefined;
  const keys = points.map((p) => splitKey(view, p!.node, p!.out));
  const order = [0, 1, 2].sort((a, b) => keys[a]! - keys[b]!);
  const part = (i: number): FusedPart => {
    const hit = hits[i]!;
    const point = points[i]!;
    const reshapes = hit.path.slice(0, hit.path.findIndex((s) => s.node === point.node)).length;
    // Reshaped back from a flattened projection: the delta must come from the unflattened input.
    const flattened = view.producer.get(hit.site.x);
    const x = reshapes === 0 ? hit.site.x : flattened && (flattened.opType === 'Reshape' || flattened.opType === 'Flatten') ? flattened.inputs[0]! : undefined;
    const lastAxis = x !== undefined && onLastAxis(view, point.node, hit, shapes);
    const width = lastAxis ? partWidth(view, point.node, point.out, shapes) : 0;
    const derived = partColumns(view, hit, point.node, shapes);
    return {
      value: point.out, index: order.indexOf(i), lastAxis: lastAxis && width > 0, width: lastAxis ? width : 0, x: x ?? hit.site.x,
      ...('columns' in derived ? { columns: derived.columns } : { unproven: derived.why }),
    };
  };
  const parts = { q: part(0), k: part(1), v: part(2) };
  // The derivations must agree with each other: three disjoint sets of the fused columns.
  const all = [parts.q, parts.k, parts.v].flatMap((p) => p.columns ?? []);
  if ([parts.q, parts.k, parts.v].every((p) => p.columns) && new Set(all).size !== all.length) {
    for (const p of [parts.q, parts.k, parts.v]) {
      delete p.columns;
      p.unproven = 'the parts derived for q, k and v overlap';
    }
  }
  return parts;
}

/** Width of one output of a last-axis Split (its `split` sizes, else equal parts) or Slice (from the shapes). */
function partWidth(view: GraphView, n: Node, out: string, shapes: ShapeLookup): number {
  const known = shapes(out)?.at(-1);
  if (known !== undefined && known > 0) return known;
  if (n.opType === 'Split') {
    const sizes = view.operandNumbers(n, 'split');
    if (sizes) return sizes[n.outputs.indexOf(out)] ?? 0;
  }
  return 0;
}

/** Orders parts of one split: the Split output index, the Slice start, the Gather index. */
function splitKey(view: GraphView, n: Node, out: string): number {
  if (n.opType === 'Split') return n.outputs.indexOf(out);
  const values = n.inputs[1] ? view.constantNumbers(n.inputs[1]) : undefined;
  if (values?.length) return values[0]! < 0 ? values[0]! + 1e9 : values[0]!;
  if (n.opType === 'Slice') return attrInts(n, 'starts')?.[0] ?? 0;
  return 0;
}

/**
 * Whether a Split/Slice cuts the last axis of a value laid out like the projection output
 * (only reshapes in between, same last dim), so a [.., width] delta fits the part as it is.
 */
function onLastAxis(view: GraphView, n: Node, hit: TraceHit, shapes: ShapeLookup): boolean {
  if (n.opType === 'Gather') return false;
  const before = hit.path.slice(0, hit.path.findIndex((s) => s.node === n));
  if (before.some((s) => s.node.opType !== 'Reshape')) return false;
  const input = shapes(n.inputs[0]!);
  if (!input || input[input.length - 1] !== hit.site.outFeatures) return false;
  let axis: number | undefined;
  if (n.opType === 'Split') axis = attrInt(n, 'axis', 0);
  else {
    const axes = view.operandNumbers(n, 'axes');
    axis = axes?.length === 1 ? axes[0] : undefined;
  }
  return axis !== undefined && (axis === -1 || axis === input.length - 1);
}

/** The operands of the Add tree (of two computed operands each) that sums up `value`, within `scope`. */
function sumTerms(view: GraphView, value: string, scope: Set<Node>): string[] {
  const p = view.producer.get(value);
  if (!p || !scope.has(p) || p.opType !== 'Add' || view.dynamicInputs(p).length !== 2) return [value];
  return p.inputs.flatMap((i) => sumTerms(view, i, scope));
}

/** up, gate and down of an FFN branch ending in `branch` (its nodes `branchNodes`). */
function ffnRoles(
  view: GraphView,
  branch: string,
  branchNodes: Node[],
  sites: ProjectionSite[],
  byValue: Map<string, ProjectionSite>,
  out: RoleAssignment,
  take: (s: ProjectionSite, role: ProjectionRole) => void,
): void {
  const scope = new Set(branchNodes);
  const inBranch = sites.filter((s) => scope.has(s.node) && !out.roles.has(s));
  if (inBranch.length < 2) return; // one projection on a branch is not an FFN
  const down = single(traceToProjections(view, branch, scope, byValue).hits)?.site;
  if (!down || out.roles.has(down)) return;
  take(down, 'down');
  const rest = inBranch.filter((s) => s !== down);
  for (const m of branchNodes) {
    if (m.opType !== 'Mul' || view.dynamicInputs(m).length !== 2) continue;
    const [a, b] = m.inputs.map((i) => traceToProjections(view, i, scope, byValue, true));
    const sa = a!.hits.map((h) => h.site);
    const sb = b!.hits.map((h) => h.site);
    if (sa.length !== 1 || sb.length !== 1 || sa[0] === sb[0] || a!.activation === b!.activation) continue;
    const [gate, up] = a!.activation ? [sa[0]!, sb[0]!] : [sb[0]!, sa[0]!];
    if (!rest.includes(gate) || !rest.includes(up)) continue;
    take(gate, 'gate');
    take(up, 'up');
    break;
  }
  const left = rest.filter((s) => !out.roles.has(s));
  if (left.length === 1 && !rest.some((s) => out.roles.get(s) === 'up')) take(left[0]!, 'up');
}
