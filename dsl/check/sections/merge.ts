/** `merge { ... }`: static merges before training, and/or SFS-driven merges during it. */
import type { BlockRange, BlockSelection, MergeInit, MergePlan } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { choice, defaultsOf, int, readSection, section, settingsOf } from '../schema.ts';
import { finishSchedule, SCHEDULE, wroteSchedule, type ScheduleDraft } from './sfs-schedule.ts';

type MergeDraft = ScheduleDraft & { static: BlockRange[]; init: MergeInit; maxSpan?: number };
const s = settingsOf<MergeDraft>();

export const MERGE = section<MergeDraft>('`merge { }`', {
  static: s.custom({ doc: 'spans merged before training (repeatable)', field: 'static', default: [], expected: 'block ranges like `0..1, 4..6`', repeat: true, read: readStatic }),
  init: s.value('init', choice(['first', 'svd']), { doc: 'how a merged module starts: the first module\'s A and B, or the SVD of their sum', default: 'first', what: 'merge init' }),
  ...SCHEDULE,
  max_span: s.value('maxSpan', int({ min: 1 }), { doc: 'a scheduled merge makes modules of at most this many blocks', expected: 'a whole number of blocks', what: 'max_span', locatesTarget: true }),
});

function readStatic(r: SpecReader, x: Entry, merge: MergeDraft): void {
  if (x.values.length === 0) r.error('missing-value', x.key.range, '`static` needs spans to merge, e.g. `static 0..1, 4..6`');
  for (const raw of x.values) {
    const v = r.deref(raw);
    if (v.kind !== 'range') {
      r.error('bad-value', raw.range, `a static merge is a range of blocks like \`0..1\`, not \`${r.describe(v)}\``);
      continue;
    }
    const from = r.number(v.from, { what: 'a block index', integer: true });
    const to = r.number(v.to, { what: 'a block index', integer: true });
    if (from === undefined || to === undefined) continue;
    if (Math.sign(from) === Math.sign(to) && from >= to) {
      r.error('bad-range', raw.range, `a static merge spans two or more blocks; ${from}..${to} does not`);
      continue;
    }
    const range: BlockRange = { from, to };
    merge.static.push(range);
    r.at.set(range, raw.range);
    const selection: BlockSelection = { ranges: [range], every: 1 };
    r.selections.push({ selection, range: raw.range });
  }
}

export function readMerge(r: SpecReader, e: Entry): MergePlan {
  const draft = defaultsOf(MERGE) as MergeDraft;
  const ctx = readSection(r, MERGE, draft, { items: e.body?.items ?? [] });
  const merge: MergePlan = { static: draft.static, init: draft.init };
  const wrote = wroteSchedule(ctx, ['max_span']);
  const built = wrote ? finishSchedule(r, draft, e, 'merge') : undefined;
  if (built) {
    merge.schedule = { ...built, ...(draft.maxSpan !== undefined ? { maxSpan: draft.maxSpan } : {}) };
    r.copyAt(draft, merge.schedule);
  }
  if (!wrote && merge.static.length === 0) {
    r.error('empty-merge', e.key.range, '`merge` says neither what nor when to merge', 'add `static 0..1` for a merge before training, or `every 1 epoch` / `max 4` for SFS-driven merges');
  }
  r.at.set(merge, e.key.range);
  return merge;
}
