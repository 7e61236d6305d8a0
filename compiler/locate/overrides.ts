/**
 * Streams h_0..h_L named by the user instead of discovered: `boundaries` lists them,
 * `pattern` says which nodes belong to which block and the streams are the values that
 * cross from one block's nodes to the next.
 */
import { UserError } from '../../contract/errors.ts';
import type { Node } from '../graph/index.ts';
import type { GraphView } from './graph-view.ts';
import { nodesBetween } from './residuals.ts';
import type { BlockOverride } from './types.ts';

export const SPEC_HINT = 'name the block boundaries in the spec: `blocks boundaries ["h0", "h1", ...]` (the stream entering block 0, then each block output; one list per stack, e.g. `["e0", "e1"], ["d0", "d1"]`) or `blocks pattern "/encoder/layer.{i}/*"` (node names per block)';

/** The streams of each stack the user named: one list per stack (a pattern names one stack). */
export function streamsFromOverride(view: GraphView, override: Exclude<BlockOverride, { kind: 'auto' }>): string[][] {
  if (override.kind === 'pattern') return [streamsFromPattern(view, override.pattern)];
  if (override.streams.length === 0) throw new UserError('blocks boundaries: no streams given', SPEC_HINT);
  const lists = override.streams.map((tensors) => checkBoundaries(view, tensors));
  const seen = new Map<string, number>();
  lists.forEach((tensors, k) => {
    for (const t of tensors) {
      const other = seen.get(t);
      if (other !== undefined && other !== k) throw new UserError(`blocks boundaries: '${t}' is named in the lists of stack ${other} and stack ${k}`, 'each stack has its own residual stream: give each list only its own stack\'s tensors');
      seen.set(t, k);
    }
  });
  return lists;
}

function checkBoundaries(view: GraphView, tensors: string[]): string[] {
  if (tensors.length < 2) throw new UserError(`blocks boundaries: ${tensors.length} tensor(s) given; L blocks need L+1 (h_0, then each block's output)`, SPEC_HINT);
  for (const t of tensors) {
    if (!view.producer.has(t) && !view.graphInputs.has(t)) {
      const near = [...view.producer.keys()].filter((v) => v.toLowerCase().includes(t.toLowerCase())).slice(0, 5);
      throw new UserError(`blocks boundaries: the model has no value '${t}'`, near.length ? `values with similar names: ${near.map((v) => `'${v}'`).join(', ')}` : 'list value names with `lor2c inspect --json`');
    }
  }
  for (let i = 0; i + 1 < tensors.length; i++) {
    const path = nodesBetween(view, tensors[i]!, tensors[i + 1]!);
    if (!path?.length) throw new UserError(`blocks boundaries: '${tensors[i + 1]}' (h_${i + 1}) is not computed from '${tensors[i]}' (h_${i})`, 'list the residual-stream tensors in order, each block output computed from the previous one');
  }
  return tensors;
}

/** `{i}` and `*` (the DSL's form, matched against the whole name), or a regex with one capture group. */
export function patternRegex(pattern: string): RegExp {
  if (pattern.includes('{i}')) {
    const parts = pattern.split('{i}').map((p) => p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*'));
    return new RegExp(`^${parts.join('(\\d+)')}$`);
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new UserError(`blocks pattern: '${pattern}' is not a valid regular expression (${(e as Error).message})`, 'use `{i}` for the block index and `*` for any text, e.g. "/encoder/layer.{i}/*"');
  }
  if (new RegExp(`${re.source}|`).exec('')!.length - 1 < 1) throw new UserError(`blocks pattern: '${pattern}' has no capture group for the block index`, 'write `{i}` where the index goes, e.g. "/model/layers.{i}/*"');
  return re;
}

function streamsFromPattern(view: GraphView, pattern: string): string[] {
  const re = patternRegex(pattern);
  const groups = new Map<number, Node[]>();
  for (const n of view.nodes) {
    const m = re.exec(n.name);
    const index = m?.slice(1).find((g) => g !== undefined);
    if (index === undefined || !/^\d+$/.test(index)) continue;
    const list = groups.get(Number(index)) ?? [];
    list.push(n);
    groups.set(Number(index), list);
  }
  if (groups.size === 0) throw new UserError(`blocks pattern: no node name matches '${pattern}'`, `node names look like ${view.nodes.slice(0, 3).map((n) => `'${n.name}'`).join(', ')}`);
  const indices = [...groups.keys()].sort((a, b) => a - b);
  const blocks = indices.map((i) => new Set(groups.get(i)!));
  const inputsOf = blocks.map((set) => crossing(view, set, 'in'));
  const outputsOf = blocks.map((set) => crossing(view, set, 'out'));
  const streams: string[] = [];
  // h_0: what block 0 reads from outside that feeds its output and that block 1 does not read (masks, rotary tables are shared).
  const shared = new Set(inputsOf.slice(1).flat());
  const firstCandidates = inputsOf[0]!.filter((v) => !shared.has(v));
  const h0 = pickStream(view, firstCandidates.length ? firstCandidates : inputsOf[0]!, blocks[0]!);
  if (!h0) throw new UserError(`blocks pattern: block ${indices[0]} ('${pattern}') reads no value from outside its nodes`, SPEC_HINT);
  streams.push(h0);
  for (let k = 0; k < blocks.length; k++) {
    const next = k + 1 < blocks.length ? inputsOf[k + 1]! : undefined;
    const candidates = next ? outputsOf[k]!.filter((v) => next.includes(v)) : outputsOf[k]!.filter((v) => !inputsOf.some((ins) => ins.includes(v)));
    const h = next ? pickStream(view, candidates, blocks[k + 1]!) : candidates.sort((a, b) => view.positionOf(b) - view.positionOf(a))[0];
    if (!h) throw new UserError(`blocks pattern: block ${indices[k]} passes no value to ${next ? `block ${indices[k + 1]}` : 'the rest of the model'}; the pattern does not cut the model into consecutive blocks`, SPEC_HINT);
    streams.push(h);
  }
  return streams;
}

/** Non-constant values read by `set` from outside it ('in'), or produced in it and read outside it ('out'). */
function crossing(view: GraphView, set: Set<Node>, direction: 'in' | 'out'): string[] {
  const found = new Set<string>();
  for (const n of set) {
    if (direction === 'in') {
      for (const i of n.inputs) {
        if (!i || view.isConst(i)) continue;
        const p = view.producer.get(i);
        if (!p || !set.has(p)) found.add(i);
      }
    } else {
      for (const o of n.outputs) if (o && (view.graphOutputs.has(o) || view.consumersOf(o).some((c) => !set.has(c)))) found.add(o);
    }
  }
  return [...found];
}

/** The stream among `candidates`: the one the block reads most (norm, residual Add and shape reads all count). */
function pickStream(view: GraphView, candidates: string[], block: Set<Node>): string | undefined {
  let best: string | undefined;
  let most = -1;
  for (const v of candidates) {
    const reads = view.consumersOf(v).filter((c) => block.has(c)).length;
    if (reads > most) [best, most] = [v, reads];
  }
  return best;
}
