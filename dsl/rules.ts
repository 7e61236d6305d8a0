/**
 * Semantic rules, run after the checker has read every setting. Like Langium's validation
 * registry: each rule is one small function over the draft Plan that reports what it finds.
 * Add a rule by writing a function and listing it in `rules`.
 */
import type { Diagnostic, Severity, SourceRange } from './diagnostics.ts';
import type { Draft } from './checker.ts';
import type { Lor2cModule, Plan, SfsMetric } from '../contract/plan.ts';
import { describeStacks, isConcrete, layoutModules, outOfRange, resolveBlocks, shareMembers, stackIndexer, unknownStacks, type Layout, type LayoutOrigin } from './resolve.ts';
import { didYouMean } from './suggest.ts';

export interface RuleContext {
  draft: Draft;
  /** The module layout when the block count is known (ModelFacts, or only explicit indices); computed once for every rule. */
  layout?: Layout;
  /** `layout.modules`. */
  modules?: Lor2cModule[];
  blockCount?: number;
  report(severity: Severity, code: string, range: SourceRange, message: string, hint?: string): void;
  /** Where a plan object was written; the spec's start when unknown. */
  at(object: object | undefined): SourceRange;
}

export type Rule = (ctx: RuleContext) => void;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** At most this many names in a hint's list, then how many more. */
const LISTED = 20;
const listed = (names: string[]) => (names.length > LISTED ? `${names.slice(0, LISTED).join(', ')}, and ${names.length - LISTED} more` : names.join(', '));

/** `let`s nobody uses are probably typos of the name at the use site. */
export const unusedLets: Rule = (ctx) => {
  for (const [name, binding] of ctx.draft.lets) {
    if (!binding.used) ctx.report('warning', 'unused-let', binding.name.range, `\`${name}\` is defined but never used`);
  }
};

