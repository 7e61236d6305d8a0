/**
 * Applying symbolic block choices to a known block count: which blocks a selection means,
 * which LoR2C modules a layout produces, and a whole Plan resolved. Pure functions, never throw;
 * problems come back as values so the checker can point at the text that caused them.
 */
import type { BlockRange, BlockSelection, Lor2cModule, Lor2cSection, Plan, ResolvedLoraSite, ResolvedPlan, StackExtent } from '../contract/plan.ts';

/** Every block. */
export const ALL_BLOCKS: BlockSelection = { every: 1 };

/** True when the selection needs no model: explicit non-negative indices across all blocks only, no `every` over all. */
export function isConcrete(selection: BlockSelection): boolean {
  return selection.ranges !== undefined && selection.ranges.every((r) => r.stack === undefined && r.from >= 0 && r.to >= 0);
}

function absolute(index: number, blockCount: number): number {
  return index < 0 ? blockCount + index : index;
}

/**
 * The blocks a range counts within: its stack's (the model's stacks, or one `main` stack of
 * every block when they are not given), or all of them. Undefined: the model has no such stack.
 */
function extentOf(range: BlockRange, blockCount: number, stacks: StackExtent[] | undefined): { first: number; count: number } | undefined {
  if (range.stack === undefined) return { first: 0, count: blockCount };
  return (stacks ?? [{ name: 'main', first: 0, count: blockCount }]).find((s) => s.name === range.stack);
}

/** The stacks a selection names that the model does not have. */
export function unknownStacks(selection: BlockSelection, blockCount: number, stacks?: StackExtent[]): string[] {
  return [...new Set((selection.ranges ?? []).filter((r) => !extentOf(r, blockCount, stacks)).map((r) => r.stack!))];
}

/**
 * The selected block indices, ascending and unique; indices outside their stack (or outside
 * 0..blockCount-1) and stacks the model lacks are dropped (see `outOfRange`, `unknownStacks`).
 */
export function resolveBlocks(selection: BlockSelection, blockCount: number, stacks?: StackExtent[]): number[] {
  const chosen = new Set<number>();
  const count = Math.max(0, Math.floor(blockCount));
  /** The blocks chosen within a stack with its own `every`, by stack name. */
  const perStack = new Map<string, Set<number>>();
  if (selection.ranges === undefined) {
    for (let i = 0; i < count; i++) chosen.add(i);
  } else {
    for (const r of selection.ranges) {
      const extent = extentOf(r, count, stacks);
      if (!extent) continue;
      const own = r.stack !== undefined && selection.stackEvery?.[r.stack] !== undefined;
      const into = own ? (perStack.get(r.stack!) ?? perStack.set(r.stack!, new Set()).get(r.stack!)!) : chosen;
      const from = absolute(r.from, extent.count);
      const to = absolute(r.to, extent.count);
      for (let i = Math.max(0, from); i <= Math.min(to, extent.count - 1); i++) into.add(extent.first + i);
    }
  }
  for (const [stack, blocks] of perStack) everyKth([...blocks], selection.stackEvery![stack]!).forEach((b) => chosen.add(b));
  return everyKth([...chosen], selection.every);
}

/** Every k-th of the blocks, ascending, starting with the first. */
function everyKth(blocks: number[], k: number): number[] {
  const every = Math.max(1, Math.floor(k) || 1);
  return blocks.sort((a, b) => a - b).filter((_, position) => position % every === 0);
}

/** The ranges of a selection that reach outside their stack (or 0..blockCount-1); ranges of unknown stacks are `unknownStacks`'. */
export function outOfRange(selection: BlockSelection, blockCount: number, stacks?: StackExtent[]): BlockRange[] {
  return (selection.ranges ?? []).filter((r) => {
    const extent = extentOf(r, blockCount, stacks);
    if (!extent) return false;
    const from = absolute(r.from, extent.count);
    const to = absolute(r.to, extent.count);
    return from < 0 || to < 0 || from >= extent.count || to >= extent.count;
  });
}

