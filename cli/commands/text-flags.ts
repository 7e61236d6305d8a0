/** Flags of the commands that read raw text (compile, train, eval, infer): the tokenizer and the fields. */
import { positiveInt } from '../args.ts';
import { UsageError } from '../command.ts';
import { classCount, loadTextInput, readManifest, saveTextInput, TEXT_CONFIG, type TextFlags, type TextInput } from '../../runtime/index.ts';

export const TEXT_OPTIONS = {
  tokenizer: { type: 'string' },
  'text-field': { type: 'string' },
  'pair-field': { type: 'string' },
  'label-field': { type: 'string' },
  'max-length': { type: 'string' },
} as const;

export const TEXT_HELP = `Raw text (JSONL with a "text" field, or CSV / TSV with a header line) is tokenized with
DIR's tokenizer (compile --tokenizer) or:
  --tokenizer FILE     a Hugging Face tokenizer.json (kept in DIR for the commands after)
  --text-field NAME    the field with the text (default text)
  --pair-field NAME    the field with a sentence pair's second text
  --label-field NAME   the field with the label (default: the task's label key); string
                       labels get a label map (sorted names), kept in DIR/${TEXT_CONFIG}
  --max-length N       tokens at most, special tokens included (default: the model's fixed
                       sequence length or the tokenizer's truncation)`;

type TextValues = { tokenizer?: string; 'text-field'?: string; 'pair-field'?: string; 'label-field'?: string; 'max-length'?: string };

export function textFlags(values: TextValues, labels?: string): TextFlags {
  const names = labels?.split(',').map((s) => s.trim());
  if (names && names.some((n) => n === '')) throw new UsageError(`--labels needs comma-separated names, got '${labels}'`);
  return {
    tokenizer: values.tokenizer,
    textField: values['text-field'],
    pairField: values['pair-field'],
    labelField: values['label-field'],
    maxLength: positiveInt('max-length', values['max-length']),
    labels: names,
  };
}

/** DIR's text input with the command line's flags applied (undefined: no tokenizer anywhere). */
export function textInputFor(dir: string, values: TextValues): TextInput | undefined {
  const flags = textFlags(values);
  const input = loadTextInput(dir, flags);
  if (!input && Object.values(flags).some((v) => v !== undefined)) {
    throw new UsageError(`--text-field, --pair-field, --label-field and --max-length need a tokenizer: pass --tokenizer FILE (DIR has no ${TEXT_CONFIG})`);
  }
  return input;
}

/**
 * Keeps the text settings with the artifacts when this command set them first: a tokenizer
 * given on the command line, or a label map fixed by the data just read.
 */
export function keepTextInput(command: string, dir: string, input: TextInput | undefined, values: TextValues): void {
  if (!input || !(input.labelsChanged || values.tokenizer !== undefined)) return;
  const labels = input.labelsChanged && input.labels ? `; labels ${input.labels.names.map((n, i) => `${n}=${i}`).join(', ')}` : '';
  const classes = classCount(readManifest(dir));
  const fixed = input.labelsChanged ? input.labels : undefined;
  const path = saveTextInput(dir, input);
  console.error(`lor2c ${command}: text settings kept in ${path}${labels}`);
  // A map fixed from data that lacks some class (a file of one class, a label never present)
  // leaves logits no name can reach: training never sees them, and the map is kept from now on.
  if (fixed && classes !== undefined && fixed.size < classes) {
    console.error(
      `lor2c ${command}: warning: the data has ${fixed.size} label${fixed.size === 1 ? '' : 's'} (${fixed.names.join(', ')}) but the model's logits have ${classes} classes; ` +
        `${classes - fixed.size === 1 ? `id ${fixed.size} has` : `ids ${fixed.size}..${classes - 1} have`} no name. If a label is missing from this file, name them all: \`labels [...]\` in the spec's text { } section or --labels a,b,... at compile`,
    );
  }
}