/** With a model: every written block index, and every stack named, must exist. */
export const blocksWithinModel: Rule = (ctx) => {
  const count = ctx.draft.facts?.blockCount;
  if (count === undefined) return;
  const stacks = ctx.draft.facts?.stacks;
  for (const { selection, range } of ctx.draft.selections) {
    for (const name of unknownStacks(selection, count, stacks)) {
      const names = (stacks ?? [{ name: 'main' }]).map((s) => s.name);
      ctx.report('error', 'unknown-stack', range, `blocks name the stack \`${name}\`, which the model does not have`, `${didYouMean(name, names) ?? ''}${didYouMean(name, names) ? '; ' : ''}the model's stacks: ${describeStacks(count, stacks)}`);
    }
    const bad = outOfRange(selection, count, stacks);
    const across = bad.filter((r) => r.stack === undefined);
    if (across.length > 0) {
      const shown = across.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}..${r.to}`)).join(', ');
      ctx.report('error', 'block-out-of-range', range, `blocks ${shown} but the model has ${plural(count, 'block')}`, `valid blocks are 0..${count - 1} (or -${count}..-1 from the end)`);
    }
    for (const r of bad.filter((r) => r.stack !== undefined)) {
      const n = (stacks ?? [{ name: 'main', first: 0, count }]).find((s) => s.name === r.stack)!.count;
      const shown = r.from === r.to ? `${r.from}` : `${r.from}..${r.to}`;
      ctx.report('error', 'block-out-of-range', range, `blocks ${r.stack} ${shown} but the ${r.stack} stack has ${plural(n, 'block')}`, `valid ${r.stack} blocks are 0..${n - 1} (or -${n}..-1 from its end)`);
    }
  }
};

function originRange(ctx: RuleContext, origin: LayoutOrigin): SourceRange {
  const plan = ctx.draft.plan;
  if (origin.kind === 'static') return ctx.at(plan.merge?.static[origin.merge]);
  const section = plan.lor2c[origin.section];
  if (origin.kind === 'override') return ctx.at(section?.overrides[origin.override]);
  return ctx.at(section);
}

/** Module layout problems: overlapping spans, static merges that do not fit, spans cut short. */
export const moduleLayout: Rule = (ctx) => {
  if (!ctx.layout) return;
  for (const p of ctx.layout.problems) {
    // Out-of-range static merges are already reported by blocksWithinModel, with the model's count.
    if (p.code === 'block-out-of-range' && ctx.draft.facts) continue;
    ctx.report(p.severity, p.code, originRange(ctx, p.origin), p.message, p.hint);
  }
};

/** Sharing needs modules, and each module shares each matrix with at most one group. */
export const shareGroups: Rule = (ctx) => {
  const { plan } = ctx.draft;
  if (plan.share.length > 0 && plan.lor2c.length === 0) {
    ctx.report('error', 'share-without-modules', ctx.at(plan.share[0]), '`share` needs LoR2C modules, but there is no `lor2c` section', 'add `lor2c { ... }`');
    return;
  }
  const owner = { A: new Map<string, number>(), B: new Map<string, number>() };
  const known = ctx.modules ? new Set(ctx.modules.map((m) => m.id)) : undefined;
  const moduleById = new Map((ctx.modules ?? []).map((m) => [m.id, m] as const));
  plan.share.forEach((group, groupIndex) => {
    const range = ctx.at(group);
    const names = ctx.draft.shareNames.get(group) ?? [];
    if (group.members.kind === 'named') {
      const wordOf = new Map(names.map((n) => [n.name, n] as const));
      for (const id of group.members.modules) {
        const where = wordOf.get(id)?.range ?? range;
        const wellFormed = /^b\d+(_\d+)?$/.test(id);
        if ((known && !known.has(id)) || (!known && !wellFormed)) {
          const candidates = [...plan.lor2c.map((s) => s.name), ...(known ?? [])];
          const hint = ctx.draft.suggest.didYouMean(id, candidates) ?? (known ? `modules: ${listed([...known])}` : 'name modules by their blocks (`b3`, or `b0_1` for span 0..1) or name a `lor2c` section');
          ctx.report('error', 'unknown-module', where, `share group names \`${id}\`, which is no module or \`lor2c\` section`, hint);
        }
      }
    }
    if (!ctx.modules || ctx.blockCount === undefined) return;
    const members = shareMembers(group.members, ctx.modules, ctx.blockCount, ctx.draft.facts?.stacks).ids;
    if (members.length < 2) {
      ctx.report('warning', 'small-share-group', range, `this share group has ${plural(members.length, 'module')}; sharing needs two or more`);
    }
    for (const matrix of group.share === 'both' ? (['A', 'B'] as const) : [group.share]) {
      for (const id of members) {
        const earlier = owner[matrix].get(id);
        if (earlier !== undefined && earlier !== groupIndex) {
          ctx.report('error', 'shared-twice', range, `module ${id} already shares ${matrix} in another group`, `a module uses one ${matrix}: remove it from one of the groups`);
        }
        owner[matrix].set(id, groupIndex);
      }
    }
    const hidden = ctx.draft.facts?.hidden;
    if (hidden) {
      const widths = new Map<number, string[]>();
      for (const id of members) {
        const m = moduleById.get(id)!;
        const d = group.share === 'B' ? (hidden[m.span[1] + 1] ?? hidden[m.span[0]]) : hidden[m.span[0]];
        if (d === undefined) continue;
        widths.set(d, [...(widths.get(d) ?? []), id]);
      }
      if (widths.size > 1) {
        const shown = [...widths].map(([d, ids]) => `d=${d}: ${ids.join(', ')}`).join('; ');
        ctx.report('error', 'share-width-mismatch', range, `share ${group.share} across modules with different d (${shown})`, 'a shared matrix has one shape; group modules of equal width');
      }
    }
  });
};

/** `merge`, `inject` and `share` work on LoR2C modules; a spec should train something. */
export const adaptersPresent: Rule = (ctx) => {
  const { plan } = ctx.draft;
  if (plan.lor2c.length === 0) {
    if (plan.merge) ctx.report('error', 'merge-without-modules', ctx.at(plan.merge), '`merge` needs LoR2C modules, but there is no `lor2c` section', 'add `lor2c { ... }`');
    if (plan.inject) ctx.report('error', 'inject-without-modules', ctx.at(plan.inject), '`inject` needs LoR2C modules, but there is no `lor2c` section', 'add `lor2c { ... }`');
  }
  if (plan.lor2c.length === 0 && plan.lora.length === 0 && plan.train.trainable.length === 0) {
    ctx.report('warning', 'nothing-to-train', ctx.draft.plan.train ? ctx.at(plan.train) : ctx.at(undefined), 'nothing is trainable: no `lor2c`, no `lora`, no `trainable` pattern', 'add e.g. `lor2c { rank 8 }`');
  }
};

