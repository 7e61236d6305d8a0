/**
 * From residual Adds to blocks. Residual Adds link into chains (the next Add's skip operand
 * is the previous one's output, or, post-LN, the exit of the norm that alone reads it); the
 * chain with attention is the transformer's residual stream. Each attention residual starts
 * a block and the residuals after it (the FFN) join it.
 */
import { UserError } from '../errors.ts';
import type { GraphView } from './graph-view.ts';
import { feedsNorm, normConsumingOnly, type NormRegion } from './norm-region.ts';
import { SPEC_HINT } from './overrides.ts';
import type { ResidualAdd } from './residuals.ts';
import type { BlockStyle } from './types.ts';

export interface ChainBlocks {
  style: BlockStyle;
  streams: string[];
  /** The residual Adds of each block, in order. */
  residuals: ResidualAdd[][];
  notes: string[];
}

/** Values that stand for the same tensor: through Identity and (inference) Dropout. */
function canonical(view: GraphView, value: string): string {
  let v = value;
  for (let hops = 0; hops < 8; hops++) {
    const p = view.producer.get(v);
    if (!p || (p.opType !== 'Identity' && p.opType !== 'Dropout')) return v;
    v = p.inputs[0]!;
  }
  return v;
}

export function blocksFromResiduals(view: GraphView, residuals: ResidualAdd[]): ChainBlocks {
  const notes: string[] = [];
  if (residuals.length === 0) {
    const softmaxes = view.nodes.filter((n) => n.opType === 'Softmax').length;
    throw new UserError(
      `no residual connections found: no Add joins a value with a branch computed from it through a weight (MatMul/Gemm/Conv)${softmaxes ? `; the model has ${softmaxes} Softmax node(s)` : ''}`,
      SPEC_HINT,
    );
  }
  const post = new Map<ResidualAdd, NormRegion | undefined>(residuals.map((r) => [r, normConsumingOnly(view, r.output)]));
  // Link: each residual's predecessor is the one whose stream output is its skip operand.
  const byOutput = new Map<string, ResidualAdd>();
  for (const r of residuals) {
    byOutput.set(canonical(view, r.output), r);
    const exit = post.get(r)?.exit;
    if (exit) byOutput.set(canonical(view, exit), r);
  }
  const next = new Map<ResidualAdd, ResidualAdd>();
  const hasPrev = new Set<ResidualAdd>();
  for (const r of residuals) {
    const prev = byOutput.get(canonical(view, r.skip));
    if (!prev || prev === r) continue;
    if (next.has(prev)) {
      notes.push(`residual Adds '${view.nameOf(next.get(prev)!.node)}' and '${view.nameOf(r.node)}' both continue the stream of '${view.nameOf(prev.node)}'; following the first`);
      continue;
    }
    next.set(prev, r);
    hasPrev.add(r);
  }
  const chains: ResidualAdd[][] = [];
  for (const r of residuals) {
    if (hasPrev.has(r)) continue;
    const chain = [r];
    for (let n = next.get(r); n; n = next.get(n)) chain.push(n);
    chains.push(chain);
  }
  const attentionCount = (c: ResidualAdd[]) => c.filter((r) => r.attention).length;
  const ranked = [...chains].sort((a, b) => attentionCount(b) - attentionCount(a) || b.length - a.length);
  let chain = ranked[0]!;
  const withAttention = chains.filter((c) => attentionCount(c) > 0);
  if (withAttention.length > 1) {
    notes.push(`${withAttention.length} separate residual streams with attention (an encoder-decoder?); using the one with the most attention blocks, from '${view.nameOf(chain[0]!.node)}'; name others with \`blocks boundaries\``);
  }

  let residualsPerBlock: ResidualAdd[][];
  if (attentionCount(chain) > 0) {
    const first = chain.findIndex((r) => r.attention);
    if (first > 0) notes.push(`${first} residual Add(s) before the first attention block are not counted as blocks (from '${view.nameOf(chain[0]!.node)}')`);
    chain = chain.slice(first);
    residualsPerBlock = [];
    for (const r of chain) {
      if (r.attention) residualsPerBlock.push([r]);
      else residualsPerBlock[residualsPerBlock.length - 1]!.push(r);
    }
  } else {
    notes.push('no residual branch holds a Softmax (no attention): every residual Add is taken as one block');
    residualsPerBlock = chain.map((r) => [r]);
  }

  // Post-LN when every residual but the last is read only by a norm (the last may be the
  // final norm of a pre-LN model); pre-LN when none is.
  const decisive = chain.length > 1 ? chain.slice(0, -1) : chain;
  const postCount = decisive.filter((r) => post.get(r)).length;
  let style: BlockStyle = postCount === decisive.length ? 'post-ln' : postCount === 0 ? 'pre-ln' : 'other';
  if (style === 'pre-ln' && !chain.some((r) => feedsNorm(view, r.skip))) {
    style = 'other';
    notes.push('no residual branch starts with a norm: neither pre-LN nor post-LN');
  }
  if (chain.length === 1 && style === 'post-ln') notes.push('a single residual Add read only by a norm: taken as post-LN');
  if (style === 'other') notes.push(`${postCount} of ${decisive.length} residual Adds are read only by a norm: neither pre-LN nor post-LN; block outputs are taken where the next block reads them`);

  const streams = [residualsPerBlock[0]![0]!.skip];
  residualsPerBlock.forEach((rs, i) => {
    const following = residualsPerBlock[i + 1]?.[0];
    if (following) {
      streams.push(following.skip);
      return;
    }
    const last = rs[rs.length - 1]!;
    const exit = post.get(last)?.exit;
    streams.push(style === 'post-ln' && exit ? exit : last.output);
  });
  return { style, streams, residuals: residualsPerBlock, notes };
}
