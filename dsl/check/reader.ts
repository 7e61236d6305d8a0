/**
 * The reading machinery every section uses: diagnostics, the side tables the rules need
 * (where each plan object was written, block selections, share names, `let`s), entries read
 * against a schema, and the value readers (numbers, choices, block selections, intervals...).
 *
 * Reading never stops at the first problem: a wrong value is reported and `undefined`
 * returned, so the caller keeps its default and one run reports everything.
 */
import type { Block, Item, Setting, Value, ValueGroup, Word } from '../ast.ts';
import type { Diagnostic, LineIndex, Severity, SourceRange } from '../diagnostics.ts';
import { PROJECTION_ROLES, STACK_NAME, type BlockRange, type BlockSelection, type Interval, type ProjectionRole, type ProjectionTarget, type SfsMetric, type ShareGroup } from '../../contract/plan.ts';
import { didYouMean, Suggester } from '../suggest.ts';
import { PHRASINGS } from './hints.ts';

/**
 * One `key values... { body }` unit: a setting, or one comma-separated argument of a call
 * (`lr 4e-4` in `adamw(lr 4e-4)`), so calls and blocks are read by the same machinery.
 */
export interface Entry {
  key: Word;
  values: Value[];
  body?: Block;
  range: SourceRange;
}

export type BodyRule = 'none' | 'optional' | 'required';

export interface EntrySpec {
  /** May appear more than once in its section. */
  repeat?: boolean;
  body?: BodyRule;
  read(entry: Entry): void;
}

export type Schema = Record<string, EntrySpec>;

/** What a number setting accepts; anything else is reported with these words. */
export interface NumberLimits {
  integer?: boolean;
  min?: number;
  /** `min` itself not allowed. */
  above?: boolean;
  max?: number;
  /** `max` itself not allowed. */
  below?: boolean;
  /** What the value is, for messages: "rank", "dropout". */
  what: string;
  /** Accept `25%` as 0.25. */
  percent?: boolean;
}

/** A `let`; `used` so unused ones can be reported. */
export interface LetBinding {
  value: Value;
  name: Word;
  used: boolean;
}

/** A block selection with where it was written. */
export interface SelectionAt {
  selection: BlockSelection;
  range: SourceRange;
}

export class SpecReader {
  readonly diagnostics: Diagnostic[] = [];
  readonly lets = new Map<string, LetBinding>();
  /** Source ranges of plan objects (sections, selections, share groups, schedules...). */
  readonly at = new Map<object, SourceRange>();
  /** Every block selection and static merge written, for range checks against the model. */
  readonly selections: SelectionAt[] = [];
  /** Share groups as written: names stay unclassified (sections vs module ids) until every section is read. */
  readonly shareNames = new Map<ShareGroup, Word[]>();
  /** For suggestions among open-ended candidates (`let`s, modules): one work budget per check. */
  readonly suggest = new Suggester();

  constructor(
    readonly index: LineIndex,
    readonly file: string,
    /** Where each key is written ("the top level", "`train { }`"), for keys written elsewhere. */
    private readonly homes: Readonly<Record<string, string>>,
  ) {}

  report(severity: Severity, code: string, range: SourceRange, message: string, hint?: string): void {
    this.diagnostics.push(hint === undefined ? { severity, code, message, range } : { severity, code, message, hint, range });
  }

  error(code: string, range: SourceRange, message: string, hint?: string): void {
    this.report('error', code, range, message, hint);
  }

  // ---------------------------------------------------------------------------------------
  // Entries and schemas

  private settingEntry(s: Setting): Entry {
    const values = s.groups.flatMap((g) => g.values);
    return s.body ? { key: s.key, values, body: s.body, range: s.range } : { key: s.key, values, range: s.range };
  }

  /** A call argument `name value...` as an entry; a bare value has no name and is reported. */
  argEntry(group: ValueGroup, callee: string, example = 'name value'): Entry | undefined {
    const [first, ...rest] = group.values;
    if (first?.kind === 'word') return { key: first, values: rest, range: group.range };
    this.error('unnamed-argument', group.range, `arguments of \`${callee}(...)\` are named`, `write the name, then the value: \`${callee}(${example})\``);
    return undefined;
  }