/** The first scheduled point must come before the end of training and before `until`. */
function checkFires(ctx: RuleContext, what: 'merge' | 'inject', s: { every: { count: number; unit: string }; until: number; everyDerived: boolean }, range: SourceRange): boolean {
  const total = ctx.draft.plan.train.length;
  if (s.every.unit !== total.unit) return true; // steps per epoch depend on the data set
  const first = s.every.count;
  const lastAllowed = s.until * total.count;
  const trainingLength = plural(total.count, total.unit.slice(0, -1));
  const lengthHint = ctx.draft.wroteLength ? '' : ` (training length defaults to ${trainingLength}; set \`epochs N\` or \`steps N\` in \`train { }\`)`;
  const everyHint = s.everyDerived ? 'set `every` (here derived from `max` as floor(E / 4 / max) + 1)' : 'make `every` shorter';
  // With the default length (none written) the CLI's --epochs/--steps may still change it: warn only.
  const severity = ctx.draft.wroteLength ? 'error' : 'warning';
  if (first >= total.count) {
    ctx.report(severity, `${what}-never-fires`, range, `this ${what} schedule never fires: the first point is after ${plural(first, s.every.unit.slice(0, -1))}, but training lasts ${trainingLength}`, `${everyHint} or train longer${lengthHint}`);
    return false;
  }
  if (first > lastAllowed) {
    ctx.report(severity, `${what}-never-fires`, range, `this ${what} schedule never fires: \`until ${+(s.until * 100).toFixed(4)}%\` ends at ${+lastAllowed.toFixed(4)} of ${trainingLength}, before the first point at ${first}`, `raise \`until\` or ${everyHint.replace('set', 'set a shorter')}${lengthHint}`);
    return false;
  }
  return true;
}

/** A merge schedule that cannot fire, or cannot find a pair to merge, is a mistake. */
export const mergeCanFire: Rule = (ctx) => {
  const merge = ctx.draft.plan.merge;
  const s = merge?.schedule;
  if (!merge || !s) return;
  const range = ctx.at(s);
  if (!checkFires(ctx, 'merge', s, ctx.at(s.every))) return;
  if (s.maxSpan !== undefined && s.maxSpan < 2) {
    ctx.report('error', 'merge-never-fires', range, `max_span ${s.maxSpan} allows no merge: merging two modules gives at least 2 blocks`, 'use `max_span 2` or more');
    return;
  }
  if (!ctx.modules) return;
  const maxSpan = s.maxSpan ?? Infinity;
  const pairs = ctx.modules.filter((m, i) => {
    const next = ctx.modules![i + 1];
    return next !== undefined && next.span[0] === m.span[1] + 1 && next.span[1] - m.span[0] + 1 <= maxSpan;
  });
  if (pairs.length === 0) {
    ctx.report('error', 'merge-never-fires', range, 'no two adjacent modules can merge', ctx.modules.length < 2 ? `there ${ctx.modules.length === 1 ? 'is 1 module' : 'are no modules'}` : 'modules merge only when one ends right before the next starts (within max_span)');
    return;
  }
  const possible = ctx.modules.length - 1;
  if (s.max !== undefined && s.max > possible && s.maxSpan === undefined) {
    ctx.report('warning', 'merge-max-unreachable', range, `at most ${plural(possible, 'merge')} can happen with ${plural(ctx.modules.length, 'module')}, not ${s.max}`);
  }
};

const halfRankHint = 'set `rank` in `inject { }`, or use even LoR2C ranks';

