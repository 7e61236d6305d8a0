/**
 * AST -> Plan: reads every setting against the schema of the section it is in, fills in
 * defaults, and then runs the semantic rules (dsl/rules.ts) over the result.
 *
 * Reading never stops at the first problem: a wrong value is reported and the default kept, so
 * one run reports everything. Nothing here throws for any input.
 */
import path from 'node:path';
import type { Block, Item, Setting, SpecFile, Value, ValueGroup, Word } from './ast.ts';
import type { Diagnostic, LineIndex, Severity, SourceRange } from './diagnostics.ts';
import {
  PLAN_VERSION,
  PROJECTION_ROLES,
  type BlockDiscovery,
  type BlockRange,
  type BlockSelection,
  type InitKind,
  type InjectPlan,
  type Interval,
  type LayerOverride,
  type LoraSection,
  type Lor2cSection,
  type MergePlan,
  type ModelFacts,
  type OptimizerPlan,
  type Plan,
  type ProjectionRole,
  type ProjectionTarget,
  type SfsMetric,
  type ShareGroup,
  type ShareMatrix,
  type TargetPlan,
  type TaskPlan,
  type TrainPlan,
  type Warmup,
} from './plan.ts';
import { ALL_BLOCKS } from './resolve.ts';
import { didYouMean } from './suggest.ts';

/** Defaults, from method.md §1 (LoR2C reference hyperparameters) and PyTorch's AdamW. */
export const DEFAULTS = {
  rank: 8,
  alpha: 16,
  lor2cDropout: 0.1,
  /** PEFT's lora_dropout default. */
  loraDropout: 0,
  init: 'kaiming' as InitKind,
  span: 1,
  lr: 4e-4,
  betas: [0.9, 0.999] as [number, number],
  eps: 1e-8,
  adamwWeightDecay: 0.01,
  /** method.md §1: linear schedule with 6% warmup. */
  warmupFraction: 0.06,
  batch: 32,
  accumulate: 1,
  epochs: 1,
  seed: 42,
  /** PyTorch's CrossEntropyLoss default. */
  ignoreIndex: -100,
} as const;

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

type BodyRule = 'none' | 'optional' | 'required';

interface EntrySpec {
  /** May appear more than once in its section. */
  repeat?: boolean;
  body?: BodyRule;
  read(entry: Entry): void;
}

type Schema = Record<string, EntrySpec>;

/** Which section each key belongs to, for "`epochs` goes inside `train { }`" hints. */
const KEY_HOMES: Record<string, string> = {
  model: 'the top level',
  target: 'the top level',
  share: 'the top level',
  rank: '`lor2c { }`, `lora { }` or `inject { }`',
  alpha: '`lor2c { }`, `lora { }` or `inject { }`',
  dropout: '`lor2c { }`, `lora { }` or `inject { }`',
  span: '`lor2c { }`',
  on: '`lora { }` or `inject { }`',
  static: '`merge { }`',
  metric: '`merge { }` or `inject { }`',
  every: '`merge { }` or `inject { }`',
  until: '`merge { }` or `inject { }`',
  max_span: '`merge { }`',
  task: '`train { }`',
  optimizer: '`train { }`',
  schedule: '`train { }`',
  trainable: '`train { }`',
  batch: '`train { }`',
  accumulate: '`train { }`',
  epochs: '`train { }`',
  steps: '`train { }`',
  eval: '`train { }`',
  seed: '`train { }`',
  precision: '`train { }`',
  clip: '`train { }`',
  lr: '`optimizer adamw(lr ...)` in `train { }`',
  weight_decay: '`optimizer adamw(weight_decay ...)` in `train { }`',
  warmup: '`schedule linear(warmup 6%)` in `train { }`',
  max: '`merge { }` or `inject { }`',
};

/** Phrasings people reach for, with how this language says them. */
const PHRASINGS: Record<string, string> = {
  at: 'write `max 4` for "at most 4"',
  from: 'choose blocks with `blocks 2..11`',
  layers: 'write `blocks 0..11`',
  r: 'write `rank 8`',
  lora_alpha: 'write `alpha 16`',
  lora_dropout: 'write `dropout 0.1`',
  target_modules: 'write `on q, v` in `lora { }`',
  epoch: 'write `epochs 3` in `train { }`',
  optimiser: 'write `optimizer adamw(...)`',
  device: 'write `target cuda` at the top level',
};

interface NumberLimits {
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

interface LetBinding {
  value: Value;
  name: Word;
  used: boolean;
}

/** A block selection with where it was written. */
export interface SelectionAt {
  selection: BlockSelection;
  range: SourceRange;
}

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
  /** True when any setting of the training length was written (so derived values are meaningful). */
  wroteLength: boolean;
}

export class Checker {
  readonly diagnostics: Diagnostic[] = [];
  private readonly lets = new Map<string, LetBinding>();
  private readonly at = new Map<object, SourceRange>();
  private readonly selections: SelectionAt[] = [];
  private readonly shareNames = new Map<ShareGroup, Word[]>();

  private model: string | undefined;
  private blocks: BlockDiscovery = { kind: 'auto' };
  private readonly lor2c: Lor2cSection[] = [];
  private readonly lora: LoraSection[] = [];
  private readonly share: ShareGroup[] = [];
  private merge: MergePlan | undefined;
  private inject: InjectPlan | undefined;
  private train: TrainPlan = defaultTrain();
  private target: TargetPlan = { device: 'cpu' };
  private wroteLength = false;

  constructor(
    private readonly index: LineIndex,
    private readonly file: string,
  ) {}

