/**
 * `text { tokenizer "tokenizer.json" ... }`: how data files of raw text become model inputs,
 * the spec's home for what `lor2c compile --tokenizer` and its field flags say (the flags win
 * where both are given). Paths are relative to the spec's folder, like `model`.
 */
import path from 'node:path';
import type { TextPlan } from '../../../contract/plan.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';

export function readText(r: SpecReader, e: Entry): TextPlan | undefined {
  const text: Partial<TextPlan> = {};
  const keys = () => Object.keys(schema);
  const field = (key: 'textField' | 'pairField' | 'labelField', what: string) => ({
    read: (x: Entry) => assign(nonEmpty(r, x, r.string(r.one(x, 'a field name in quotes', keys()), what), what), (v) => (text[key] = v)),
  });
  const schema: Schema = {
    tokenizer: {
      read: (x) =>
        assign(nonEmpty(r, x, r.string(r.one(x, 'a path in quotes', keys()), 'the tokenizer path'), 'the tokenizer path'), (p) => {
          text.tokenizer = path.isAbsolute(p) ? p : path.join(path.dirname(r.file), p);
        }),
    },
    text_field: field('textField', 'the text field'),
    pair_field: field('pairField', 'the pair field'),
    label_field: field('labelField', 'the label field'),
    max_length: { read: (x) => assign(r.number(r.one(x, 'a positive integer', keys()), { what: 'max_length', integer: true, min: 1 }), (v) => (text.maxLength = v)) },
    labels: {
      read: (x) => {
        const items = x.values.flatMap((v) => {
          const d = r.deref(v);
          return d.kind === 'list' ? d.items : [v];
        });
        const names = items.map((v) => r.string(v, 'a label name'));
        if (names.some((n) => n === undefined)) return;
        if (names.length < 2) return r.error('bad-value', x.range, `labels names the classes in id order: two or more, got ${names.length}`, 'write `labels ["ham", "spam"]`');
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        if (dup !== undefined) return r.error('bad-value', x.range, `the label "${dup}" is listed twice`);
        text.labels = names as string[];
      },
    },
  };
  r.readItems(e.body?.items ?? [], schema, '`text { }`');
  if (text.tokenizer === undefined) {
    r.error('missing-value', e.key.range, '`text { }` needs the tokenizer that reads the raw text', 'write `tokenizer "tokenizer.json"` inside it');
    return undefined;
  }
  return text as TextPlan;
}

function nonEmpty(r: SpecReader, x: Entry, value: string | undefined, what: string): string | undefined {
  if (value === '') r.error('bad-value', x.values[0]!.range, `${what} is empty`);
  return value === '' ? undefined : value;
}