/** Injected LoRA defaults to half the removed module's rank, which must then be even. */
export const injectRank: Rule = (ctx) => {
  const { plan } = ctx.draft;
  const inject = plan.inject;
  if (!inject) return;
  checkFires(ctx, 'inject', inject, ctx.at(inject.every));
  if (inject.rank !== undefined) return;
  const odd = ctx.modules
    ? ctx.modules.filter((m) => m.rank % 2 !== 0).map((m) => `${m.id} has rank ${m.rank}`)
    : plan.lor2c.flatMap((s) => [
        ...(s.rank % 2 !== 0 ? [`\`${s.name}\` has rank ${s.rank}`] : []),
        ...s.overrides.filter((o) => o.rank !== undefined && o.rank % 2 !== 0).map((o) => `an override in \`${s.name}\` sets rank ${o.rank}`),
      ]);
  if (odd.length > 0) {
    ctx.report('error', 'odd-inject-rank', ctx.at(inject), `inject defaults to rank r/2, but ${odd.slice(0, 3).join(', ')}${odd.length > 3 ? `, and ${odd.length - 3} more` : ''}`, halfRankHint);
  }
  if (ctx.modules && inject.max !== undefined && inject.max > ctx.modules.length) {
    ctx.report('warning', 'inject-max-unreachable', ctx.at(inject), `at most ${plural(ctx.modules.length, 'module')} can be injected, not ${inject.max}`);
  }
};

/** With a model: the projection roles used must exist in it. */
export const projectionsExist: Rule = (ctx) => {
  const available = ctx.draft.facts?.projections;
  if (!available) return;
  const { plan } = ctx.draft;
  const lists = [...plan.lora.map((s) => ({ targets: s.targets, range: ctx.at(s.targets) })), ...(plan.inject ? [{ targets: plan.inject.targets, range: ctx.at(plan.inject.targets) }] : [])];
  for (const { targets, range } of lists) {
    for (const t of targets) {
      if (t.kind === 'role' && !available.includes(t.role)) {
        ctx.report('error', 'unknown-projection', range, `the model has no \`${t.role}\` projection`, `found: ${available.join(', ') || 'none'}`);
      }
    }
  }
};

/** Warmup and evaluation intervals should fit inside training. */
export const trainingFits: Rule = (ctx) => {
  const train = ctx.draft.plan.train;
  const w = train.schedule.warmup;
  if (w.unit === 'steps' && train.length.unit === 'steps' && w.count >= train.length.count) {
    ctx.report('warning', 'warmup-too-long', ctx.at(train.schedule), `warmup of ${w.count} steps is not shorter than training (${train.length.count} steps)`);
  }
  const e = train.evalEvery;
  if (e && e.unit === train.length.unit && e.count > train.length.count) {
    ctx.report('warning', 'eval-never-runs', ctx.at(e), `eval every ${plural(e.count, e.unit.slice(0, -1))} never runs in ${plural(train.length.count, train.length.unit.slice(0, -1))}`);
  }
};

/** Metric k larger than the rank sums every singular value: top-k SFS is then always 1. */
export const topkWithinRank: Rule = (ctx) => {
  const { plan } = ctx.draft;
  const check = (metric: SfsMetric | undefined, range: SourceRange) => {
    if (metric?.kind !== 'topk') return;
    const ranks = ctx.modules?.map((m) => m.rank) ?? plan.lor2c.map((s) => s.rank);
    const low = ranks.filter((r) => metric.k >= r);
    if (low.length > 0) ctx.report('warning', 'topk-covers-rank', range, `topk ${metric.k} is not below rank ${Math.min(...low)}: the SFS is then always 1 and cannot rank modules`);
  };
  if (plan.merge?.schedule) check(plan.merge.schedule.metric, ctx.at(plan.merge.schedule));
  if (plan.inject) check(plan.inject.metric, ctx.at(plan.inject));
};

/**
 * A twin stack (one encoder run on two inputs, its weights read by both) computes what its twin
 * does only while both are changed alike. Adapters on both are separate parameters, trained
 * apart, so a section adapting both towers unties them: say so, with what each choice means.
 */