  report(severity: Severity, code: string, range: SourceRange, message: string, hint?: string): void {
    this.diagnostics.push(hint === undefined ? { severity, code, message, range } : { severity, code, message, hint, range });
  }

  private error(code: string, range: SourceRange, message: string, hint?: string): void {
    this.report('error', code, range, message, hint);
  }

  // ---------------------------------------------------------------------------------------
  // Entries and schemas

  private settingEntry(s: Setting): Entry {
    const values = s.groups.flatMap((g) => g.values);
    return s.body ? { key: s.key, values, body: s.body, range: s.range } : { key: s.key, values, range: s.range };
  }

  /** A call argument `name value...` as an entry; a bare value has no name and is reported. */
  private argEntry(group: ValueGroup, callee: string): Entry | undefined {
    const [first, ...rest] = group.values;
    if (first?.kind === 'word') return { key: first, values: rest, range: group.range };
    const example = ARGUMENT_EXAMPLES[callee] ?? 'name value';
    this.error('unnamed-argument', group.range, `arguments of \`${callee}(...)\` are named`, `write the name, then the value: \`${callee}(${example})\``);
    return undefined;
  }

  /** Reads the items of a block (or the file) against a schema; `let`s are defined on the way. */
  private readItems(items: Item[], schema: Schema, context: string): void {
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

  private readEntries(entries: Entry[], schema: Schema, context: string): void {
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
    const home = KEY_HOMES[key.name];
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
  private deref(v: Value): Value {
    if (v.kind !== 'word') return v;
    const binding = this.lets.get(v.name);
    if (!binding) return v;
    binding.used = true;
    return binding.value;
  }

  /** Exactly one value; reports a missing value or extra ones. */
  private one(e: Entry, expected: string, known?: string[]): Value | undefined {
    if (e.values.length === 0) {
      this.error('missing-value', e.key.range, `\`${e.key.name}\` needs a value: ${expected}`);
      return undefined;
    }
    this.noExtra(e, 1, known);
    return e.values[0];
  }

  /** Reports values beyond the first `count`; when one of them is a known key, the setting was probably not ended. */
  private noExtra(e: Entry, count: number, known?: string[]): void {
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

  private describe(v: Value): string {
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

  private number(raw: Value | undefined, limits: NumberLimits): number | undefined {
    if (!raw) return undefined;
    const v = this.deref(raw);
    const at = raw.range;
    const ok = v.kind === 'number' || (v.kind === 'percent' && limits.percent);
    if (!ok) {
      if (raw.kind === 'word' && v === raw) {
        const hint = didYouMean(raw.name, this.lets.keys()) ?? `no \`let ${raw.name} = ...\` comes before this`;
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

  private string(raw: Value | undefined, what: string): string | undefined {
    if (!raw) return undefined;
    const v = this.deref(raw);
    if (v.kind === 'string') return v.value;
    this.error('bad-value', raw.range, `${what} must be a string in double quotes, not \`${this.describe(v)}\``, v.kind === 'word' ? `write "${v.name}"` : undefined);
    return undefined;
  }

  /** One of fixed words; a `let` naming such a word works too. */
  private choice<T extends string>(raw: Value | undefined, what: string, choices: readonly T[]): T | undefined {
    if (!raw) return undefined;
    let v = raw;
    if (v.kind === 'word' && !choices.includes(v.name as T)) v = this.deref(v);
    if (v.kind === 'word' && choices.includes(v.name as T)) return v.name as T;
    const shown = this.describe(v);
    const suggestion = v.kind === 'word' ? didYouMean(v.name, choices) : undefined;
    this.error('bad-value', raw.range, `unknown ${what} \`${shown}\``, suggestion ?? `expected one of: ${choices.join(', ')}`);
    return undefined;
  }

  private bool(raw: Value | undefined, what: string): boolean | undefined {
    const word = this.choice(raw, what, ['true', 'false'] as const);
    return word === undefined ? undefined : word === 'true';
  }

  /** `all`, `every K`, indices, ranges, lists of them, optionally followed by `every K`. */
  private selection(values: Value[], at: SourceRange): BlockSelection | undefined {
    const ranges: BlockRange[] = [];
    let all = false;
    let every = 1;
    let ok = true;
    const flat = values.flatMap((v) => {
      const d = this.deref(v);
      return d.kind === 'list' ? d.items : [v];
    });
    for (let i = 0; i < flat.length; i++) {
      const raw = flat[i]!;
      const v = this.deref(raw);
      if (v.kind === 'word' && v.name === 'all') {
        all = true;
      } else if (v.kind === 'word' && v.name === 'every') {
        const k = this.number(flat[i + 1], { what: 'the step of `every`', integer: true, min: 1 });
        if (flat[i + 1] === undefined) this.error('missing-value', raw.range, '`every` needs a step: `every 2` keeps every second block');
        if (k === undefined) ok = false;
        else every = k;
        i++;
      } else if (v.kind === 'number') {
        const n = this.number(raw, { what: 'a block index', integer: true });
        if (n === undefined) ok = false;
        else ranges.push({ from: n, to: n });
      } else if (v.kind === 'range') {
        const from = this.number(v.from, { what: 'a block index', integer: true });
        const to = this.number(v.to, { what: 'a block index', integer: true });
        if (from === undefined || to === undefined) ok = false;
        else if (Math.sign(from) === Math.sign(to) && from > to) {
          this.error('bad-range', raw.range, `block range ${from}..${to} is empty: it starts after it ends`, `write ${to}..${from}`);
          ok = false;
        } else ranges.push({ from, to });
      } else {
        const hint = v.kind === 'word' ? (didYouMean(v.name, ['all', 'every']) ?? 'blocks are chosen by index (`3`), range (`0..11`, `-4..-1`), `all`, or `every 2`') : 'blocks are chosen by index (`3`), range (`0..11`, `-4..-1`), `all`, or `every 2`';
        this.error('bad-value', raw.range, `\`${this.describe(v)}\` is not a block selection`, hint);
        ok = false;
      }
    }
    if (all && ranges.length > 0) {
      this.error('bad-value', at, '`all` cannot be combined with block indices', 'write either `all` or the indices');
      ok = false;
    }
    if (flat.length === 0) {
      this.error('missing-value', at, 'expected blocks: `all`, an index, a range like `0..11`, or `every 2`');
      return undefined;
    }
    if (!ok) return undefined;
    const selection: BlockSelection = all || ranges.length === 0 ? { every } : { ranges, every };
    this.selections.push({ selection, range: at });
    this.at.set(selection, at);
    return selection;
  }

  /** `N steps`, `N epochs` (`1 epoch`, `epoch` alone means one). */
  private interval(values: Value[], at: SourceRange, what: string): Interval | undefined {
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

  private fraction(raw: Value | undefined, what: string): number | undefined {
    return this.number(raw, { what, percent: true, min: 0, above: true, max: 1 });
  }

  private metric(entry: Entry, known: string[]): SfsMetric | undefined {
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
  private targets(e: Entry): ProjectionTarget[] | undefined {
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

  // ---------------------------------------------------------------------------------------
  // Sections

  /** The name after a section keyword (`lor2c deep { }`), or the keyword itself. */
  private sectionName(e: Entry, taken: string[]): string {
    const first = e.values[0];
    if (first && first.kind === 'word') {
      this.noExtra(e, 1);
      if (taken.includes(first.name)) this.error('duplicate-name', first.range, `a section named \`${first.name}\` already exists`, 'give each section its own name');
      return first.name;
    }
    if (first) {
      this.error('bad-value', first.range, `\`${e.key.name}\` takes an optional name, then \`{ ... }\``, `e.g. \`${e.key.name} deep { rank 16 }\``);
    }
    let name = e.key.name;
    for (let n = 2; taken.includes(name); n++) name = `${e.key.name}_${n}`;
    return name;
  }

  private adapterKeys(target: { rank: number; alpha: number; dropout: number; init: InitKind; blocks: BlockSelection; overrides: LayerOverride[] }, known: () => string[]): Schema {
    return {
      rank: { read: (e) => assign(this.number(this.one(e, 'a positive integer', known()), { what: 'rank', integer: true, min: 1 }), (v) => (target.rank = v)) },
      alpha: { read: (e) => assign(this.number(this.one(e, 'a positive number', known()), { what: 'alpha', min: 0, above: true }), (v) => (target.alpha = v)) },
      dropout: { read: (e) => assign(this.number(this.one(e, 'a probability in [0, 1)', known()), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (target.dropout = v)) },
      init: { read: (e) => assign(this.choice(this.one(e, '`kaiming` or `gaussian`', known()), 'init', ['kaiming', 'gaussian'] as const), (v) => (target.init = v)) },
      blocks: { read: (e) => assign(this.selection(e.values, e.range), (v) => (target.blocks = v)) },
      override: {
        repeat: true,
        body: 'required',
        read: (e) => {
          const [first, ...rest] = e.values;
          if (!(first?.kind === 'word' && first.name === 'blocks')) {
            this.error('bad-value', first?.range ?? e.key.range, '`override` names the blocks it applies to', 'write `override blocks 10..11 { rank 16 }`');
            return;
          }
          const blocks = this.selection(rest, first ? this.index.span(first.range, (rest[rest.length - 1] ?? first).range) : e.range);
          const o: LayerOverride = { blocks: blocks ?? ALL_BLOCKS };
          const overrideKeys = ['rank', 'alpha', 'dropout'];
          this.readItems(
            e.body!.items,
            {
              rank: { read: (x) => assign(this.number(this.one(x, 'a positive integer', overrideKeys), { what: 'rank', integer: true, min: 1 }), (v) => (o.rank = v)) },
              alpha: { read: (x) => assign(this.number(this.one(x, 'a positive number', overrideKeys), { what: 'alpha', min: 0, above: true }), (v) => (o.alpha = v)) },
              dropout: { read: (x) => assign(this.number(this.one(x, 'a probability in [0, 1)', overrideKeys), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (o.dropout = v)) },
            },
            '`override { }`',
          );
          if (blocks) {
            target.overrides.push(o);
            this.at.set(o, e.range);
          }
        },
      },
    };
  }

  private readLor2c(e: Entry): void {
    const section: Lor2cSection = {
      name: this.sectionName(e, this.lor2c.map((s) => s.name)),
      blocks: ALL_BLOCKS,
      span: DEFAULTS.span,
      rank: DEFAULTS.rank,
      alpha: DEFAULTS.alpha,
      dropout: DEFAULTS.lor2cDropout,
      init: DEFAULTS.init,
      overrides: [],
    };
    const schema: Schema = {
      ...this.adapterKeys(section, () => Object.keys(schema)),
      span: { read: (x) => assign(this.number(this.one(x, 'a positive integer', Object.keys(schema)), { what: 'span', integer: true, min: 1 }), (v) => (section.span = v)) },
    };
    if (e.body) this.readItems(e.body.items, schema, `\`${section.name} { }\``);
    this.lor2c.push(section);
    this.at.set(section, e.key.range);
  }

  private readLora(e: Entry): void {
    const section: LoraSection = {
      name: this.sectionName(e, this.lora.map((s) => s.name)),
      targets: [
        { kind: 'role', role: 'q' },
        { kind: 'role', role: 'v' },
      ],
      blocks: ALL_BLOCKS,
      rank: DEFAULTS.rank,
      alpha: DEFAULTS.alpha,
      dropout: DEFAULTS.loraDropout,
      init: DEFAULTS.init,
      overrides: [],
    };
    const schema: Schema = {
      ...this.adapterKeys(section, () => Object.keys(schema)),
      on: {
        read: (x) =>
          assign(this.targets(x), (v) => {
            section.targets = v;
            this.at.set(v, x.range);
          }),
      },
    };
    if (e.body) this.readItems(e.body.items, schema, `\`${section.name} { }\``);
    this.lora.push(section);
    this.at.set(section, e.key.range);
  }

  private readShare(e: Entry): void {
    const values = [...e.values];
    let share: ShareMatrix = 'A';
    const first = values[0] ? this.deref(values[0]) : undefined;
    if (first?.kind === 'word' && !['across', 'all', 'blocks'].includes(first.name)) {
      const m = this.choice(values[0], 'matrix to share', ['A', 'B', 'both'] as const);
      if (!m) return;
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
      const blocks = this.selection(values.slice(1), values.length > 1 ? this.index.span(values[1]!.range, values[values.length - 1]!.range) : head.range);
      if (!blocks) return;
      group = { share, members: { kind: 'blocks', blocks } };
    } else {
      const names: Word[] = [];
      for (const v of values) {
        if (v.kind === 'word') names.push(v);
        else this.error('bad-value', v.range, `\`${this.describe(v)}\` is not a module or section name`, 'write module ids (`b0, b1`), section names, `all`, or `blocks 0..5`');
      }
      if (names.length === 0) return;
      group = { share, members: { kind: 'named', modules: [], sections: [] } };
      this.shareNames.set(group, names);
    }
    this.share.push(group);
    this.at.set(group, e.range);
  }

  private readMerge(e: Entry): void {
    const merge: MergePlan = { static: [], init: 'first' };
    const schedule: Partial<NonNullable<MergePlan['schedule']>> & { wrote: boolean } = { wrote: false };
    const keys = () => Object.keys(schema);
    const schema: Schema = {
      static: {
        repeat: true,
        read: (x) => {
          if (x.values.length === 0) this.error('missing-value', x.key.range, '`static` needs spans to merge, e.g. `static 0..1, 4..6`');
          for (const raw of x.values) {
            const v = this.deref(raw);
            if (v.kind !== 'range') {
              this.error('bad-value', raw.range, `a static merge is a range of blocks like \`0..1\`, not \`${this.describe(v)}\``);
              continue;
            }
            const from = this.number(v.from, { what: 'a block index', integer: true });
            const to = this.number(v.to, { what: 'a block index', integer: true });
            if (from === undefined || to === undefined) continue;
            if (Math.sign(from) === Math.sign(to) && from >= to) {
              this.error('bad-range', raw.range, `a static merge spans two or more blocks; ${from}..${to} does not`);
              continue;
            }
            const range: BlockRange = { from, to };
            merge.static.push(range);
            this.at.set(range, raw.range);
            const selection: BlockSelection = { ranges: [range], every: 1 };
            this.selections.push({ selection, range: raw.range });
          }
        },
      },
      init: { read: (x) => assign(this.choice(this.one(x, '`first` or `svd`', keys()), 'merge init', ['first', 'svd'] as const), (v) => (merge.init = v)) },
      ...this.scheduleKeys(schedule, keys),
      max_span: {
        read: (x) => {
          schedule.wrote = true;
          assign(this.number(this.one(x, 'a whole number of blocks', keys()), { what: 'max_span', integer: true, min: 1 }), (v) => {
            schedule.maxSpan = v;
            this.at.set(schedule, x.range);
          });
        },
      },
    };
    this.readItems(e.body?.items ?? [], schema, '`merge { }`');
    const built = this.finishSchedule(schedule, e, 'merge');
    if (built) {
      merge.schedule = { ...built, ...(schedule.maxSpan !== undefined ? { maxSpan: schedule.maxSpan } : {}) };
      this.copyAt(schedule, merge.schedule);
    }
    if (!built && merge.static.length === 0 && !schedule.wrote) {
      this.error('empty-merge', e.key.range, '`merge` says neither what nor when to merge', 'add `static 0..1` for a merge before training, or `every 1 epoch` / `max 4` for SFS-driven merges');
    }
    this.merge = merge;
    this.at.set(merge, e.key.range);
  }

  private copyAt(from: object, to: object): void {
    const range = this.at.get(from);
    if (range) this.at.set(to, range);
  }

  /** Keys shared by `merge` and `inject`: metric, every, max, until. */
  private scheduleKeys(schedule: { metric?: SfsMetric; every?: Interval; max?: number; until?: number; wrote: boolean }, keys: () => string[]): Schema {
    return {
      metric: {
        read: (x) => {
          schedule.wrote = true;
          assign(this.metric(x, keys()), (v) => (schedule.metric = v));
        },
      },
      every: {
        read: (x) => {
          schedule.wrote = true;
          assign(this.interval(x.values, x.range, '`every`'), (v) => {
            schedule.every = v;
            this.at.set(v, x.range);
          });
        },
      },
      max: {
        read: (x) => {
          schedule.wrote = true;
          assign(this.number(this.one(x, 'a positive integer', keys()), { what: '`max`', integer: true, min: 1 }), (v) => {
            schedule.max = v;
            this.at.set(schedule, x.range);
          });
        },
      },
      until: {
        read: (x) => {
          schedule.wrote = true;
          assign(this.fraction(this.one(x, 'a fraction of training like `25%`', keys()), '`until`'), (v) => (schedule.until = v));
        },
      },
    };
  }

  /**
   * Completes metric/every/max/until. Without `every`, the GLUE script's interval is used:
   * floor(E / 4 / max) + 1 (in the training length's unit), which needs `max`.
   */
  private finishSchedule(
    s: { metric?: SfsMetric; every?: Interval; max?: number; until?: number; wrote: boolean },
    e: Entry,
    what: 'merge' | 'inject',
  ): { metric: SfsMetric; every: Interval; everyDerived: boolean; max?: number; until: number } | undefined {
    if (!s.wrote) return undefined;
    let every = s.every;
    let everyDerived = false;
    if (!every) {
      if (s.max === undefined) {
        this.error('incomplete-schedule', e.key.range, `\`${what}\` needs \`every\` or \`max\` to know when to ${what}`, `e.g. \`every 1 epoch\`, or \`max 4\` to ${what} roughly evenly over the first quarter of training`);
        return undefined;
      }
      // Filled in by finish() once the training length is known.
      every = { count: 0, unit: 'epochs' };
      everyDerived = true;
    }
    const out = { metric: s.metric ?? { kind: 'mean' as const }, every, everyDerived, until: s.until ?? 1, ...(s.max !== undefined ? { max: s.max } : {}) };
    this.at.set(out.every, this.at.get(s.every ?? {}) ?? e.key.range);
    this.copyAt(s, out);
    return out;
  }

  private readInject(e: Entry): void {
    const schedule: { metric?: SfsMetric; every?: Interval; max?: number; until?: number; wrote: boolean } = { wrote: true };
    const extra: { rank?: number; alpha?: number; dropout?: number; targets?: ProjectionTarget[] } = {};
    const keys = () => Object.keys(schema);
    const schema: Schema = {
      ...this.scheduleKeys(schedule, keys),
      rank: {
        read: (x) =>
          assign(this.number(this.one(x, 'a positive integer', keys()), { what: 'rank', integer: true, min: 1 }), (v) => {
            extra.rank = v;
          }),
      },
      alpha: { read: (x) => assign(this.number(this.one(x, 'a positive number', keys()), { what: 'alpha', min: 0, above: true }), (v) => (extra.alpha = v)) },
      dropout: { read: (x) => assign(this.number(this.one(x, 'a probability in [0, 1)', keys()), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (extra.dropout = v)) },
      on: {
        read: (x) =>
          assign(this.targets(x), (v) => {
            extra.targets = v;
            this.at.set(v, x.range);
          }),
      },
    };
    this.readItems(e.body?.items ?? [], schema, '`inject { }`');
    const built = this.finishSchedule(schedule, e, 'inject');
    if (!built) return;
    const inject: InjectPlan = {
      ...built,
      targets: extra.targets ?? [
        { kind: 'role', role: 'q' },
        { kind: 'role', role: 'v' },
      ],
      ...(extra.rank !== undefined ? { rank: extra.rank } : {}),
      ...(extra.alpha !== undefined ? { alpha: extra.alpha } : {}),
      ...(extra.dropout !== undefined ? { dropout: extra.dropout } : {}),
    };
    this.copyAt(built, inject);
    this.copyAt(built.every, inject.every);
    this.at.set(inject, e.key.range);
    this.inject = inject;
  }

  private readTask(x: Entry, train: TrainPlan): void {
    const raw = this.one(x, '`classify(...)`, `lm(...)` or `regress(...)`', TRAIN_KEYS);
    if (!raw) return;
    const v = this.deref(raw);
    const kind = this.choice(v.kind === 'call' ? v.callee : v, 'task', ['classify', 'lm', 'regress'] as const);
    if (!kind) return;
    const args = v.kind === 'call' ? v.args.map((g) => this.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
    const str = (a: Entry, what: string) => this.string(this.one(a, 'a tensor or data key name in quotes'), what);
    if (kind === 'classify') {
      const task: TaskPlan = { kind, logits: 'logits', labels: 'labels' };
      this.readEntries(
        args,
        {
          logits: { read: (a) => assign(str(a, 'logits'), (s) => (task.logits = s)) },
          labels: { read: (a) => assign(str(a, 'labels'), (s) => (task.labels = s)) },
        },
        '`classify(...)`',
      );
      train.task = task;
    } else if (kind === 'lm') {
      const task: TaskPlan = { kind, logits: 'logits', labels: 'input_ids', ignoreIndex: DEFAULTS.ignoreIndex, shift: true };
      this.readEntries(
        args,
        {
          logits: { read: (a) => assign(str(a, 'logits'), (s) => (task.logits = s)) },
          labels: { read: (a) => assign(str(a, 'labels'), (s) => (task.labels = s)) },
          ignore_index: { read: (a) => assign(this.number(this.one(a, 'an integer'), { what: 'ignore_index', integer: true }), (n) => (task.ignoreIndex = n)) },
          shift: { read: (a) => assign(this.bool(this.one(a, '`true` or `false`'), 'shift'), (b) => (task.shift = b)) },
        },
        '`lm(...)`',
      );
      train.task = task;
    } else {
      const task: TaskPlan = { kind, output: 'logits', target: 'labels', loss: 'mse' };
      this.readEntries(
        args,
        {
          output: { read: (a) => assign(str(a, 'output'), (s) => (task.output = s)) },
          target: { read: (a) => assign(str(a, 'target'), (s) => (task.target = s)) },
          loss: { read: (a) => assign(this.choice(this.one(a, '`mse`'), 'regression loss', ['mse'] as const), (l) => (task.loss = l)) },
        },
        '`regress(...)`',
      );
      train.task = task;
    }
  }

  private readOptimizer(x: Entry, train: TrainPlan): void {
    const raw = this.one(x, '`adamw(...)` or `sgd(...)`', TRAIN_KEYS);
    if (!raw) return;
    const v = this.deref(raw);
    const kind = this.choice(v.kind === 'call' ? v.callee : v, 'optimizer', ['adamw', 'sgd'] as const);
    if (!kind) return;
    const args = v.kind === 'call' ? v.args.map((g) => this.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
    const lr = (a: Entry, set: (n: number) => void) => assign(this.number(this.one(a, 'a positive number'), { what: 'lr', min: 0, above: true }), set);
    const wd = (a: Entry, set: (n: number) => void) => assign(this.number(this.one(a, 'a number >= 0'), { what: 'weight_decay', min: 0 }), set);
    if (kind === 'adamw') {
      const opt: OptimizerPlan = { kind, lr: DEFAULTS.lr, betas: [...DEFAULTS.betas], eps: DEFAULTS.eps, weightDecay: DEFAULTS.adamwWeightDecay };
      this.readEntries(
        args,
        {
          lr: { read: (a) => lr(a, (n) => (opt.lr = n)) },
          betas: {
            read: (a) => {
              const items = a.values.flatMap((b) => {
                const d = this.deref(b);
                return d.kind === 'list' ? d.items : [b];
              });
              if (items.length !== 2) {
                this.error('bad-value', a.range, `betas are two numbers, got ${items.length}`, 'write `betas 0.9 0.999` or `betas [0.9, 0.999]`');
                return;
              }
              const b1 = this.number(items[0], { what: 'beta1', min: 0, max: 1, below: true });
              const b2 = this.number(items[1], { what: 'beta2', min: 0, max: 1, below: true });
              if (b1 !== undefined && b2 !== undefined) opt.betas = [b1, b2];
            },
          },
          eps: { read: (a) => assign(this.number(this.one(a, 'a positive number'), { what: 'eps', min: 0, above: true }), (n) => (opt.eps = n)) },
          weight_decay: { read: (a) => wd(a, (n) => (opt.weightDecay = n)) },
        },
        '`adamw(...)`',
      );
      train.optimizer = opt;
    } else {
      const opt: OptimizerPlan = { kind, lr: DEFAULTS.lr, momentum: 0, nesterov: false, weightDecay: 0 };
      let wroteLr = false;
      this.readEntries(
        args,
        {
          lr: { read: (a) => ((wroteLr = true), lr(a, (n) => (opt.lr = n))) },
          momentum: { read: (a) => assign(this.number(this.one(a, 'a number in [0, 1)'), { what: 'momentum', min: 0, max: 1, below: true }), (n) => (opt.momentum = n)) },
          nesterov: { read: (a) => assign(this.bool(this.one(a, '`true` or `false`'), 'nesterov'), (b) => (opt.nesterov = b)) },
          weight_decay: { read: (a) => wd(a, (n) => (opt.weightDecay = n)) },
        },
        '`sgd(...)`',
      );
      if (!wroteLr) this.error('missing-value', raw.range, '`sgd` needs a learning rate', 'write e.g. `sgd(lr 0.01, momentum 0.9)`');
      if (opt.nesterov && opt.momentum === 0) this.error('bad-value', raw.range, 'nesterov needs momentum > 0', 'add e.g. `momentum 0.9`');
      train.optimizer = opt;
    }
  }

  private readLrSchedule(x: Entry, train: TrainPlan): void {
    const raw = this.one(x, '`constant`, `linear(warmup 6%)` or `cosine(warmup 100 steps)`', TRAIN_KEYS);
    if (!raw) return;
    const v = this.deref(raw);
    const kind = this.choice(v.kind === 'call' ? v.callee : v, 'LR schedule', ['constant', 'linear', 'cosine'] as const);
    if (!kind) return;
    let warmup: Warmup = kind === 'constant' ? { unit: 'steps', count: 0 } : { unit: 'fraction', fraction: DEFAULTS.warmupFraction };
    const args = v.kind === 'call' ? v.args.map((g) => this.argEntry(g, kind)).filter((a): a is Entry => a !== undefined) : [];
    this.readEntries(
      args,
      {
        warmup: {
          read: (a) => {
            const first = a.values[0] ? this.deref(a.values[0]) : undefined;
            if (first?.kind === 'percent') {
              this.noExtra(a, 1);
              assign(this.number(a.values[0], { what: 'warmup', percent: true, min: 0, max: 1, below: true }), (f) => (warmup = { unit: 'fraction', fraction: f }));
              return;
            }
            if (first?.kind === 'number' && a.values.length === 1 && first.value === 0) {
              warmup = { unit: 'steps', count: 0 };
              return;
            }
            const iv = this.interval(a.values, a.range, 'warmup');
            if (!iv) return;
            if (iv.unit === 'epochs') this.error('bad-value', a.range, 'warmup is counted in steps or as a percentage', 'write `warmup 100 steps` or `warmup 6%`');
            else warmup = { unit: 'steps', count: iv.count };
          },
        },
      },
      `\`${kind}(...)\``,
    );
    train.schedule = { kind, warmup };
    this.at.set(train.schedule, x.range);
  }

  private readTrain(e: Entry): void {
    const train = this.train;
    const setLength = (x: Entry, unit: 'steps' | 'epochs') => {
      assign(this.number(this.one(x, 'a positive integer', TRAIN_KEYS), { what: unit, integer: true, min: 1 }), (n) => {
        if (this.wroteLength) {
          this.error('conflicting-settings', x.key.range, 'training length is set twice', 'use either `epochs N` or `steps N`');
          return;
        }
        this.wroteLength = true;
        train.length = { count: n, unit };
        this.at.set(train.length, x.range);
      });
    };
    const schema: Schema = {
      task: { read: (x) => this.readTask(x, train) },
      trainable: {
        repeat: true,
        read: (x) => {
          const pattern = this.string(x.values[0], 'a trainable pattern');
          if (!x.values[0]) this.error('missing-value', x.key.range, '`trainable` needs an initializer-name pattern, e.g. `trainable "classifier.*"`');
          let lrScale = 1;
          if (x.values.length > 1) {
            const word = x.values[1]!;
            if (word.kind === 'word' && word.name === 'lr_scale') {
              if (!x.values[2]) this.error('missing-value', word.range, '`lr_scale` needs a number, e.g. `lr_scale 0.5`');
              lrScale = this.number(x.values[2], { what: 'lr_scale', min: 0, above: true }) ?? 1;
              if (x.values.length > 3) this.error('extra-value', x.values[3]!.range, 'unexpected value after `lr_scale`');
            } else {
              this.error('bad-value', word.range, `unexpected \`${this.describe(word)}\` after the pattern`, didYouMean(word.kind === 'word' ? word.name : '', ['lr_scale']) ?? 'only `lr_scale N` may follow the pattern');
            }
          }
          if (pattern !== undefined) {
            if (pattern.length === 0) this.error('bad-value', x.values[0]!.range, 'an empty pattern matches nothing');
            else {
              const t = { pattern, lrScale };
              train.trainable.push(t);
              this.at.set(t, x.range);
            }
          }
        },
      },
      optimizer: { read: (x) => this.readOptimizer(x, train) },
      schedule: { read: (x) => this.readLrSchedule(x, train) },
      clip: { read: (x) => assign(this.number(this.one(x, 'a positive number (max gradient norm)', TRAIN_KEYS), { what: 'clip', min: 0, above: true }), (n) => (train.clipNorm = n)) },
      batch: { read: (x) => assign(this.number(this.one(x, 'a positive integer', TRAIN_KEYS), { what: 'batch', integer: true, min: 1 }), (n) => (train.batch = n)) },
      accumulate: { read: (x) => assign(this.number(this.one(x, 'a positive integer', TRAIN_KEYS), { what: 'accumulate', integer: true, min: 1 }), (n) => (train.accumulate = n)) },
      epochs: { read: (x) => setLength(x, 'epochs') },
      steps: { read: (x) => setLength(x, 'steps') },
      eval: {
        read: (x) => {
          const values = x.values[0]?.kind === 'word' && x.values[0].name === 'every' ? x.values.slice(1) : x.values;
          assign(this.interval(values, x.range, '`eval every`'), (iv) => {
            train.evalEvery = iv;
            this.at.set(iv, x.range);
          });
        },
      },
      seed: { read: (x) => assign(this.number(this.one(x, 'an integer >= 0', TRAIN_KEYS), { what: 'seed', integer: true, min: 0 }), (n) => (train.seed = n)) },
      precision: { read: (x) => assign(this.choice(this.one(x, '`fp32` or `fp16`', TRAIN_KEYS), 'precision', ['fp32', 'fp16'] as const), (p) => (train.precision = p)) },
    };
    this.readItems(e.body?.items ?? [], schema, '`train { }`');
    this.at.set(train, e.key.range);
  }

  private readTarget(e: Entry): void {
    const device = this.choice(this.one({ ...e, values: e.values.slice(0, 1) }, '`cpu` or `cuda`'), 'target', ['cpu', 'cuda'] as const);
    const rest = e.values.slice(1);
    let fallback: 'cpu' | undefined;
    if (rest.length > 0) {
      const word = rest[0]!;
      if (word.kind === 'word' && word.name === 'fallback') {
        fallback = this.choice(rest[1], 'fallback', ['cpu'] as const);
        if (!rest[1]) this.error('missing-value', word.range, '`fallback` needs a device: `fallback cpu`');
        if (rest.length > 2) this.error('extra-value', rest[2]!.range, 'unexpected value after `fallback cpu`');
      } else {
        this.error('bad-value', word.range, `unexpected \`${this.describe(word)}\` after the device`, didYouMean(word.kind === 'word' ? word.name : '', ['fallback']) ?? 'write `target cuda fallback cpu`');
      }
    }
    if (!device) return;
    if (device === 'cpu' && fallback) this.report('warning', 'useless-fallback', e.range, '`fallback cpu` does nothing when the target is already cpu');
    this.target = device === 'cuda' && fallback ? { device, fallback } : { device };
  }

  private readBlocksDiscovery(e: Entry): void {
    const mode = this.choice(e.values[0], 'block discovery', ['auto', 'pattern', 'boundaries'] as const);
    if (!e.values[0]) {
      this.error('missing-value', e.key.range, '`blocks` needs how to find them: `auto`, `pattern "...{i}..."` or `boundaries [...]`');
      return;
    }
    if (!mode) {
      const first = this.deref(e.values[0]);
      if (first.kind === 'number' || first.kind === 'range' || (first.kind === 'word' && first.name === 'all')) {
        // Replace the generic message with the likely intent.
        this.diagnostics.pop();
        this.error('bad-value', e.values[0].range, 'top-level `blocks` says how blocks are found, not which get modules', 'write `blocks auto` here, and choose blocks inside `lor2c { blocks 0..11 }`');
      }
      return;
    }
    if (mode === 'auto') {
      this.noExtra(e, 1);
      this.blocks = { kind: 'auto' };
    } else if (mode === 'pattern') {
      this.noExtra(e, 2);
      const pattern = this.string(e.values[1], 'the block pattern');
      if (!e.values[1]) this.error('missing-value', e.values[0].range, '`pattern` needs a node-name pattern with `{i}`, e.g. `"/encoder/layer.{i}/*"`');
      if (pattern === undefined) return;
      if (!pattern.includes('{i}')) {
        this.error('bad-value', e.values[1]!.range, 'the block pattern must contain `{i}` where the block index goes', 'e.g. "/encoder/layer.{i}/*"');
        return;
      }
      this.blocks = { kind: 'pattern', pattern };
    } else {
      const tensors: string[] = [];
      for (const raw of e.values.slice(1).flatMap((v) => {
        const d = this.deref(v);
        return d.kind === 'list' ? d.items : [v];
      })) {
        const s = this.string(raw, 'a boundary tensor name');
        if (s !== undefined) tensors.push(s);
      }
      if (tensors.length < 2) {
        this.error('bad-value', e.range, '`boundaries` lists L+1 tensors: the stream entering block 0, then each block output', 'e.g. `boundaries ["embeddings", "layer0_out", "layer1_out"]` for 2 blocks');
        return;
      }
      this.blocks = { kind: 'boundaries', tensors };
    }
    this.at.set(this.blocks, e.range);
  }

  private readModel(e: Entry): void {
    const p = this.string(this.one(e, 'a path in quotes', TOP_KEYS), 'the model path');
    if (p === undefined) return;
    if (p.length === 0) {
      this.error('bad-value', e.values[0]!.range, 'the model path is empty');
      return;
    }
    // Relative to the spec's folder, so a spec and its model can move together.
    this.model = path.isAbsolute(p) ? p : path.join(path.dirname(this.file), p);
  }

  read(ast: SpecFile): void {
    const top: Schema = {
      model: { read: (e) => this.readModel(e) },
      blocks: { read: (e) => this.readBlocksDiscovery(e) },
      lor2c: { repeat: true, body: 'optional', read: (e) => this.readLor2c(e) },
      lora: { repeat: true, body: 'optional', read: (e) => this.readLora(e) },
      share: { repeat: true, read: (e) => this.readShare(e) },
      merge: { body: 'required', read: (e) => this.readMerge(e) },
      inject: { body: 'optional', read: (e) => this.readInject(e) },
      train: { body: 'required', read: (e) => this.readTrain(e) },
      target: { read: (e) => this.readTarget(e) },
    };
    this.readItems(ast.items, top, 'the top level');
  }

  /** The Plan and its side tables, with derived schedule intervals filled in. */
  draft(facts?: ModelFacts): Draft {
    for (const [group, names] of this.shareNames) {
      if (group.members.kind !== 'named') continue;
      for (const n of names) {
        if (this.lor2c.some((s) => s.name === n.name)) group.members.sections.push(n.name);
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
    };
    // GLUE script (method.md §4): every floor(E / 4 / M) + 1 epochs, in the training length's unit.
    for (const s of [plan.merge?.schedule, plan.inject]) {
      if (!s || !s.everyDerived || s.max === undefined) continue;
      const total = plan.train.length;
      s.every.count = Math.floor(total.count / 4 / s.max) + 1;
      s.every.unit = total.unit;
    }
    return {
      plan,
      file: this.file,
      ...(facts ? { facts } : {}),
      at: this.at,
      selections: this.selections,
      shareNames: this.shareNames,
      lets: this.lets,
      wroteLength: this.wroteLength,
    };
  }
}

function assign<T>(value: T | undefined, set: (v: T) => void): void {
  if (value !== undefined) set(value);
}

export function defaultTrain(): TrainPlan {
  return {
    task: { kind: 'classify', logits: 'logits', labels: 'labels' },
    trainable: [],
    optimizer: { kind: 'adamw', lr: DEFAULTS.lr, betas: [...DEFAULTS.betas], eps: DEFAULTS.eps, weightDecay: DEFAULTS.adamwWeightDecay },
    schedule: { kind: 'linear', warmup: { unit: 'fraction', fraction: DEFAULTS.warmupFraction } },
    batch: DEFAULTS.batch,
    accumulate: DEFAULTS.accumulate,
    length: { count: DEFAULTS.epochs, unit: 'epochs' },
    seed: DEFAULTS.seed,
    precision: 'fp32',
  };
}

/** One named argument per call, for hints. */
const ARGUMENT_EXAMPLES: Record<string, string> = {
  classify: 'logits "logits", labels "label"',
  lm: 'logits "logits", labels "input_ids"',
  regress: 'output "score", target "label"',
  adamw: 'lr 4e-4',
  sgd: 'lr 0.01, momentum 0.9',
  constant: 'warmup 100 steps',
  linear: 'warmup 6%',
  cosine: 'warmup 6%',
};

const TOP_KEYS = ['model', 'blocks', 'lor2c', 'lora', 'share', 'merge', 'inject', 'train', 'target'];
const TRAIN_KEYS = ['task', 'trainable', 'optimizer', 'schedule', 'clip', 'batch', 'accumulate', 'epochs', 'steps', 'eval', 'seed', 'precision'];

