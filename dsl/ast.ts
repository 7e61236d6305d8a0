/**
 * The typed syntax tree of a .lor2c file. Every node carries its source range.
 *
 * The tree mirrors the generic grammar (settings with values and optional blocks); the
 * checker gives settings their meaning. Nodes that error recovery could not complete are
 * simply absent, so a tree built from broken text is still well-formed.
 */
import type { SourceRange } from './diagnostics.ts';

export interface SpecFile {
  kind: 'spec';
  items: Item[];
  /** Every `#` / `//` comment, in source order (the formatter re-attaches them). */
  comments: CommentNode[];
  range: SourceRange;
}

export type Item = LetStatement | Setting;

/** `let name = value`: a named value usable wherever a value is expected, after its definition. */
export interface LetStatement {
  kind: 'let';
  name: Word;
  value: Value;
  range: SourceRange;
}

/**
 * `key values... { body }`: `rank 8`, `blocks 0..3, 8`, `lor2c deep { ... }`.
 * `groups` are the comma-separated parts of the values; each holds one or more values.
 */
export interface Setting {
  kind: 'setting';
  key: Word;
  groups: ValueGroup[];
  body?: Block;
  range: SourceRange;
}

export interface Block {
  kind: 'block';
  items: Item[];
  range: SourceRange;
}

/** Values written next to each other without a comma: `every 2 epochs`, `topk 3`. */
export interface ValueGroup {
  kind: 'group';
  values: Value[];
  range: SourceRange;
}

export type Value = NumberValue | PercentValue | StringValue | WordValue | CallValue | ListValue | RangeValue;

export interface NumberValue {
  kind: 'number';
  value: number;
  /** The text as written (kept by the formatter: `4e-4` stays `4e-4`). */
  raw: string;
  range: SourceRange;
}

/** `25%`: `value` is the fraction 0.25. */
export interface PercentValue {
  kind: 'percent';
  value: number;
  raw: string;
  range: SourceRange;
}

export interface StringValue {
  kind: 'string';
  value: string;
  raw: string;
  range: SourceRange;
}

/** A bare identifier: a keyword-like word (`all`, `mean`, `epochs`) or a `let` reference. */
export interface WordValue {
  kind: 'word';
  name: string;
  range: SourceRange;
}

/** `name(args)`: `adamw(lr 4e-4)`, `classify(logits "logits", labels "label")`. */
export interface CallValue {
  kind: 'call';
  callee: Word;
  args: ValueGroup[];
  range: SourceRange;
}

export interface ListValue {
  kind: 'list';
  items: Value[];
  range: SourceRange;
}

/** `from..to`, both ends inclusive. */
export interface RangeValue {
  kind: 'range';
  from: Value;
  to: Value;
  range: SourceRange;
}

/** An identifier in a key or name position. */
export interface Word {
  kind: 'word';
  name: string;
  range: SourceRange;
}

export interface CommentNode {
  kind: 'comment';
  /** The full comment including its `#` or `//`. */
  text: string;
  range: SourceRange;
}