export const twinStacksUntied: Rule = (ctx) => {
  const stacks = ctx.draft.facts?.stacks;
  const count = ctx.blockCount;
  if (!stacks || count === undefined) return;
  const stackOf = stackIndexer(stacks);
  const sections: Array<{ section: object; name: string; kind: string; blocks: number[] }> = [
    ...ctx.draft.plan.lor2c.map((section) => ({ section, name: section.name, kind: 'LoR2C modules', blocks: (ctx.modules ?? []).filter((m) => m.section === section.name).map((m) => m.span[0]) })),
    ...ctx.draft.plan.lora.map((section) => ({ section, name: section.name, kind: 'LoRA', blocks: resolveBlocks(section.blocks, count, stacks) })),
  ];
  for (const { section, name, kind, blocks } of sections) {
    const touched = new Set(blocks.map(stackOf));
    for (const s of stacks) {
      if (!s.twinOf || !touched.has(s.name) || !touched.has(s.twinOf)) continue;
      ctx.report('warning', 'twin-stacks-untied', ctx.at(section),
        `\`${name}\` puts ${kind} on both the ${s.twinOf} and the ${s.name} stack, which read the same weights block for block (one encoder run on two inputs): each stack gets its own adapters, trained apart, so the two towers stop computing the same function`,
        `lor2c does not tie adapters across stacks; to adapt one tower only, select its blocks (\`blocks ${s.twinOf}\`); to keep the towers alike, export the encoder once and run it on each input`);
    }
  }
};

/** Every rule, in the order they run. */
export const rules: Rule[] = [unusedLets, blocksWithinModel, moduleLayout, shareGroups, adaptersPresent, mergeCanFire, injectRank, projectionsExist, trainingFits, topkWithinRank, twinStacksUntied];

export interface RulesResult {
  diagnostics: Diagnostic[];
  /** The module layout the rules checked, when the block count is known. */
  layout?: Layout;
  /** The checked plan: the draft's, with `modules` when the layout has no errors; a new object, the draft's plan left as it was. */
  plan: Plan;
}

/** The block count the layout is known for: the model's, or the highest explicit index when only explicit indices are written. */
function knownBlockCount(draft: Draft): number | undefined {
  const { plan } = draft;
  if (draft.facts?.blockCount !== undefined) return draft.facts.blockCount;
  if (plan.lor2c.length === 0) return undefined;
  const explicit = plan.lor2c.every((s) => isConcrete(s.blocks) && s.overrides.every((o) => (o.blocks.ranges ?? []).every((r) => r.stack === undefined))) && (plan.merge?.static ?? []).every((r) => r.from >= 0 && r.to >= 0);
  if (!explicit) return undefined;
  // Only explicit indices: the layout is known without a model (blocks beyond the last index are irrelevant).
  const indices = [...plan.lor2c.flatMap((s) => (s.blocks.ranges ?? []).map((r) => r.to)), ...(plan.merge?.static ?? []).map((r) => r.to)];
  return indices.length > 0 ? Math.max(...indices) + 1 : 0;
}

/**
 * Runs every rule over the draft, which it leaves as it is (rules only read and report); lays
 * the modules out once, first, when the block count is known, and returns the checked plan as
 * a new object that holds them.
 */
export function runRules(draft: Draft, index: { range(offset: number, length: number): SourceRange }): RulesResult {
  const diagnostics: Diagnostic[] = [];
  const { plan } = draft;
  const blockCount = knownBlockCount(draft);
  const layout = blockCount === undefined ? undefined : layoutModules(plan.lor2c, plan.merge?.static ?? [], blockCount, draft.facts?.stacks);
  const ctx: RuleContext = {
    draft,
    ...(blockCount !== undefined ? { blockCount } : {}),
    ...(layout ? { layout, modules: layout.modules } : {}),
    report: (severity, code, range, message, hint) => diagnostics.push(hint === undefined ? { severity, code, message, range } : { severity, code, message, hint, range }),
    at: (o) => (o && draft.at.get(o)) || index.range(0, 0),
  };
  for (const rule of rules) {
    try {
      rule(ctx);
    } catch (e) {
      // A rule bug must not hide the other diagnostics or crash `lor2c check`.
      diagnostics.push({ severity: 'error', code: 'internal', message: `internal error in rule ${rule.name}: ${(e as Error).message}`, hint: 'please report this', range: index.range(0, 0) });
    }
  }
  const modules = layout && !layout.problems.some((p) => p.severity === 'error') ? { modules: layout.modules } : {};
  const checked: Plan = { ...plan, ...modules };
  return layout ? { diagnostics, layout, plan: checked } : { diagnostics, plan: checked };
}