  /** Reads the items of a block (or the file) against a schema; `let`s are defined on the way. */
  readItems(items: Item[], schema: Schema, context: string): void {
    this.readEntries(
      items.flatMap((item) => {
        if (item.kind === 'let') {
          this.defineLet(item.name, item.value);
          return [];
        }
        return [this.settingEntry(item)];
      }),
      schema,
      context,
    );
  }

  readEntries(entries: Entry[], schema: Schema, context: string): void {
    const seen = new Map<string, Entry>();
    for (const entry of entries) {
      const name = entry.key.name;
      const spec = Object.hasOwn(schema, name) ? schema[name] : undefined;
      if (!spec) {
        this.unknownKey(entry.key, Object.keys(schema), context, entry);
        continue;
      }
      const earlier = seen.get(name);
      if (earlier && !spec.repeat) {
        const line = earlier.key.range.line;
        this.error('duplicate-setting', entry.key.range, `\`${name}\` is already set in ${context}`, `first set on line ${line}; remove one of them`);
        continue;
      }
      seen.set(name, entry);
      const bodyRule = spec.body ?? 'none';
      if (bodyRule === 'none' && entry.body) {
        this.error('unexpected-block', entry.body.range, `\`${name}\` takes no \`{ }\` block`, `write \`${name} VALUE\` on one line`);
        continue;
      }
      if (bodyRule === 'required' && !entry.body) {
        this.error('missing-block', entry.key.range, `\`${name}\` needs a \`{ ... }\` block`, `write \`${name} { ... }\` with its settings inside`);
        continue;
      }
      spec.read(entry);
    }
  }

  private unknownKey(key: Word, known: string[], context: string, entry?: Entry): void {
    const suggestion = didYouMean(key.name, known);
    const home = Object.hasOwn(this.homes, key.name) ? this.homes[key.name] : undefined;
    const first = entry?.values[0];
    const onBlocks = key.name === 'on' && first?.kind === 'word' && first.name === 'blocks' && known.includes('blocks');
    const hint = onBlocks
      ? 'choose blocks with `blocks 0..11` (without `on`)'
      : (suggestion ?? (home && !known.includes(key.name) ? `\`${key.name}\` goes in ${home}` : (PHRASINGS[key.name] ?? `${context} accepts: ${known.join(', ')}`)));
    this.error('unknown-setting', key.range, `unknown setting \`${key.name}\` in ${context}`, hint);
  }

  // ---------------------------------------------------------------------------------------
  // Values

  private defineLet(name: Word, value: Value): void {
    if (this.lets.has(name.name)) {
      this.error('duplicate-let', name.range, `\`${name.name}\` is already defined`, `first defined on line ${this.lets.get(name.name)!.name.range.line}`);
      return;
    }
    // Resolve now: a let may use earlier lets, and uses never see later redefinitions.
    this.lets.set(name.name, { value: this.deref(value), name, used: false });
  }

  /** A `let` reference replaced by its value; other values as they are. */
  deref(v: Value): Value {
    if (v.kind !== 'word') return v;
    const binding = this.lets.get(v.name);
    if (!binding) return v;
    binding.used = true;
    return binding.value;
  }

  /** Exactly one value; reports a missing value or extra ones. */
  one(e: Entry, expected: string, known?: string[]): Value | undefined {
    if (e.values.length === 0) {
      this.error('missing-value', e.key.range, `\`${e.key.name}\` needs a value: ${expected}`);
      return undefined;
    }
    this.noExtra(e, 1, known);
    return e.values[0];
  }

  /** Reports values beyond the first `count`; when one of them is a known key, the setting was probably not ended. */
  noExtra(e: Entry, count: number, known?: string[]): void {
    const extra = e.values.slice(count);
    if (extra.length === 0) return;
    const range = this.index.span(extra[0]!.range, extra[extra.length - 1]!.range);
    const startsSetting = extra.find((v) => v.kind === 'word' && known?.includes(v.name));
    const hint =
      startsSetting && startsSetting.kind === 'word'
        ? `\`${startsSetting.name}\` starts another setting: put it on its own line or after \`;\``
        : `\`${e.key.name}\` takes ${count === 1 ? 'one value' : `${count} values`}`;
    this.error('extra-value', range, `unexpected ${extra.length === 1 ? 'value' : 'values'} after \`${e.key.name}\``, hint);
  }