/** The model's stacks as a reader wants them: `encoder (blocks 0..5), decoder (6..11)`. */
export function describeStacks(blockCount: number, stacks?: StackExtent[]): string {
  const list = stacks ?? [{ name: 'main', first: 0, count: blockCount }];
  return list.map((s, i) => `${s.name} (${i === 0 ? 'blocks ' : ''}${s.first}..${s.first + s.count - 1})`).join(', ');
}

/** The name of the stack holding a block (undefined when the stacks are not known: one stream). */
export function stackIndexer(stacks: StackExtent[] | undefined): (block: number) => string | undefined {
  return (block) => stacks?.find((s) => block >= s.first && block < s.first + s.count)?.name;
}

/** Overlapping pairs of sections reported one by one; a spec has a handful of sections. */
const MAX_REPORTED_OVERLAPS = 20;

export function moduleId(start: number, end: number): string {
  return start === end ? `b${start}` : `b${start}_${end}`;
}

/** Where a layout problem comes from, so the checker can underline it. */
export type LayoutOrigin = { kind: 'section'; section: number } | { kind: 'override'; section: number; override: number } | { kind: 'static'; merge: number };

export interface LayoutProblem {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  hint?: string;
  origin: LayoutOrigin;
}

export interface Layout {
  modules: Lor2cModule[];
  problems: LayoutProblem[];
}

/**
 * Cuts the selected blocks into runs of consecutive blocks of one stack (a LoR2C path bypasses
 * one residual stream, so a run ends where a stack does), and each run into spans of `span`.
 */
function tile(blocks: number[], span: number, stackOf: (block: number) => string | undefined): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let runStart = 0;
  for (let i = 0; i <= blocks.length; i++) {
    const runEnds = i === blocks.length || (i > runStart && (blocks[i] !== blocks[i - 1]! + 1 || stackOf(blocks[i]!) !== stackOf(blocks[i - 1]!)));
    if (!runEnds) continue;
    const run = blocks.slice(runStart, i);
    for (let k = 0; k < run.length; k += span) {
      const piece = run.slice(k, k + span);
      spans.push([piece[0]!, piece[piece.length - 1]!]);
    }
    runStart = i;
  }
  return spans;
}

/**
 * The concrete modules of the `lor2c` sections for `blockCount` blocks: tiling, overrides,
 * then the static merges (`mergeInit` only matters to the compiler; a merged module takes the
 * rank, alpha, dropout and init of its first part, §4).
 */
