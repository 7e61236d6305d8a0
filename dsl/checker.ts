/**
 * AST -> Plan: reads every setting against the schema of the section it is in, fills in
 * defaults, and then runs the semantic rules (dsl/rules.ts) over the result.
 *
 * Reading never stops at the first problem: a wrong value is reported and the default kept, so
 * one run reports everything. Nothing here throws for any input.
 *
 * Layout: check/reader.ts holds the reading machinery (schemas, `let`s, value readers, the side
 * tables); check/sections/ one reader per section; check/defaults.ts the defaults. This file
 * assembles the sections into a Plan.
 */
import type { SpecFile, Word } from './ast.ts';
import { assign, SpecReader, type LetBinding, type Schema, type SelectionAt } from './check/reader.ts';
import { SectionNames } from './check/sections/adapter.ts';
import { readBlocksDiscovery } from './check/sections/blocks.ts';
import { readInject } from './check/sections/inject.ts';
import { readLor2c } from './check/sections/lor2c.ts';
import { readLora } from './check/sections/lora.ts';
import { readMerge } from './check/sections/merge.ts';
import { readModel } from './check/sections/model.ts';
import { readShare } from './check/sections/share.ts';
import { readTarget } from './check/sections/target.ts';
import { readText } from './check/sections/text.ts';
import { defaultTrain, readTrain } from './check/sections/train/train.ts';
import type { Diagnostic, LineIndex, SourceRange } from './diagnostics.ts';
import type { Suggester } from './suggest.ts';
import {
  PLAN_VERSION,
  type BlockDiscovery,
  type InjectPlan,
  type LoraSection,
  type Lor2cSection,
  type MergePlan,
  type ModelFacts,
  type Plan,
  type ShareGroup,
  type TargetPlan,
  type TextPlan,
  type TrainPlan,
} from '../contract/plan.ts';

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

  private model: string | undefined;
  private blocks: BlockDiscovery = { kind: 'auto' };
  private readonly lor2c: Lor2cSection[] = [];
  private readonly lora: LoraSection[] = [];
  private readonly lor2cNames = new SectionNames();
  private readonly loraNames = new SectionNames();
  private readonly share: ShareGroup[] = [];
  private merge: MergePlan | undefined;
  private inject: InjectPlan | undefined;
  private train: TrainPlan = defaultTrain();
  private target: TargetPlan = { device: 'cpu' };
  private text: TextPlan | undefined;
  private wroteLength = false;

  constructor(index: LineIndex, file: string) {
    this.reader = new SpecReader(index, file);
    this.diagnostics = this.reader.diagnostics;
  }

  read(ast: SpecFile): void {
    const r = this.reader;
    const top: Schema = {
      model: { read: (e) => assign(readModel(r, e), (m) => (this.model = m)) },
      blocks: { read: (e) => assign(readBlocksDiscovery(r, e), (b) => (this.blocks = b)) },
      lor2c: { repeat: true, body: 'optional', read: (e) => this.lor2c.push(readLor2c(r, e, this.lor2cNames)) },
      lora: { repeat: true, body: 'optional', read: (e) => this.lora.push(readLora(r, e, this.loraNames)) },
      share: { repeat: true, read: (e) => assign(readShare(r, e), (g) => this.share.push(g)) },
      merge: { body: 'required', read: (e) => (this.merge = readMerge(r, e)) },
      inject: { body: 'optional', read: (e) => assign(readInject(r, e), (i) => (this.inject = i)) },
      train: {
        body: 'required',
        // Not repeatable, so read at most once: it replaces the defaults whole.
        read: (e) => {
          const read = readTrain(r, e);
          this.train = read.train;
          this.wroteLength = read.wroteLength;
        },
      },
      target: { read: (e) => assign(readTarget(r, e), (t) => (this.target = t)) },
      text: { body: 'required', read: (e) => assign(readText(r, e), (t) => (this.text = t)) },
    };
    r.readItems(ast.items, top, 'the top level');
  }

  /** The Plan and its side tables, with derived schedule intervals filled in; the model's facts are added by whoever has them. */
  draft(): Draft {
    const r = this.reader;
    for (const [group, names] of r.shareNames) {
      if (group.members.kind !== 'named') continue;
      for (const n of names) {
        if (this.lor2cNames.has(n.name)) group.members.sections.push(n.name);
        else group.members.modules.push(n.name);
      }
    }
    const plan: Plan = {
      planVersion: PLAN_VERSION,
      ...(this.model !== undefined ? { model: this.model } : {}),
      blocks: this.blocks,
      lor2c: this.lor2c,
      lora: this.lora,
      share: this.share,
      ...(this.merge ? { merge: this.merge } : {}),
      ...(this.inject ? { inject: this.inject } : {}),
      train: this.train,
      target: this.target,
      ...(this.text ? { text: this.text } : {}),
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
      wroteLength: this.wroteLength,
    };
  }
}