  describe(v: Value): string {
    switch (v.kind) {
      case 'number':
      case 'percent':
      case 'string':
        return v.raw;
      case 'word':
        return v.name;
      case 'call':
        return `${v.callee.name}(...)`;
      case 'list':
        return '[...]';
      case 'range':
        return `${this.describe(v.from)}..${this.describe(v.to)}`;
    }
  }

  number(raw: Value | undefined, limits: NumberLimits): number | undefined {
    if (!raw) return undefined;
    const v = this.deref(raw);
    const at = raw.range;
    const ok = v.kind === 'number' || (v.kind === 'percent' && limits.percent);
    if (!ok) {
      if (raw.kind === 'word' && v === raw) {
        const hint = this.suggest.didYouMean(raw.name, this.lets.keys()) ?? `no \`let ${raw.name} = ...\` comes before this`;
        this.error('unknown-name', at, `\`${raw.name}\` is not defined; ${limits.what} must be a number`, hint);
      } else {
        this.error('bad-value', at, `${limits.what} must be a number${limits.percent ? ' or a percentage' : ''}, not \`${this.describe(v)}\``);
      }
      return undefined;
    }
    const n = v.value;
    const problem =
      !Number.isFinite(n)
        ? 'must be finite'
        : limits.integer && !Number.isInteger(n)
          ? 'must be a whole number'
          : limits.integer && !Number.isSafeInteger(n)
            ? `is too large for an integer (at most ${Number.MAX_SAFE_INTEGER})`
          : limits.min !== undefined && (limits.above ? n <= limits.min : n < limits.min)
            ? `must be ${limits.above ? 'greater than' : 'at least'} ${limits.min}`
            : limits.max !== undefined && (limits.below ? n >= limits.max : n > limits.max)
              ? `must be ${limits.below ? 'less than' : 'at most'} ${limits.max}`
              : undefined;
    if (problem) {
      const range = limits.min !== undefined && limits.max !== undefined ? `: it must be in [${limits.min}, ${limits.max}${limits.below ? ')' : ']'}` : '';
      const positive = limits.integer && limits.min === 1 ? `${limits.what} must be a positive integer` : undefined;
      this.error('bad-value', at, `${limits.what} ${problem}, got ${this.describe(v)}`, positive ?? (range ? `${limits.what}${range}` : undefined));
      return undefined;
    }
    return n;
  }

  string(raw: Value | undefined, what: string): string | undefined {
    if (!raw) return undefined;
    const v = this.deref(raw);
    if (v.kind === 'string') return v.value;
    this.error('bad-value', raw.range, `${what} must be a string in double quotes, not \`${this.describe(v)}\``, v.kind === 'word' ? `write "${v.name}"` : undefined);
    return undefined;
  }

  /** One of fixed words; a `let` naming such a word works too. */
  choice<T extends string>(raw: Value | undefined, what: string, choices: readonly T[]): T | undefined {
    if (!raw) return undefined;
    let v = raw;
    if (v.kind === 'word' && !choices.includes(v.name as T)) v = this.deref(v);
    if (v.kind === 'word' && choices.includes(v.name as T)) return v.name as T;
    const shown = this.describe(v);
    const suggestion = v.kind === 'word' ? didYouMean(v.name, choices) : undefined;
    this.error('bad-value', raw.range, `unknown ${what} \`${shown}\``, suggestion ?? `expected one of: ${choices.join(', ')}`);
    return undefined;
  }

  bool(raw: Value | undefined, what: string): boolean | undefined {
    const word = this.choice(raw, what, ['true', 'false'] as const);
    return word === undefined ? undefined : word === 'true';
  }

