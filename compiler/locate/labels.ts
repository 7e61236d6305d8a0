/**
 * Block labels from the name scopes exporters leave ('/encoder/layer.3/attention/...',
 * 'transformer.h.2.attn.c_attn.weight', '/model/layers.1/mlp/...', 'blocks.0.norm1'):
 * a word followed by a number that is the same across (most of) a block's names and
 * different, increasing, from block to block.
 */
const SCOPE = /(?:^|[/.:_])([A-Za-z][A-Za-z_]*?)[._](\d+)(?=$|[/._:])/g;

/** `opTypes`: words that are op names ('p2o.Shape.6', '/MatMul_1') number nodes, not scopes. */
export function blockLabels(namesPerBlock: string[][], opTypes: ReadonlySet<string> = new Set()): string[] | undefined {
  if (namesPerBlock.length === 0) return undefined;
  // Per block: for each scope word, the count of each index seen with it.
  const perBlock = namesPerBlock.map((names) => {
    const words = new Map<string, Map<number, number>>();
    for (const name of names) {
      for (const m of name.matchAll(SCOPE)) {
        const word = m[1]!;
        const counts = words.get(word) ?? new Map<number, number>();
        counts.set(Number(m[2]), (counts.get(Number(m[2])) ?? 0) + 1);
        words.set(word, counts);
      }
    }
    return words;
  });
  let best: { word: string; indices: number[]; support: number } | undefined;
  for (const word of perBlock[0]!.keys()) {
    if (opTypes.has(word)) continue;
    const indices: number[] = [];
    let support = 0;
    for (const words of perBlock) {
      const counts = words.get(word);
      if (!counts) break;
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const [index, count] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
      if (count * 2 <= total) break; // no dominant index: the number is not a block scope
      indices.push(index);
      support += count;
    }
    if (indices.length !== perBlock.length) continue;
    if (indices.some((v, i) => i > 0 && v <= indices[i - 1]!)) continue;
    if (!best || support > best.support) best = { word, indices, support };
  }
  if (!best) return undefined;
  const { word, indices } = best;
  // Keep the exporter's separator ('layer.3', 'h_2').
  return indices.map((i, k) => {
    const sample = namesPerBlock[k]!.map((n) => n.match(new RegExp(`${escape(word)}([._])${i}(?=$|[/._:])`))).find(Boolean);
    return `${word}${sample?.[1] ?? '.'}${i}`;
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
