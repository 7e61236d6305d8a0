import type { Command } from '../command.ts';
import { parseCommandArgs, positiveInt } from '../args.ts';
import { UsageError } from '../command.ts';
import { writeFileAtomic } from '../../contract/atomic.ts';
import { UserError } from '../../contract/errors.ts';
import { HfTokenizer, trainTokenizer, type TokenizerKind } from '../../runtime/index.ts';

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'build a Hugging Face tokenizer.json from a text corpus (tokenizer train)',
  help: `Usage: lor2c tokenizer train CORPUS... --out tokenizer.json [--kind wordpiece|bpe]
                             [--vocab-size N] [--text-field NAME] [--cased]

Learns a tokenizer from the corpus files with Hugging Face's tokenizers library and writes an
ordinary tokenizer.json (for \`--tokenizer\`, and for any Hugging Face loader). CORPUS files are
plain text (a document a line), or JSONL / CSV / TSV whose text field is read.
  wordpiece   (default) BERT's scheme: [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4, lower-cased
              unless --cased, "[CLS] A [SEP] B [SEP]" around the texts
  bpe         GPT-2's scheme: byte-level BPE (every byte has a token), <|endoftext|> at id 0

Options:
  --out FILE          where to write it (required; written atomically)
  --vocab-size N      tokens at most (default 8000)
  --text-field NAME   the text field of JSONL / CSV / TSV corpora (default text)
  --cased             wordpiece: keep letter case`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      out: { type: 'string' }, kind: { type: 'string' }, 'vocab-size': { type: 'string' }, 'text-field': { type: 'string' }, cased: { type: 'boolean' },
    });
    const [verb, ...corpus] = positionals;
    if (verb !== 'train') throw new UsageError(`expected \`lor2c tokenizer train CORPUS...\`${verb ? `, got '${verb}'` : ''}`);
    if (corpus.length === 0) throw new UsageError('give at least one corpus file');
    if (!values.out) throw new UsageError('--out FILE is required');
    const kind = (values.kind ?? 'wordpiece') as TokenizerKind;
    if (kind !== 'wordpiece' && kind !== 'bpe') throw new UsageError(`--kind must be wordpiece or bpe, got '${values.kind}'`);
    const vocabSize = positiveInt('vocab-size', values['vocab-size']) ?? 8000;
    const started = performance.now();
    const result = trainTokenizer({ corpus, kind, vocabSize, textField: values['text-field'], lowercase: !values.cased });
    try {
      writeFileAtomic(values.out, result.json);
    } catch (e) {
      throw new UserError(`cannot write ${values.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    HfTokenizer.load(values.out); // what was written loads back
    const cut = result.learned > result.vocabSize ? ` (cut from ${result.learned} learned)` : '';
    console.log(`wrote ${values.out}: ${kind}, ${result.vocabSize} tokens${cut}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  },
};