export function layoutModules(sections: Lor2cSection[], staticMerges: BlockRange[], blockCount: number, stacks?: StackExtent[]): Layout {
  const problems: LayoutProblem[] = [];
  const modules: Lor2cModule[] = [];
  const stackOf = stackIndexer(stacks);
  sections.forEach((section, sectionIndex) => {
    const span = Math.max(1, Math.floor(section.span) || 1);
    const blocks = resolveBlocks(section.blocks, blockCount, stacks);
    if (blocks.length === 0) {
      problems.push({ severity: 'warning', code: 'empty-selection', message: `\`${section.name}\` selects no blocks, so it adds no modules`, origin: { kind: 'section', section: sectionIndex } });
    }
    const overrideBlocks = section.overrides.map((o) => new Set(resolveBlocks(o.blocks, blockCount, stacks)));
    const overrideUsed = section.overrides.map(() => false);
    for (const [start, end] of tile(blocks, span, stackOf)) {
      const m: Lor2cModule = { id: moduleId(start, end), section: section.name, span: [start, end], rank: section.rank, alpha: section.alpha, dropout: section.dropout, init: section.init };
      section.overrides.forEach((o, i) => {
        if (!overrideBlocks[i]!.has(start)) return;
        overrideUsed[i] = true;
        if (o.rank !== undefined) m.rank = o.rank;
        if (o.alpha !== undefined) m.alpha = o.alpha;
        if (o.dropout !== undefined) m.dropout = o.dropout;
      });
      if (end - start + 1 < span) {
        problems.push({
          severity: 'warning',
          code: 'short-span',
          message: `module ${m.id} covers ${end - start + 1} block${end === start ? '' : 's'}, not span ${span}`,
          hint: stacks && stacks.length > 1 ? `the selected run of blocks (a run ends where its stack does) does not divide into spans of ${span}` : `the selected run of blocks does not divide into spans of ${span}`,
          origin: { kind: 'section', section: sectionIndex },
        });
      }
      modules.push(m);
    }
    overrideUsed.forEach((used, i) => {
      if (!used && blocks.length > 0) {
        problems.push({ severity: 'warning', code: 'unused-override', message: 'this override applies to no module', hint: 'an override applies to the modules whose first block it selects', origin: { kind: 'override', section: sectionIndex, override: i } });
      }
    });
  });

  modules.sort((a, b) => a.span[0] - b.span[0] || a.span[1] - b.span[1]);
  // One problem per pair of sections, listing the blocks they both claim.
  // The modules of one section never overlap each other, so the overlapping pairs come from
  // distinct pairs of sections: capping those bounds the work.
  const sectionIndex = new Map<string, number>();
  sections.forEach((s, i) => sectionIndex.has(s.name) || sectionIndex.set(s.name, i));
  const clashes = new Map<string, { later: string; earlier: string; blocks: Set<number> }>();
  let unlisted = false;
  pairs: for (let i = 0; i < modules.length; i++) {
    for (let j = i + 1; j < modules.length && modules[j]!.span[0] <= modules[i]!.span[1]; j++) {
      const [a, b] = [modules[i]!, modules[j]!];
      const [earlier, later] = sectionIndex.get(a.section)! <= sectionIndex.get(b.section)! ? [a, b] : [b, a];
      const key = `${earlier.section}\u0000${later.section}`;
      if (!clashes.has(key) && clashes.size >= MAX_REPORTED_OVERLAPS) {
        unlisted = true;
        break pairs;
      }
      const clash = clashes.get(key) ?? { later: later.section, earlier: earlier.section, blocks: new Set<number>() };
      for (let k = Math.max(a.span[0], b.span[0]); k <= Math.min(a.span[1], b.span[1]); k++) clash.blocks.add(k);
      clashes.set(key, clash);
    }
  }
  for (const clash of clashes.values()) {
    const laterIndex = sectionIndex.get(clash.later) ?? 0;
    const blocks = [...clash.blocks].sort((x, y) => x - y);
    const same = clash.later === clash.earlier;
    problems.push({
      severity: 'error',
      code: 'overlapping-spans',
      message: same ? `modules of \`${clash.later}\` overlap on block${blocks.length > 1 ? 's' : ''} ${blocks.join(', ')}` : `\`${clash.later}\` overlaps \`${clash.earlier}\` on block${blocks.length > 1 ? 's' : ''} ${blocks.join(', ')}`,
      hint: 'LoR2C modules may not share blocks; give each section its own blocks',
      origin: { kind: 'section', section: laterIndex },
    });
  }
  if (unlisted) {
    problems.push({ severity: 'error', code: 'overlapping-spans', message: `more than ${MAX_REPORTED_OVERLAPS} pairs of sections overlap; the others are not listed`, origin: { kind: 'section', section: sections.length - 1 } });
  }

  return { modules: applyStaticMerges(modules, staticMerges, blockCount, stackOf, problems), problems };
}

/** Modules listed in a static-merge problem at most (a `...` says there are more). */
const LISTED_MODULES = 20;

