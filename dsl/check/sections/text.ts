/**
 * `text { tokenizer "tokenizer.json" ... }`: how data files of raw text become model inputs,
 * the spec's home for what `lor2c compile --tokenizer` and its field flags say (the flags win
 * where both are given). Paths are relative to the spec's folder, like `model`.
 */
import type { TextPlan } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { filePath, int, readSection, section, settingsOf, text } from '../schema.ts';

const s = settingsOf<Partial<TextPlan>>();
const fieldName = text({ expected: 'a field name in quotes', nonEmpty: true });

export const TEXT = section<Partial<TextPlan>>('`text { }`', {
  tokenizer: s.value('tokenizer', filePath(), { doc: 'a Hugging Face tokenizer.json (required)', what: 'the tokenizer path', flag: 'tokenizer' }),
  text_field: s.value('textField', fieldName, { doc: 'the field holding the text (default "text")', what: 'the text field', flag: 'text-field' }),
  pair_field: s.value('pairField', fieldName, { doc: "a sentence pair's second text (default: none)", what: 'the pair field', flag: 'pair-field' }),
  label_field: s.value('labelField', fieldName, { doc: "the label's field (default: the task's label key)", what: 'the label field', flag: 'label-field' }),
  max_length: s.value('maxLength', int({ min: 1 }), { doc: 'tokens at most, special tokens included', flag: 'max-length' }),
  labels: s.custom({ doc: 'label names in class-id order (default: sorted)', field: 'labels', expected: 'two or more names in quotes', flag: 'labels', read: readLabels }),
});

function readLabels(r: SpecReader, x: Entry, plan: Partial<TextPlan>): void {
  const items = x.values.flatMap((v) => {
    const d = r.deref(v);
    return d.kind === 'list' ? d.items : [v];
  });
  const names = items.map((v) => r.string(v, 'a label name'));
  if (names.some((n) => n === undefined)) return;
  if (names.length < 2) return r.error('bad-value', x.range, `labels names the classes in id order: two or more, got ${names.length}`, 'write `labels ["ham", "spam"]`');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) return r.error('bad-value', x.range, `the label "${dup}" is listed twice`);
  plan.labels = names as string[];
}

export function readText(r: SpecReader, e: Entry): TextPlan | undefined {
  const plan: Partial<TextPlan> = {};
  readSection(r, TEXT, plan, { items: e.body?.items ?? [] });
  if (plan.tokenizer === undefined) {
    r.error('missing-value', e.key.range, '`text { }` needs the tokenizer that reads the raw text', 'write `tokenizer "tokenizer.json"` inside it');
    return undefined;
  }
  return plan as TextPlan;
}
