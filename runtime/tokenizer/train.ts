/**
 * A tokenizer built from the user's own text when they have none: the `tokenizers` library
 * (Hugging Face's, see docs/decisions/tokenizers.md) learns the merges, and lor2c writes the
 * result as an ordinary tokenizer.json any Hugging Face loader reads.
 *
 *   wordpiece   BERT's scheme: lower-casing BERT normalizer, [PAD] [UNK] [CLS] [SEP] [MASK] at
 *               ids 0-4, "[CLS] A [SEP] (B [SEP])" around every text
 *   bpe         GPT-2's scheme: byte-level BPE over all 256 bytes (no unknown token), with
 *               <|endoftext|> at id 0
 *
 * The library's node binding trains with its default trainer (up to 30,000 tokens, no special
 * tokens), so lor2c cuts the learned vocabulary to the size asked for: both trainers list the
 * alphabet first and then each merge's token in the order learned, so a prefix of the list
 * (for BPE: with the merges that build it) is itself the tokenizer that stopping early gives.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tokenizers from 'tokenizers';
import { UserError } from '../../contract/errors.ts';
import { readTextRows, textFormatOf } from '../data/text-rows.ts';

export type TokenizerKind = 'wordpiece' | 'bpe';

export interface TrainTokenizerOptions {
  /** Plain text files (a document a line), or JSONL / CSV / TSV with a text field. */
  corpus: readonly string[];
  kind: TokenizerKind;
  vocabSize: number;
  /** The text field of JSONL / CSV / TSV corpora (default 'text'). */
  textField?: string;
  /** WordPiece only: lower-case (default true, as bert-base-uncased). */
  lowercase?: boolean;
}

export const WORDPIECE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const END_OF_TEXT = '<|endoftext|>';

/** Trains a tokenizer; returns the tokenizer.json text. */
export function trainTokenizer(opts: TrainTokenizerOptions): { json: string; vocabSize: number; learned: number } {
  if (opts.corpus.length === 0) throw new UserError('no corpus files given');
  const scratch = mkdtempSync(join(tmpdir(), 'lor2c-tokenizer-'));
  try {
    const files = opts.corpus.map((path, i) => plainText(path, opts.textField ?? 'text', join(scratch, `corpus-${i}.txt`)));
    return opts.kind === 'wordpiece' ? trainWordPiece(files, opts, scratch) : trainBpe(files, opts, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The corpus file itself when it is plain text, else its text field one row a line in `scratch`. */
function plainText(path: string, field: string, scratch: string): string {
  const isRows = textFormatOf(path) !== 'jsonl' || /\.jsonl?$/i.test(path);
  if (!isRows) return path;
  const { rows, problems } = readTextRows(path, { text: field }, false);
  if (problems.length > 0) throw new UserError(`${path}:${problems[0]!.line}: ${problems[0]!.message}`, problems.length > 1 ? `(and ${problems.length - 1} more rows)` : undefined);
  writeFileSync(scratch, rows.map((r) => r.text.replace(/\s+/g, ' ')).join('\n'));
  return scratch;
}

function trainedJson(t: tokenizers.Tokenizer, scratch: string): { model: { vocab: Record<string, number>; merges?: unknown[] }; normalizer: unknown; pre_tokenizer: unknown } {
  const path = join(scratch, 'trained.json');
  t.save(path);
  return JSON.parse(readFileSync(path, 'utf8'));
}

function byId(vocab: Record<string, number>): string[] {
  return Object.entries(vocab).sort((a, b) => a[1] - b[1]).map(([token]) => token);
}

function trainWordPiece(files: string[], opts: TrainTokenizerOptions, scratch: string) {
  const t = new tokenizers.Tokenizer(tokenizers.WordPiece.empty());
  t.setNormalizer(tokenizers.bertNormalizer({ lowercase: opts.lowercase ?? true }));
  t.setPreTokenizer(tokenizers.bertPreTokenizer());
  t.train(files);
  const trained = trainedJson(t, scratch);
  const learned = byId(trained.model.vocab).filter((tok) => !(WORDPIECE_SPECIALS as readonly string[]).includes(tok));
  if (learned.length === 0) throw new UserError(`the corpus ${opts.corpus.join(', ')} has no text to learn from`);
  const tokens = [...WORDPIECE_SPECIALS, ...learned.slice(0, Math.max(0, opts.vocabSize - WORDPIECE_SPECIALS.length))];
  const vocab = Object.fromEntries(tokens.map((tok, i) => [tok, i]));
  const id = (tok: string) => vocab[tok]!;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: WORDPIECE_SPECIALS.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: trained.normalizer,
    pre_tokenizer: trained.pre_tokenizer,
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((tok) => [tok, { id: tok, ids: [id(tok)], tokens: [tok] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  return { json: JSON.stringify(json), vocabSize: tokens.length, learned: learned.length + WORDPIECE_SPECIALS.length };
}

function special(id: string, typeId: number) {
  return { SpecialToken: { id, type_id: typeId } };
}

function sequence(id: 'A' | 'B', typeId: number) {
  return { Sequence: { id, type_id: typeId } };
}

function trainBpe(files: string[], opts: TrainTokenizerOptions, scratch: string) {
  const t = new tokenizers.Tokenizer(tokenizers.BPE.empty());
  t.setPreTokenizer(tokenizers.byteLevelPreTokenizer(false, true));
  t.train(files);
  const trained = trainedJson(t, scratch);
  const alphabet = tokenizers.byteLevelAlphabet().sort();
  const vocab = new Map<string, number>([[END_OF_TEXT, 0]]);
  for (const ch of alphabet) vocab.set(ch, vocab.size);
  if (opts.vocabSize < vocab.size) throw new UserError(`a byte-level BPE vocabulary needs at least ${vocab.size} tokens (the 256 bytes and ${END_OF_TEXT}), --vocab-size was ${opts.vocabSize}`);
  const merges: [string, string][] = [];
  for (const m of trained.model.merges ?? []) {
    if (vocab.size >= opts.vocabSize) break;
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : (m as [string, string]);
    if (!vocab.has(a) || !vocab.has(b)) continue;
    const merged = a + b;
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    merges.push([a, b]);
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: Object.fromEntries(vocab), merges },
  };
  return { json: JSON.stringify(json), vocabSize: vocab.size, learned: Object.keys(trained.model.vocab).length };
}