/** Counts marked blocks over ranges (a Fenwick tree): each mark and each query costs log(blocks). */
class MarkedBlocks {
  private readonly tree: Int32Array;
  constructor(size: number) {
    this.tree = new Int32Array(size + 1);
  }
  mark(block: number): void {
    for (let i = block + 1; i < this.tree.length; i += i & -i) this.tree[i]!++;
  }
  /** Marked blocks in 0..block-1. */
  private before(block: number): number {
    let sum = 0;
    for (let i = block; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }
  anyIn(from: number, to: number): boolean {
    return this.before(to + 1) - this.before(from) > 0;
  }
}

/**
 * The static merges applied to `modules` (sorted by span), in the order written; problems are
 * added to `problems`. Each merge is checked in time logarithmic in the modules and blocks
 * (prefix tables over the modules as tiled), so a spec with many merges checks in linear time.
 * The tables stay valid as merges are applied: a merge is applied only when it overlaps no
 * earlier one, so the modules it looks at are still those tiled.
 */
function applyStaticMerges(modules: Lor2cModule[], staticMerges: BlockRange[], blockCount: number, stackOf: (block: number) => string | undefined, problems: LayoutProblem[]): Lor2cModule[] {
  if (staticMerges.length === 0) return modules;
  const n = modules.length;
  // maxEnd[k]: the furthest block any of modules[0..k] reaches; breaks[k]: modules[1..k-1] that do not start right after the one before.
  const maxEnd = new Array<number>(n);
  const breaks = new Array<number>(n + 1).fill(0);
  for (let k = 0; k < n; k++) {
    maxEnd[k] = Math.max(k > 0 ? maxEnd[k - 1]! : -Infinity, modules[k]!.span[1]);
    breaks[k + 1] = breaks[k]! + (k > 0 && modules[k]!.span[0] !== modules[k - 1]!.span[1] + 1 ? 1 : 0);
  }
  /** The first module index whose start is at least `block` (modules are sorted by start). */
  const firstStartingFrom = (block: number): number => {
    let [lo, hi] = [0, n];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (modules[mid]!.span[0] < block) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /** The first module index from which some module so far reaches `block` (maxEnd only grows). */
  const firstReaching = (block: number): number => {
    let [lo, hi] = [0, n];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (maxEnd[mid]! < block) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const merged = new MarkedBlocks(blockCount);
  // The merged module that replaces modules[first..last], by `first`.
  const replaced = new Map<number, { last: number; module: Lor2cModule }>();
  staticMerges.forEach((range, mergeIndex) => {
    const from = absolute(range.from, blockCount);
    const to = absolute(range.to, blockCount);
    const origin: LayoutOrigin = { kind: 'static', merge: mergeIndex };
    if (from < 0 || to >= blockCount || from > to) {
      problems.push({ severity: 'error', code: 'block-out-of-range', message: `static merge ${range.from}..${range.to} is outside blocks 0..${blockCount - 1}`, origin });
      return;
    }
    if (stackOf(from) !== stackOf(to)) {
      problems.push({ severity: 'error', code: 'cross-stack-merge', message: `static merge ${from}..${to} starts in the ${stackOf(from)} stack and ends in the ${stackOf(to)}`, hint: 'a LoR2C path stays within one residual stream: merge modules of one stack', origin });
      return;
    }
    if (merged.anyIn(from, to)) {
      problems.push({ severity: 'error', code: 'overlapping-spans', message: `static merge ${from}..${to} overlaps another static merge`, origin });
      return;
    }
    // modules[first..end-1] start inside the merge; one reaching past `to`, or one from before reaching `from`, is cut by it.
    const first = firstStartingFrom(from);
    const end = firstStartingFrom(to + 1);
    const cut = (first > 0 && maxEnd[first - 1]! >= from) || (end > 0 && maxEnd[end - 1]! > to);
    const chained = !cut && end - first >= 2 && modules[first]!.span[0] === from && modules[end - 1]!.span[1] === to && breaks[end]! - breaks[first + 1]! === 0;
    if (!chained) {
      const have: string[] = [];
      let more = false;
      for (let k = firstReaching(from); k < end; k++) {
        const m = modules[k]!;
        if (m.span[1] < from) continue;
        if (have.length === LISTED_MODULES) {
          more = true;
          break;
        }
        have.push(`${m.id} [${m.span[0]}..${m.span[1]}]`);
      }
      problems.push({
        severity: 'error',
        code: 'bad-static-merge',
        message: `static merge ${from}..${to} does not exactly cover two or more adjacent modules`,
        hint: have.length ? `modules there: ${have.join(', ')}${more ? ', ...' : ''}` : 'no module covers these blocks',
        origin,
      });
      return;
    }
    for (let b = from; b <= to; b++) merged.mark(b);
    replaced.set(first, { last: end - 1, module: { ...modules[first]!, id: moduleId(from, to), span: [from, to] } });
  });
  // A merged module takes its first part's place: no module before it reaches into it, so the order by span holds.
  const out: Lor2cModule[] = [];
  for (let k = 0; k < n; k++) {
    const merge = replaced.get(k);
    if (merge) {
      out.push(merge.module);
      k = merge.last;
    } else out.push(modules[k]!);
  }
  return out;
}

/**
 * Every symbolic part of a plan applied to `blockCount`. Problems (as in the checker with
 * ModelFacts) come back as messages. `layout`: the plan's module layout on these blocks when
 * the caller has it already (the check made with the same facts lays the modules out).
 */
export function resolvePlan(plan: Plan, blockCount: number, stacks?: StackExtent[], layout: Layout = layoutModules(plan.lor2c, plan.merge?.static ?? [], blockCount, stacks)): { resolved: ResolvedPlan; problems: string[] } {
  const problems = layout.problems.filter((p) => p.severity === 'error').map((p) => p.message);
  const selections = [...plan.lor2c, ...plan.lora].flatMap((s) => [s.blocks, ...s.overrides.map((o) => o.blocks)]);
  for (const group of plan.share) if (group.members.kind === 'blocks') selections.push(group.members.blocks);
  const unknown = new Set(selections.flatMap((s) => unknownStacks(s, blockCount, stacks)));
  for (const name of unknown) problems.push(`blocks name the stack \`${name}\`, which the model does not have (${describeStacks(blockCount, stacks)})`);
  const lora: ResolvedLoraSite[] = [];
  for (const section of plan.lora) {
    const blocks = resolveBlocks(section.blocks, blockCount, stacks);
    const overrideBlocks = section.overrides.map((o) => new Set(resolveBlocks(o.blocks, blockCount, stacks)));
    for (const target of section.targets) {
      const perBlock = target.kind === 'role' || target.pattern.includes('{i}');
      const sites: Array<number | undefined> = perBlock ? blocks : [undefined];
      for (const block of sites) {
        const site: ResolvedLoraSite = { section: section.name, target, rank: section.rank, alpha: section.alpha, dropout: section.dropout, init: section.init };
        if (block !== undefined) {
          site.block = block;
          section.overrides.forEach((o, i) => {
            if (!overrideBlocks[i]!.has(block)) return;
            if (o.rank !== undefined) site.rank = o.rank;
            if (o.alpha !== undefined) site.alpha = o.alpha;
            if (o.dropout !== undefined) site.dropout = o.dropout;
          });
        }
        lora.push(site);
      }
    }
  }
  const share = plan.share.map((group) => ({ share: group.share, modules: shareMembers(group.members, layout.modules, blockCount, stacks).ids }));
  return { resolved: { blockCount, modules: layout.modules, lora, share }, problems };
}

/** The module ids a share group names, plus the names it uses that match nothing. */
export function shareMembers(members: Plan['share'][number]['members'], modules: Lor2cModule[], blockCount: number, stacks?: StackExtent[]): { ids: string[]; unknown: string[] } {
  if (members.kind === 'all') return { ids: modules.map((m) => m.id), unknown: [] };
  if (members.kind === 'blocks') {
    const starts = new Set(resolveBlocks(members.blocks, blockCount, stacks));
    return { ids: modules.filter((m) => starts.has(m.span[0])).map((m) => m.id), unknown: [] };
  }
  const ids = new Set<string>();
  const unknown: string[] = [];
  const existing = new Set(modules.map((m) => m.id));
  for (const id of members.modules) {
    if (existing.has(id)) ids.add(id);
    else unknown.push(id);
  }
  for (const section of members.sections) for (const m of modules) if (m.section === section) ids.add(m.id);
  return { ids: modules.filter((m) => ids.has(m.id)).map((m) => m.id), unknown };
}

