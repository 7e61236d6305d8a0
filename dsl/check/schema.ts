/**
 * Settings as data. Each section is one `SectionSchema`: every setting it accepts, declared
 * once, with its value type (so its reader and the words "a positive integer" in its messages),
 * its default, its doc line and the command-line flag that overrides it. Everything else is
 * derived from that one declaration: the section's reader (`readSection`), its key list (for
 * "did you mean", "`epochs` goes in `train { }`" and "a setting not ended" hints), its defaults
 * (`defaultsOf`) and the override flags (`flagsOf`).
 *
 * A value type reads and describes one kind of value (`int({ min: 1 })`, `choice([...])`); a
 * setting says where the value goes in the section's plan object. A setting too irregular for
 * a value type (a call with arguments of its own, two keys sharing one field) is `custom`: it
 * brings its reader, and is still declared, documented and listed in the one place.
 */
import path from 'node:path';
import type { Item, Value } from '../ast.ts';
import type { BlockSelection, ProjectionTarget, SfsMetric } from '../../contract/plan.ts';
import type { BodyRule, Entry, NumberLimits, Schema, SpecReader } from './reader.ts';

/** What a setting's reader knows besides its entry. */
export interface ReadContext {
  /** The keys of the section being read (a value that is one probably starts the next setting). */
  readonly known: string[];
  /** Keys written in this section, read well or not. */
  readonly seen: Set<string>;
  /** Keys whose value was read without error. */
  readonly set: Set<string>;
}

/** How a value is read: its name in messages ("rank must be at least 1"), its description, the section's keys. */
export interface ReadHow {
  what: string;
  expected: string;
  known: string[];
}

/** One kind of value: how it is read from a setting's values, and how it is described. */
export interface ValueType<T> {
  /** What the setting needs, as "`rank` needs a value: a positive integer" says it. */
  readonly expected: string;
  /** Reads the value. */
  read(r: SpecReader, e: Entry, how: ReadHow): T | undefined;
}

/** One setting of a section, filling part of the section's plan object `S`. */
export interface Setting<S> {
  /** One line for the reference: what the setting does. */
  readonly doc: string;
  /** The plan field it fills (the defaults go there). */
  readonly field?: string;
  /** The value when it is not written (copied fresh for every read). */
  readonly default?: unknown;
  /** What it accepts, for the reference. */
  readonly expected?: string;
  /** May appear more than once. */
  readonly repeat?: boolean;
  readonly body?: BodyRule;
  /** The command-line flag (`--batch`) that overrides the spec's value. */
  readonly flag?: string;
  /** A call setting's forms (`adamw(...)`, `sgd(...)`), whose arguments are keys too. */
  readonly variants?: Readonly<Record<string, Variant>>;
  read(r: SpecReader, e: Entry, target: S, ctx: ReadContext): void;
}

export interface SectionSchema<S> {
  /** The section as messages name it: "unknown setting `x` in `train { }`". */
  readonly home: string;
  readonly settings: Readonly<Record<string, Setting<S>>>;
}

export function section<S>(home: string, settings: Record<string, Setting<S>>): SectionSchema<S> {
  return { home, settings };
}

export interface ValueOptions<V> {
  doc: string;
  default?: V;
  /** The value's name in messages, when not the key (`merge init`). */
  what?: string;
  /** How a missing value is described, when the type's words say too little. */
  expected?: string;
  flag?: string;
  /** Record where the value (an object) was written, for the rules' diagnostics. */
  located?: boolean;
  /** Record the setting as where the section's object was written (a schedule is found at its `max`). */
  locatesTarget?: boolean;
}

export interface CustomOptions<S> {
  doc: string;
  field?: keyof S & string;
  default?: unknown;
  expected?: string;
  repeat?: boolean;
  body?: BodyRule;
  flag?: string;
  variants?: Readonly<Record<string, Variant>>;
  read(r: SpecReader, e: Entry, target: S, ctx: ReadContext): void;
}