  /**
   * `all`, `every K`, indices, ranges, lists of them, optionally followed by `every K`. A stack
   * name (`encoder`, `decoder`, ...) makes the indices after it, up to the next stack name,
   * count within that stack; alone it means all of the stack's blocks. `every K` after a stack
   * name keeps every K-th of that stack's blocks; before any stack name, of the whole selection.
   */
  selection(values: Value[], at: SourceRange): BlockSelection | undefined {
    const ranges: BlockRange[] = [];
    let all = false;
    let every = 1;
    const stackEvery: Record<string, number> = {};
    let ok = true;
    // The stack the indices being read count within, and whether it has any yet.
    let stack: { name: string; indices: number } | undefined;
    const closeStack = () => {
      if (stack && stack.indices === 0) ranges.push({ from: 0, to: -1, stack: stack.name });
    };
    const flat = values.flatMap((v) => {
      const d = this.deref(v);
      return d.kind === 'list' ? d.items : [v];
    });
    for (let i = 0; i < flat.length; i++) {
      const raw = flat[i]!;
      const v = this.deref(raw);
      if (v.kind === 'word' && STACK_NAME.test(v.name)) {
        closeStack();
        if (ranges.some((r) => r.stack === v.name)) {
          this.error('bad-value', raw.range, `stack \`${v.name}\` is named twice in this selection`, `write its blocks after one \`${v.name}\`: e.g. \`${v.name} 0..1, 4\``);
          ok = false;
        }
        stack = { name: v.name, indices: 0 };
      } else if (v.kind === 'word' && v.name === 'all') {
        all = true;
      } else if (v.kind === 'word' && v.name === 'every') {
        const k = this.number(flat[i + 1], { what: 'the step of `every`', integer: true, min: 1 });
        if (flat[i + 1] === undefined) this.error('missing-value', raw.range, '`every` needs a step: `every 2` keeps every second block');
        if (k === undefined) ok = false;
        // After a stack name it steps through that stack's blocks; before any, through the whole selection.
        else if (stack) stackEvery[stack.name] = k;
        else every = k;
        i++;
      } else if (v.kind === 'number') {
        const n = this.number(raw, { what: 'a block index', integer: true });
        if (n === undefined) ok = false;
        else ranges.push(stack ? { from: n, to: n, stack: stack.name } : { from: n, to: n });
        if (stack) stack.indices++;
      } else if (v.kind === 'range') {
        const from = this.number(v.from, { what: 'a block index', integer: true });
        const to = this.number(v.to, { what: 'a block index', integer: true });
        if (from === undefined || to === undefined) ok = false;
        else if (Math.sign(from) === Math.sign(to) && from > to) {
          this.error('bad-range', raw.range, `block range ${from}..${to} is empty: it starts after it ends`, `write ${to}..${from}`);
          ok = false;
        } else ranges.push(stack ? { from, to, stack: stack.name } : { from, to });
        if (stack) stack.indices++;
      } else {
        const how = 'blocks are chosen by index (`3`), range (`0..11`, `-4..-1`), `all`, `every 2`, or within a stack (`encoder 0..5`, `decoder -2..-1`)';
        const hint = v.kind === 'word' ? (didYouMean(v.name, ['all', 'every', 'encoder', 'decoder', 'main']) ?? how) : how;
        this.error('bad-value', raw.range, `\`${this.describe(v)}\` is not a block selection`, hint);
        ok = false;
      }
    }
    closeStack();
    if (all && ranges.length > 0) {
      this.error('bad-value', at, '`all` cannot be combined with block indices', 'write either `all` or the indices');
      ok = false;
    }
    if (flat.length === 0) {
      this.error('missing-value', at, 'expected blocks: `all`, an index, a range like `0..11`, or `every 2`');
      return undefined;
    }
    if (!ok) return undefined;
    const steps = Object.keys(stackEvery).length > 0 ? { stackEvery } : {};
    const selection: BlockSelection = all || ranges.length === 0 ? { every } : { ranges, every, ...steps };
    this.selections.push({ selection, range: at });
    this.at.set(selection, at);
    return selection;
  }

