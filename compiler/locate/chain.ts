/**
 * From residual Adds to blocks. Residual Adds link into chains (the next Add's skip operand
 * is the previous one's output, or, post-LN, the exit of the norm that alone reads it); the
 * chain with attention is the transformer's residual stream. Each attention residual starts
 * a block and the residuals after it (the FFN) join it.
 */
import { UserError } from '../../contract/errors.ts';
import type { GraphView } from './graph-view.ts';
import { feedsNorm, normConsumingOnly, type NormRegion } from './norm-region.ts';
import { SPEC_HINT } from './overrides.ts';
import type { ResidualAdd } from './residuals.ts';
import { streamCarried, streamOrigin, type SameShape } from './stream-passthrough.ts';
import type { BlockStyle } from './types.ts';

export interface ChainBlocks {
  style: BlockStyle;
  streams: string[];
  /** The residual Adds of each block, in order. */
  residuals: ResidualAdd[][];
  notes: string[];
  /** Of `notes`, those that make the structure doubtful. */
  doubts: string[];
}

/**
 * The stacks of blocks: one per residual stream with attention (an encoder-decoder has two),
 * in the order their first block runs. Streams without attention (a convolutional front end's
 * residuals) are noted and left out, unless no stream has attention.
 */
export function stacksFromResiduals(view: GraphView, residuals: ResidualAdd[], sameShape: SameShape): { stacks: ChainBlocks[]; notes: string[]; doubts: string[] } {
  const notes: string[] = [];
  const doubts: string[] = [];
  const doubt = (text: string) => (notes.push(text), doubts.push(text));
  if (residuals.length === 0) {
    const softmaxes = view.nodes.filter((n) => n.opType === 'Softmax').length;
    throw new UserError(
      `no residual connections found: no Add joins a value with a branch computed from it through a weight (MatMul/Gemm/Conv)${softmaxes ? `; the model has ${softmaxes} Softmax node(s)` : ''}`,
      SPEC_HINT,
    );
  }
  const chains = linkChains(view, residuals, sameShape, doubt);
  const withAttention = chains.filter((c) => attentionCount(c) > 0);
  if (withAttention.length === 0) {
    const longest = [...chains].sort((a, b) => b.length - a.length)[0]!;
    if (chains.length > 1) doubt(`${chains.length} separate residual streams and none holds attention; using the longest, from '${view.nameOf(longest[0]!.node)}'`);
    return { stacks: [blocksOfChain(view, longest, sameShape)], notes, doubts };
  }
  const dropped = chains.filter((c) => attentionCount(c) === 0);
  if (dropped.length) notes.push(`${dropped.length} residual stream(s) without attention are not blocks (from ${dropped.map((c) => `'${view.nameOf(c[0]!.node)}'`).join(', ')})`);
  return { stacks: withAttention.map((c) => blocksOfChain(view, c, sameShape)), notes, doubts };
}

function attentionCount(chain: ResidualAdd[]): number {
  return chain.filter((r) => r.attention).length;
}

/**
 * Links residual Adds into chains: each residual's predecessor is the one whose stream output
 * (or post-LN norm exit) is its skip operand, through pass-through ops on the stream.
 */
function linkChains(view: GraphView, residuals: ResidualAdd[], sameShape: SameShape, doubt: (text: string) => void): ResidualAdd[][] {
  const byOutput = new Map<string, ResidualAdd>();
  for (const r of residuals) {
    byOutput.set(streamOrigin(view, r.output, sameShape), r);
    const exit = normConsumingOnly(view, streamCarried(view, r.output, sameShape))?.exit;
    if (exit) byOutput.set(streamOrigin(view, exit, sameShape), r);
  }
  const next = new Map<ResidualAdd, ResidualAdd>();
  const hasPrev = new Set<ResidualAdd>();
  for (const r of residuals) {
    const prev = byOutput.get(streamOrigin(view, r.skip, sameShape));
    if (!prev || prev === r) continue;
    if (next.has(prev)) {
      doubt(`residual Adds '${view.nameOf(next.get(prev)!.node)}' and '${view.nameOf(r.node)}' both continue the stream of '${view.nameOf(prev.node)}'; following the first`);
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
  return chains;
}

/** One chain of residual Adds cut into blocks: each self-attention residual starts a block. */
function blocksOfChain(view: GraphView, fullChain: ResidualAdd[], sameShape: SameShape): ChainBlocks {
  const notes: string[] = [];
  const doubts: string[] = [];
  const doubt = (text: string) => (notes.push(text), doubts.push(text));
  let chain = fullChain;
  const post = new Map<ResidualAdd, NormRegion | undefined>(chain.map((r) => [r, normConsumingOnly(view, streamCarried(view, r.output, sameShape))]));
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
    doubt('no residual branch holds a Softmax (no attention): every residual Add is taken as one block');
    residualsPerBlock = chain.map((r) => [r]);
  }

  // Post-LN when every residual but the last is read only by a norm (the last may be the
  // final norm of a pre-LN model); pre-LN when none is.
  const decisive = chain.length > 1 ? chain.slice(0, -1) : chain;
  const postCount = decisive.filter((r) => post.get(r)).length;
  let style: BlockStyle = postCount === decisive.length ? 'post-ln' : postCount === 0 ? 'pre-ln' : 'other';
  if (style === 'pre-ln' && !chain.some((r) => feedsNorm(view, r.skip))) {
    style = 'other';
    doubt('no residual branch starts with a norm: neither pre-LN nor post-LN');
  }
  if (chain.length === 1 && style === 'post-ln') notes.push('a single residual Add read only by a norm: taken as post-LN');
  if (style === 'other') doubt(`${postCount} of ${decisive.length} residual Adds are read only by a norm: neither pre-LN nor post-LN; block outputs are taken where the next block reads them`);

  const streams = [residualsPerBlock[0]![0]!.skip];
  residualsPerBlock.forEach((rs, i) => {
    const following = residualsPerBlock[i + 1]?.[0];
    if (following) {
      streams.push(following.skip);
      return;
    }
    const last = rs[rs.length - 1]!;
    const exit = post.get(last)?.exit;
    streams.push(style === 'post-ln' && exit ? exit : streamCarried(view, last.output, sameShape));
  });
  return { style, streams, residuals: residualsPerBlock, notes, doubts };
}
