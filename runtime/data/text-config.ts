/**
 * DIR/text.json: how the artifacts in DIR read raw text. Written by `lor2c compile --tokenizer`
 * (or by the first command given --tokenizer), with the tokenizer copied beside it as
 * DIR/tokenizer.json, so train, eval, infer and export all tokenize the same way without
 * repeating flags; the label map is added the first time labelled text is read.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../contract/errors.ts';
import { writeFileAtomic } from '../../contract/atomic.ts';
import { readRegularFile, readRegularText } from '../../contract/regular-file.ts';
import { TEXT_CONFIG } from '../../contract/artifacts-folder.ts';
import { HfTokenizer } from '../tokenizer/hf.ts';
import { LabelMap } from './labels.ts';
import type { TextInput } from './text-dataset.ts';

export { TEXT_CONFIG };
const TOKENIZER_FILE = 'tokenizer.json';

interface TextConfigFile {
  format: 'lor2c-text';
  tokenizer: string;
  textField: string;
  pairField?: string;
  labelField?: string;
  maxLength?: number;
  labels?: { id2label: Record<string, string>; label2id: Record<string, number> };
}

/** What the command line says (each overrides DIR/text.json). */
export interface TextFlags {
  tokenizer?: string;
  textField?: string;
  pairField?: string;
  labelField?: string;
  maxLength?: number;
  /** Label names in id order (e.g. from --labels ham,spam). */
  labels?: string[];
}

function readConfig(dir: string): TextConfigFile | undefined {
  const path = join(dir, TEXT_CONFIG);
  if (!existsSync(path)) return undefined;
  const text = readRegularText(path, 'text settings file');
  let json: TextConfigFile;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`, 'recompile the artifacts with --tokenizer');
  }
  if (json?.format !== 'lor2c-text' || typeof json.tokenizer !== 'string' || typeof json.textField !== 'string') throw new UserError(`${path}: not a lor2c text settings file`);
  // Every optional field is what the flags it stands for would be, or the run would use a wrong value silently.
  for (const field of ['pairField', 'labelField'] as const) {
    if (json[field] !== undefined && typeof json[field] !== 'string') throw new UserError(`${path}: "${field}" must be a string, got ${JSON.stringify(json[field])}`, 'recompile the artifacts with --tokenizer');
  }
  if (json.maxLength !== undefined && !(Number.isSafeInteger(json.maxLength) && json.maxLength > 0)) throw new UserError(`${path}: "maxLength" must be a positive integer, got ${JSON.stringify(json.maxLength)}`, 'recompile the artifacts with --tokenizer');
  return json;
}

/** The text input of DIR (none: the flags alone) with the flags applied; undefined when neither names a tokenizer. */
export function loadTextInput(dir: string | undefined, flags: TextFlags = {}): TextInput | undefined {
  const config = dir === undefined ? undefined : readConfig(dir);
  const tokenizerPath = flags.tokenizer ?? (config ? resolve(dir!, config.tokenizer) : undefined);
  if (!tokenizerPath) return undefined;
  const labels = flags.labels ? new LabelMap(flags.labels) : config?.labels ? LabelMap.fromJSON(config.labels, join(dir!, TEXT_CONFIG)) : undefined;
  if (flags.labels && config?.labels && LabelMap.fromJSON(config.labels, '').names.join('\n') !== flags.labels.join('\n')) {
    throw new UserError(`--labels ${flags.labels.join(',')} differs from the label map kept in ${join(dir!, TEXT_CONFIG)} (${LabelMap.fromJSON(config.labels, '').names.join(',')})`, 'leave --labels out to use the kept map, or recompile');
  }
  return {
    tokenizer: HfTokenizer.load(tokenizerPath),
    fields: { text: flags.textField ?? config?.textField ?? 'text', pair: flags.pairField ?? config?.pairField, label: flags.labelField ?? config?.labelField },
    maxLength: flags.maxLength ?? config?.maxLength,
    labels,
    labelsChanged: labels !== undefined && !config?.labels,
  };
}

/**
 * Writes DIR/text.json (atomically) and copies the tokenizer
 * into DIR when it lives elsewhere.
 */
export function saveTextInput(dir: string, input: TextInput): string {
  const inside = resolve(dir, TOKENIZER_FILE);
  if (resolve(input.tokenizer.path) !== inside) {
    writeFileAtomic(inside, readRegularFile(input.tokenizer.path, 'tokenizer'));
  }
  const config: TextConfigFile = {
    format: 'lor2c-text',
    tokenizer: TOKENIZER_FILE,
    textField: input.fields.text,
    ...(input.fields.pair !== undefined ? { pairField: input.fields.pair } : {}),
    ...(input.fields.label !== undefined ? { labelField: input.fields.label } : {}),
    ...(input.maxLength !== undefined ? { maxLength: input.maxLength } : {}),
    ...(input.labels ? { labels: input.labels.toJSON() } : {}),
  };
  const path = join(dir, TEXT_CONFIG);
  writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
  input.labelsChanged = false;
  return path;
}

/** The label map kept with DIR's artifacts, if any. */
export function labelMapOf(dir: string): LabelMap | undefined {
  const config = readConfig(dir);
  return config?.labels ? LabelMap.fromJSON(config.labels, join(dir!, TEXT_CONFIG)) : undefined;
}