  /** `N steps`, `N epochs` (`1 epoch`, `epoch` alone means one). */
  interval(values: Value[], at: SourceRange, what: string): Interval | undefined {
    const units = ['steps', 'epochs', 'step', 'epoch'] as const;
    if (values.length === 0) {
      this.error('missing-value', at, `${what} needs a length: e.g. \`1 epoch\` or \`500 steps\``);
      return undefined;
    }
    let count = 1;
    let unitValue: Value | undefined = values[0];
    if (this.deref(values[0]!).kind === 'number') {
      const n = this.number(values[0], { what, integer: true, min: 1 });
      if (n === undefined) return undefined;
      count = n;
      unitValue = values[1];
      if (!unitValue) {
        this.error('missing-value', values[0]!.range, `${what} needs a unit: \`${count} steps\` or \`${count} epochs\``);
        return undefined;
      }
    }
    const unit = this.choice(unitValue, 'unit', units);
    if (!unit) return undefined;
    const used = values.indexOf(unitValue!) + 1;
    if (values.length > used) this.error('extra-value', this.index.span(values[used]!.range, values[values.length - 1]!.range), `unexpected value after ${what}`);
    return { count, unit: unit.startsWith('step') ? 'steps' : 'epochs' };
  }

  metric(entry: Entry, known: string[]): SfsMetric | undefined {
    // `metric sfs mean` reads naturally and SFS is the only metric: the word is optional.
    const sfs = entry.values[0]?.kind === 'word' && entry.values[0].name === 'sfs';
    const e: Entry = sfs ? { ...entry, values: entry.values.slice(1) } : entry;
    const first = e.values[0] ? this.deref(e.values[0]) : undefined;
    if (first?.kind === 'call' && first.callee.name === 'topk') {
      const k = this.number(first.args[0]?.values[0], { what: 'k of topk', integer: true, min: 1 });
      if (first.args.length === 0) this.error('missing-value', first.range, '`topk` needs k: `topk 3`');
      this.noExtra(e, 1, known);
      return k === undefined ? undefined : { kind: 'topk', k };
    }
    const mode = this.choice(e.values[0], 'SFS metric', ['mean', 'topk'] as const);
    if (!e.values[0]) this.error('missing-value', e.key.range, '`metric` needs a mode: `mean` or `topk K`');
    if (mode === 'mean') {
      this.noExtra(e, 1, known);
      return { kind: 'mean' };
    }
    if (mode === 'topk') {
      if (!e.values[1]) {
        this.error('missing-value', e.values[0]!.range, '`topk` needs k: `topk 3` sums the 3 largest singular values');
        return undefined;
      }
      this.noExtra(e, 2, known);
      const k = this.number(e.values[1], { what: 'k of topk', integer: true, min: 1 });
      return k === undefined ? undefined : { kind: 'topk', k };
    }
    return undefined;
  }

  /** `q, v`, `"attn.*.c_proj"`: roles or name patterns. */
  targets(e: Entry): ProjectionTarget[] | undefined {
    if (e.values.length === 0) {
      this.error('missing-value', e.key.range, '`on` needs projections: roles like `q, v` or name patterns in quotes');
      return undefined;
    }
    const out: ProjectionTarget[] = [];
    for (const raw of e.values.flatMap((v) => {
      const d = this.deref(v);
      return d.kind === 'list' ? d.items : [v];
    })) {
      const v = this.deref(raw);
      if (v.kind === 'string') {
        if (v.value.length === 0) this.error('bad-value', raw.range, 'an empty pattern matches nothing');
        else out.push({ kind: 'pattern', pattern: v.value });
      } else {
        const role = this.choice<ProjectionRole>(raw, 'projection role', PROJECTION_ROLES);
        if (role) {
          if (out.some((t) => t.kind === 'role' && t.role === role)) this.report('warning', 'duplicate-value', raw.range, `projection \`${role}\` is listed twice`);
          else out.push({ kind: 'role', role });
        }
      }
    }
    return out;
  }

  /** `to` was written where `from` was. */
  copyAt(from: object, to: object): void {
    const range = this.at.get(from);
    if (range) this.at.set(to, range);
  }
}

/** Calls `set` unless reading failed. */
export function assign<T>(value: T | undefined, set: (v: T) => void): void {
  if (value !== undefined) set(value);
}
