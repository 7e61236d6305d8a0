/** Top-level `blocks auto | pattern "...{i}..." | boundaries [...], [...]`: how the model's blocks are found. */
import type { BlockDiscovery } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';

export function readBlocksDiscovery(r: SpecReader, e: Entry): BlockDiscovery | undefined {
  const mode = r.choice(e.values[0], 'block discovery', ['auto', 'pattern', 'boundaries'] as const);
  if (!e.values[0]) {
    r.error('missing-value', e.key.range, '`blocks` needs how to find them: `auto`, `pattern "...{i}..."` or `boundaries [...]`');
    return undefined;
  }
  if (!mode) {
    const first = r.deref(e.values[0]);
    if (first.kind === 'number' || first.kind === 'range' || (first.kind === 'word' && first.name === 'all')) {
      // Replace the generic message with the likely intent.
      r.diagnostics.pop();
      r.error('bad-value', e.values[0].range, 'top-level `blocks` says how blocks are found, not which get modules', 'write `blocks auto` here, and choose blocks inside `lor2c { blocks 0..11 }`');
    }
    return undefined;
  }
  let blocks: BlockDiscovery;
  if (mode === 'auto') {
    r.noExtra(e, 1);
    blocks = { kind: 'auto' };
  } else if (mode === 'pattern') {
    r.noExtra(e, 2);
    const pattern = r.string(e.values[1], 'the block pattern');
    if (!e.values[1]) r.error('missing-value', e.values[0].range, '`pattern` needs a node-name pattern with `{i}`, e.g. `"/encoder/layer.{i}/*"`');
    if (pattern === undefined) return undefined;
    if (!pattern.includes('{i}')) {
      r.error('bad-value', e.values[1]!.range, 'the block pattern must contain `{i}` where the block index goes', 'e.g. "/encoder/layer.{i}/*"');
      return undefined;
    }
    blocks = { kind: 'pattern', pattern };
  } else {
    // One list per stack (`boundaries ["e0", "e1"], ["d0", "d1"]`), or the names of one stack unbracketed.
    const values = e.values.slice(1).map((v) => r.deref(v));
    const lists = values.some((v) => v.kind === 'list') ? values : [{ kind: 'list' as const, items: e.values.slice(1), range: e.range }];
    const streams: string[][] = [];
    let ok = true;
    for (const list of lists) {
      if (list.kind !== 'list') {
        r.error('bad-value', list.range, 'with several stacks, each stack\'s boundaries are a list of their own', 'e.g. `boundaries ["enc_in", "enc_0", "enc_1"], ["dec_in", "dec_0", "dec_1"]`');
        ok = false;
        continue;
      }
      const tensors: string[] = [];
      for (const raw of list.items) {
        const name = r.string(raw, 'a boundary tensor name');
        if (name === undefined) ok = false;
        else tensors.push(name);
      }
      if (tensors.length < 2 && ok) {
        r.error('bad-value', lists.length > 1 ? list.range : e.range, '`boundaries` lists L+1 tensors per stack: the stream entering its first block, then each block output', 'e.g. `boundaries ["embeddings", "layer0_out", "layer1_out"]` for 2 blocks');
        ok = false;
      }
      streams.push(tensors);
    }
    if (!ok) return undefined;
    blocks = { kind: 'boundaries', streams };
  }
  r.at.set(blocks, e.range);
  return blocks;
}