/** Settings of plan objects of type `S`: `value` for a field read by a value type, `custom` for the rest. */
export function settingsOf<S>() {
  return {
    value<K extends keyof S & string>(field: K, type: ValueType<NonNullable<S[K]>>, o: ValueOptions<S[K]>): Setting<S> {
      return {
        doc: o.doc,
        field,
        expected: o.expected ?? type.expected,
        ...(o.default !== undefined ? { default: o.default } : {}),
        ...(o.flag !== undefined ? { flag: o.flag } : {}),
        ...('variants' in type ? { variants: (type as CallType<unknown>).variants } : {}),
        read(r, e, target, ctx) {
          const v = type.read(r, e, { what: o.what ?? e.key.name, expected: o.expected ?? type.expected, known: ctx.known });
          if (v === undefined) return;
          target[field] = v;
          if (o.located && typeof v === 'object') r.at.set(v, e.range);
          if (o.locatesTarget) r.at.set(target as object, e.range);
          ctx.set.add(e.key.name);
        },
      };
    },
    custom(o: CustomOptions<S>): Setting<S> {
      return o;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sections

export function keysOf(s: SectionSchema<unknown>): string[] {
  return Object.keys(s.settings);
}

/** The section's defaults, each a fresh copy (a plan never shares an object with the schema). */
export function defaultsOf<S>(s: SectionSchema<S>): Partial<S> {
  const out: Record<string, unknown> = {};
  for (const setting of Object.values(s.settings)) {
    if (setting.field !== undefined && setting.default !== undefined) out[setting.field] = structuredClone(setting.default);
  }
  return out as Partial<S>;
}

/** The command-line flags that override a section's settings, by setting. */
export function flagsOf(s: SectionSchema<unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(s.settings).flatMap(([key, setting]) => (setting.flag !== undefined ? [[key, setting.flag]] : [])));
}

/** The reader's form of a section: one entry rule per setting, writing into `target`. */
function entryRules<S>(r: SpecReader, s: SectionSchema<S>, target: S, ctx: ReadContext): Schema {
  const rules: Schema = {};
  for (const [key, setting] of Object.entries(s.settings)) {
    rules[key] = {
      ...(setting.repeat ? { repeat: true } : {}),
      ...(setting.body ? { body: setting.body } : {}),
      read: (e) => {
        ctx.seen.add(key);
        setting.read(r, e, target, ctx);
      },
    };
  }
  return rules;
}

/**
 * Reads a block's items (or a call's arguments) against a section into `target`; `context` names
 * the section in messages when it is not the schema's home (`\`deep { }\`` for `lor2c deep`).
 */
export function readSection<S>(r: SpecReader, s: SectionSchema<S>, target: S, from: { items: Item[] } | { entries: Entry[] }, context = s.home): ReadContext {
  const ctx: ReadContext = { known: keysOf(s as SectionSchema<unknown>), seen: new Set(), set: new Set() };
  const rules = entryRules(r, s, target, ctx);
  if ('items' in from) r.readItems(from.items, rules, context);
  else r.readEntries(from.entries, rules, context);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Value types

type Bounds = Omit<NumberLimits, 'what' | 'integer' | 'percent'>;

/** "a positive integer", "a number in [0, 1)", "an integer >= 0". */
export function describeNumber(l: Bounds & { integer?: boolean; percent?: boolean }): string {
  const kind = l.integer ? 'integer' : 'number';
  const a = l.integer ? 'an' : 'a';
  const percent = l.percent ? ' or a percentage' : '';
  if (l.min !== undefined && l.max !== undefined) return `a ${kind} in ${l.above ? '(' : '['}${l.min}, ${l.max}${l.below ? ')' : ']'}${percent}`;
  if (l.min !== undefined && ((l.min === 0 && l.above) || (l.integer && l.min === 1 && !l.above))) return `a positive ${kind}${percent}`;
  if (l.min !== undefined) return `${a} ${kind} ${l.above ? '>' : '>='} ${l.min}${percent}`;
  if (l.max !== undefined) return `${a} ${kind} ${l.below ? '<' : '<='} ${l.max}${percent}`;
  return `${a} ${kind}${percent}`;
}

/** A whole number within bounds. */
export function int(bounds: Bounds = {}): ValueType<number> {
  const expected = describeNumber({ ...bounds, integer: true });
  return {
    expected,
    read: (r, e, h) => r.number(r.one(e, h.expected, h.known), { ...bounds, what: h.what, integer: true }),
  };
}

/** A number within bounds; `percent`: `25%` is read as 0.25. */
export function number(bounds: Bounds & { percent?: boolean } = {}): ValueType<number> {
  const expected = describeNumber(bounds);
  return {
    expected,
    read: (r, e, h) => r.number(r.one(e, h.expected, h.known), { ...bounds, what: h.what }),
  };
}

/** "a", "a or b", "a, b or c". */
export function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** "`a`", "`a` or `b`", "`a`, `b` or `c`". */
export function describeChoices(options: readonly string[]): string {
  return joinOr(options.map((o) => `\`${o}\``));
}

/** One of fixed words. */
export function choice<const T extends string>(options: readonly T[]): ValueType<T> {
  const expected = describeChoices(options);
  return {
    expected,
    read: (r, e, h) => r.choice(r.one(e, h.expected, h.known), h.what, options),
  };
}

export function bool(): ValueType<boolean> {
  return {
    expected: describeChoices(['true', 'false']),
    read: (r, e, h) => r.bool(r.one(e, h.expected, h.known), h.what),
  };
}

/** A string in double quotes; `nonEmpty` refuses `""`. */
export function text(o: { expected: string; nonEmpty?: boolean }): ValueType<string> {
  return {
    expected: o.expected,
    read: (r, e, h) => {
      const s = r.string(r.one(e, h.expected, h.known), h.what);
      if (s === '' && o.nonEmpty) {
        r.error('bad-value', e.values[0]!.range, `${h.what} is empty`);
        return undefined;
      }
      return s;
    },
  };
}

/** `N steps` or `N epochs`; `after`: a word that may come first (`eval every 2 epochs`). */
export function interval(o: { after?: string } = {}): ValueType<{ count: number; unit: 'steps' | 'epochs' }> {
  return {
    expected: '`N steps` or `N epochs`',
    read: (r, e, h) => {
      const first = e.values[0];
      const values = o.after !== undefined && first?.kind === 'word' && first.name === o.after ? e.values.slice(1) : e.values;
      return r.interval(values, e.range, h.what);
    },
  };
}

/** Block indices, ranges, `all`, `every K`, within stacks (reader.ts `selection`). */
export function selection(): ValueType<BlockSelection> {
  return {
    expected: 'blocks: `all`, an index, a range like `0..11`, or `every 2`',
    read: (r, e) => r.selection(e.values, e.range),
  };
}

/** Projection roles (`q, v`) or name patterns in quotes. */
export function targets(): ValueType<ProjectionTarget[]> {
  return { expected: 'projections: roles like `q, v` or name patterns in quotes', read: (r, e) => r.targets(e) };
}

/** `mean`, or `topk K`: how SFS sums a module's singular values. */
export function metric(): ValueType<SfsMetric> {
  return { expected: '`mean` or `topk K`', read: (r, e, h) => r.metric(e, h.known) };
}

/** A file path in quotes, resolved against the spec's folder so a spec and its files move together. */
export function filePath(): ValueType<string> {
  const quoted = text({ expected: 'a path in quotes', nonEmpty: true });
  return {
    expected: quoted.expected,
    read: (r, e, h) => {
      const p = quoted.read(r, e, h);
      return p === undefined ? undefined : path.isAbsolute(p) ? p : path.join(path.dirname(r.file), p);
    },
  };
}

/** The same setting with a section's own default (`dropout`: 0.1 in `lor2c { }`, 0 in `lora { }`). */
export function withDefault<S>(setting: Setting<S>, value: unknown): Setting<S> {
  return { ...setting, default: value };
}

/** One form of a call setting: `adamw(...)` of `optimizer`. */
export interface Variant {
  /** One argument, for "write the name, then the value: `adamw(lr 4e-4)`". */
  readonly example?: string;
  /** Its arguments, with their defaults; absent: the word alone (`bf16`), a call refused with `bare`. */
  readonly args?: SectionSchema<unknown>;
  /** Why the word takes no arguments, and what to write. */
  readonly bare?: string;
  /** Checks between arguments once all are read (`sgd` needs `lr`). */
  finish?(r: SpecReader, value: { kind: string }, ctx: ReadContext, at: Value): void;
}

/** A call value: one of the variants' words, alone or with named arguments (`adamw(lr 4e-4)`); read as `{ kind, ...arguments }`. */
export interface CallType<T> extends ValueType<T> {
  readonly variants: Readonly<Record<string, Variant>>;
  /** A variant with all its defaults: the setting's own default names one. */
  defaultOf(kind: string): T;
}

export function call<T extends { kind: string }>(variants: Record<string, Variant>): CallType<T> {
  const kinds = Object.keys(variants);
  const expected = describeChoices(kinds.map((k) => (variants[k]!.args ? `${k}(...)` : k)));
  return {
    expected,
    variants,
    defaultOf: (kind) => ({ kind, ...defaultsOf(variants[kind]!.args ?? section(kind, {})) }) as unknown as T,
    read: (r, e, h) => {
      const raw = r.one(e, h.expected, h.known);
      if (!raw) return undefined;
      const v = r.deref(raw);
      const kind = r.choice(v.kind === 'call' ? v.callee : v, h.what, kinds);
      if (!kind) return undefined;
      const variant = variants[kind]!;
      if (!variant.args) {
        if (v.kind === 'call') {
          r.error('bad-value', raw.range, `\`${kind}\` takes no settings`, variant.bare);
          return undefined;
        }
        return { kind } as T;
      }
      const value = { kind, ...defaultsOf(variant.args) };
      const args = v.kind === 'call' ? v.args.map((g) => r.argEntry(g, kind, variant.example)).filter((a): a is Entry => a !== undefined) : [];
      const ctx = readSection(r, variant.args, value, { entries: args }, `\`${kind}(...)\``);
      variant.finish?.(r, value, ctx, raw);
      return value as unknown as T;
    },
  };
}
