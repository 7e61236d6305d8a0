/** `inject { ... }`: SFS-driven injection of LoRA modules during training. */
import type { InjectPlan, ProjectionTarget } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { defaultsOf, readSection, section, settingsOf, targets } from '../schema.ts';
import { QV, SHAPE } from './adapter.ts';
import { finishSchedule, SCHEDULE, type ScheduleDraft } from './sfs-schedule.ts';

type InjectDraft = ScheduleDraft & { rank?: number; alpha?: number; dropout?: number; targets: ProjectionTarget[] };
const s = settingsOf<InjectDraft>();

export const INJECT = section<InjectDraft>('`inject { }`', {
  ...SCHEDULE,
  // Absent: half the removed module's rank, its alpha, its dropout.
  ...SHAPE,
  on: s.value('targets', targets(), { doc: 'the projections injected LoRA adapts', default: QV, located: true }),
});

export function readInject(r: SpecReader, e: Entry): InjectPlan | undefined {
  const draft = defaultsOf(INJECT) as InjectDraft;
  readSection(r, INJECT, draft, { items: e.body?.items ?? [] });
  const built = finishSchedule(r, draft, e, 'inject');
  if (!built) return undefined;
  const inject: InjectPlan = {
    ...built,
    targets: draft.targets,
    ...(draft.rank !== undefined ? { rank: draft.rank } : {}),
    ...(draft.alpha !== undefined ? { alpha: draft.alpha } : {}),
    ...(draft.dropout !== undefined ? { dropout: draft.dropout } : {}),
  };
  r.copyAt(built, inject);
  r.copyAt(built.every, inject.every);
  r.at.set(inject, e.key.range);
  return inject;
}
