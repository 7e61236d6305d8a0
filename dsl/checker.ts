/**
 * AST -> Plan: reads every setting against the schema of the section it is in, fills in
 * defaults, and then runs the semantic rules (dsl/rules.ts) over the result.
 *
 * Reading never stops at the first problem: a wrong value is reported and the default kept, so
 * one run reports everything. Nothing here throws for any input.
 *
 * Layout: check/schema.ts declares settings as data (value types, sections); check/reader.ts
 * holds the reading machinery (`let`s, value readers, the side tables); check/sections/ one
 * schema per section (its settings, defaults and docs in one place); check/homes.ts where
 * each key goes, derived from them. This file assembles the sections into a Plan.
 */
import type { SpecFile, Word } from './ast.ts';
import { KEY_HOMES } from './check/homes.ts';
import { SpecReader, type LetBinding, type SelectionAt } from './check/reader.ts';
import { readSection } from './check/schema.ts';
import { emptyTop, TOP, type TopDraft } from './check/sections/top.ts';
import type { Diagnostic, LineIndex, SourceRange } from './diagnostics.ts';
import type { Suggester } from './suggest.ts';
import { PLAN_VERSION, type Interval, type MergePlan, type ModelFacts, type Plan, type ShareGroup, type TrainPlan } from '../contract/plan.ts';

export { defaultTrain } from './check/sections/train/train.ts';
export type { Entry, SelectionAt } from './check/reader.ts';

/** The Plan being built, plus where each part came from (for the rules' diagnostics). */
export interface Draft {
  plan: Plan;
  file: string;
  facts?: ModelFacts;
  /** Source ranges of plan objects (sections, selections, share groups, schedules...). */
  at: Map<object, SourceRange>;
  /** Every block selection and static merge written, for range checks against the model. */
  selections: SelectionAt[];
  /** Share groups as written: names still unclassified (sections vs module ids). */
  shareNames: Map<ShareGroup, Word[]>;
  lets: Map<string, LetBinding>;
  suggest: Suggester;
  /** True when any setting of the training length was written (so derived values are meaningful). */
  wroteLength: boolean;
}

export class Checker {
  readonly diagnostics: Diagnostic[];
  private readonly reader: SpecReader;
  private readonly top: TopDraft = emptyTop();

  constructor(index: LineIndex, file: string) {
    this.reader = new SpecReader(index, file, KEY_HOMES);
    this.diagnostics = this.reader.diagnostics;
  }

  read(ast: SpecFile): void {
    readSection(this.reader, TOP, this.top, { items: ast.items });
  }

  /**
   * A schedule with its derived interval filled in: the GLUE script's (docs/method.md §4) every
   * floor(E / 4 / M) + 1, in the training length's unit, known once the length is. A new object,
   * found where the one read was written.
   */
  private derived<S extends { every: Interval; everyDerived: boolean; max?: number }>(s: S, train: TrainPlan): S {
    if (!s.everyDerived || s.max === undefined) return s;
    const every: Interval = { count: Math.floor(train.length.count / 4 / s.max) + 1, unit: train.length.unit };
    const out = { ...s, every };
    this.reader.copyAt(s, out);
    this.reader.copyAt(s.every, every);
    return out;
  }

  private derivedMerge(merge: MergePlan, train: TrainPlan): MergePlan {
    const schedule = merge.schedule && this.derived(merge.schedule, train);
    if (schedule === merge.schedule) return merge;
    const out = { ...merge, schedule };
    this.reader.copyAt(merge, out);
    return out;
  }

  /** The Plan and its side tables, with derived schedule intervals filled in; the model's facts are added by whoever has them. */
  draft(): Draft {
    const r = this.reader;
    const top = this.top;
    for (const [group, names] of r.shareNames) {
      if (group.members.kind !== 'named') continue;
      for (const n of names) {
        if (top.lor2cNames.has(n.name)) group.members.sections.push(n.name);
        else group.members.modules.push(n.name);
      }
    }
    const plan: Plan = {
      planVersion: PLAN_VERSION,
      ...(top.model !== undefined ? { model: top.model } : {}),
      blocks: top.blocks,
      lor2c: top.lor2c,
      lora: top.lora,
      share: top.share,
      ...(top.merge ? { merge: this.derivedMerge(top.merge, top.train) } : {}),
      ...(top.inject ? { inject: this.derived(top.inject, top.train) } : {}),
      train: top.train,
      target: top.target,
      ...(top.text ? { text: top.text } : {}),
    };
    return {
      plan,
      file: r.file,
      at: r.at,
      selections: r.selections,
      shareNames: r.shareNames,
      lets: r.lets,
      suggest: r.suggest,
      wroteLength: top.wroteLength,
    };
  }
}
