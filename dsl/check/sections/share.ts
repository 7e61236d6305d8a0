/**
 * `share [A|B|both] [across] all | blocks 0..5 | names...`: a group of modules whose matrices
 * are shared. Names stay unclassified (sections vs module ids) until every section is read.
 */
import type { Word } from '../../ast.ts';
import type { ShareGroup, ShareMatrix } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';

export function readShare(r: SpecReader, e: Entry): ShareGroup | undefined {
  const values = [...e.values];
  let share: ShareMatrix = 'A';
  const first = values[0] ? r.deref(values[0]) : undefined;
  if (first?.kind === 'word' && !['across', 'all', 'blocks'].includes(first.name)) {
    const m = r.choice(values[0], 'matrix to share', ['A', 'B', 'both'] as const);
    if (!m) return undefined;
    share = m;
    values.shift();
  }
  const across = values[0];
  if (across?.kind === 'word' && across.name === 'across') values.shift();
  let group: ShareGroup;
  const head = values[0];
  if (values.length === 0 || (head?.kind === 'word' && head.name === 'all' && values.length === 1)) {
    group = { share, members: { kind: 'all' } };
  } else if (head?.kind === 'word' && head.name === 'blocks') {
    const blocks = r.selection(values.slice(1), values.length > 1 ? r.index.span(values[1]!.range, values[values.length - 1]!.range) : head.range);
    if (!blocks) return undefined;
    group = { share, members: { kind: 'blocks', blocks } };
  } else {
    const names: Word[] = [];
    for (const v of values) {
      if (v.kind === 'word') names.push(v);
      else r.error('bad-value', v.range, `\`${r.describe(v)}\` is not a module or section name`, 'write module ids (`b0, b1`), section names, `all`, or `blocks 0..5`');
    }
    if (names.length === 0) return undefined;
    group = { share, members: { kind: 'named', modules: [], sections: [] } };
    r.shareNames.set(group, names);
  }
  r.at.set(group, e.range);
  return group;
}
