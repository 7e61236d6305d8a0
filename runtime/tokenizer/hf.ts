/**
 * A Hugging Face `tokenizer.json` (the file every HF model ships), loaded and run by the
 * `tokenizers` npm package: Hugging Face's own Rust library, whose prebuilt binaries ship inside
 * the package (nothing is downloaded). See docs/decisions/tokenizers.md for why this library.
 *
 * lor2c truncates here and pads later (collate pads each batch to its longest row), so the
 * tokenizer's own padding is switched off and its truncation replaced by the model's limit.
 */
import tokenizers from 'tokenizers';
import { UserError } from '../../contract/errors.ts';
import { readRegularText, regularFileMessages } from '../../contract/regular-file.ts';

/**
 * End-of-text tokens of common tokenizers, most specific first: GPT-2's, LLaMA 3's, SentencePiece's,
 * and BERT's segment end (a wordpiece LM's text ends there).
 */
export const END_TOKENS: readonly string[] = ['<|endoftext|>', '<|end_of_text|>', '<|eot_id|>', '</s>', '<eos>', '[SEP]'];

/** A tokenizer.json bigger than this is refused (real ones are a few MB). */
const MAX_TOKENIZER_BYTES = 64 << 20;

export interface Encoded {
  ids: number[];
  /** Segment of each token: 0 for the first text, 1 for the pair's second (BERT's token_type_ids). */
  typeIds: number[];
}

export class HfTokenizer {
  /** Encoding calls in flight, one after another: the truncation length is state of the native tokenizer. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly inner: tokenizers.Tokenizer,
    /** The truncation length written in the file, if any. */
    readonly fileMaxLength: number | undefined,
  ) {}

  static load(path: string): HfTokenizer {
    // A FIFO, a device or a folder is refused by name (reading one would hang or crash the tokenizer library).
    const text = readRegularText(path, {
      ...regularFileMessages(path, 'tokenizer'),
      cannotOpen: (cause) => new UserError(`cannot read tokenizer ${path}: ${cause}`, 'give the path of a Hugging Face tokenizer.json'),
    }, {
      maxBytes: MAX_TOKENIZER_BYTES,
      tooLarge: (size) => new UserError(`${path}: ${size} bytes is too large for a tokenizer.json (at most ${MAX_TOKENIZER_BYTES})`),
    });
    let json: { truncation?: { max_length?: unknown } | null; model?: unknown };
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${path}: not valid JSON (${(e as Error).message})`, 'give a Hugging Face tokenizer.json (not tokenizer_config.json or vocab.txt)');
    }
    if (json === null || typeof json !== 'object' || typeof json.model !== 'object') {
      throw new UserError(`${path}: not a Hugging Face tokenizer.json (it has no "model" object)`, 'give the tokenizer.json that ships with the model, or build one with `lor2c tokenizer train`');
    }
    let inner: tokenizers.Tokenizer;
    try {
      inner = tokenizers.Tokenizer.fromString(text);
    } catch (e) {
      throw new UserError(`${path}: the tokenizers library cannot load it: ${(e as Error).message}`);
    }
    inner.disablePadding();
    const max = json.truncation?.max_length;
    return new HfTokenizer(path, inner, typeof max === 'number' && max > 0 ? max : undefined);
  }

  get vocabSize(): number {
    return this.inner.getVocabSize(true);
  }

  tokenToId(token: string): number | undefined {
    return this.inner.tokenToId(token) ?? undefined;
  }

  idToToken(id: number): string | undefined {
    return this.inner.idToToken(id) ?? undefined;
  }

  /** The end-of-text token (the first of END_TOKENS in the vocabulary), if any. */
  endToken(): { token: string; id: number } | undefined {
    for (const token of END_TOKENS) {
      const id = this.tokenToId(token);
      if (id !== undefined) return { token, id };
    }
    return undefined;
  }

  /**
   * Encodes texts (or pairs of texts), with the file's special tokens, each cut to at most
   * `maxLength` tokens (longest-first for pairs: the longer text loses tokens first).
   */
  encode(texts: readonly string[], pairs: readonly string[] | undefined, maxLength: number): Promise<Encoded[]> {
    const run = this.queue.then(() => this.encodeNow(texts, pairs, maxLength));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async encodeNow(texts: readonly string[], pairs: readonly string[] | undefined, maxLength: number): Promise<Encoded[]> {
    this.inner.setTruncation(maxLength);
    let encodings: tokenizers.Encoding[];
    try {
      // The binding's encodeBatch takes single texts only; pairs go one by one.
      encodings = pairs ? await Promise.all(texts.map((t, i) => this.inner.encode(t, pairs[i]!))) : await this.inner.encodeBatch([...texts]);
    } catch (e) {
      throw new UserError(`${this.path}: tokenizing failed: ${(e as Error).message}`, maxLength < 8 ? 'the maximum length may be too small for the special tokens of a pair' : undefined);
    }
    return encodings.map((e) => ({ ids: e.getIds(), typeIds: e.getTypeIds() }));
  }

  /** Token ids back to text, special tokens left out. */
  decode(ids: readonly number[]): Promise<string> {
    return this.inner.decode([...ids], true);
  }
}
