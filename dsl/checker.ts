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
import { PLAN_VERSION, type ModelFacts, type Plan, type ShareGroup } from '../contract/plan.ts';

export { DEFAULTS } from './check/defaults.ts';
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
      ...(top.merge ? { merge: top.merge } : {}),
      ...(top.inject ? { inject: top.inject } : {}),
      train: top.train,
      target: top.target,
      ...(top.text ? { text: top.text } : {}),
    };
    // GLUE script (docs/method.md §4): every floor(E / 4 / M) + 1 epochs, in the training length's unit.
    for (const s of [plan.merge?.schedule, plan.inject]) {
      if (!s || !s.everyDerived || s.max === undefined) continue;
      const total = plan.train.length;
      s.every.count = Math.floor(total.count / 4 / s.max) + 1;
      s.every.unit = total.unit;
    }
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
