import type { Command } from '../command.ts';
import { parseCommandArgs, positiveInt, threadsFlag } from '../args.ts';
import { UsageError } from '../command.ts';
import { UserError } from '../../contract/errors.ts';
import { generate, loadTextInput, Pipeline, positionLimit, type HfTokenizer, type SamplingOptions, type StopReason } from '../../runtime/index.ts';
import { ADAPTER_HELP, manifestAndParameters, oneDir, parseTarget } from './runtime-flags.ts';

const DEFAULT_MAX_TOKENS = 50;
/** Tokenizer truncation for prompts: never reached by a real prompt, so a too-long prompt is refused by the position limit rather than cut. */
const PROMPT_TRUNCATION = 1 << 20;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text with a compiled language model (greedy, top-k, top-p, temperature)',
  help: `Usage: lor2c generate DIR (--prompt TEXT | --ids ID,ID,...) [--max-tokens N]
                      [--temperature T] [--top-k K] [--top-p P] [--seed S]
                      [--adapter FILE.safetensors | --checkpoint CKPT [--best]]
                      [--tokenizer FILE] [--end-id N] [--json] [--target cpu|cuda] [--threads N]

Continues the prompt with DIR's inference graph (a decoder compiled with \`task lm(...)\`), one
token at a time, and prints the text (prompt and continuation) as it grows. It stops at the
tokenizer's end token (<|endoftext|>, </s>, [SEP], ...), after --max-tokens new tokens, or at
the model's position limit (read off the graph: its position table or fixed sequence dim).
Greedy (the most probable token) unless --temperature, --top-k or --top-p is given; sampling
is seeded, so the same seed gives the same text. The adapter values are, in order of
preference: the checkpoint's, the --adapter file's, or the artifacts' own.

Options:
  --prompt TEXT        the text to continue, tokenized with DIR's tokenizer
  --ids ID,ID,...      the prompt as token ids (no tokenizer needed; output as ids then)
  --max-tokens N       new tokens at most (default ${DEFAULT_MAX_TOKENS})
  --temperature T      sample from softmax(logits / T); 0 is greedy (default 1 when sampling)
  --top-k K            sample among the K most probable tokens
  --top-p P            sample among the most probable tokens whose probabilities sum to P
  --seed S             the sampling seed (default 0)
  --tokenizer FILE     a Hugging Face tokenizer.json instead of DIR's (compile --tokenizer)
  --end-id N           the token id that ends the text (default: the tokenizer's end token)
  --json               print one JSON object: prompt_ids, ids (the new tokens), text, stopped
${ADAPTER_HELP}
  --target cpu|cuda    execution provider (cuda falls back to cpu with a notice when absent)
  --threads N          threads inside one op (default: onnxruntime's choice)`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      prompt: { type: 'string' }, ids: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
      'top-p': { type: 'string' }, seed: { type: 'string' }, tokenizer: { type: 'string' }, 'end-id': { type: 'string' }, json: { type: 'boolean' },
      adapter: { type: 'string' }, checkpoint: { type: 'string' }, best: { type: 'boolean' }, target: { type: 'string' }, threads: { type: 'string' },
    });
    const dir = oneDir(positionals);
    if ((values.prompt === undefined) === (values.ids === undefined)) throw new UsageError('give the prompt as --prompt TEXT or as --ids ID,ID,... (one of them)');
    if (values.checkpoint !== undefined && values.adapter !== undefined) throw new UsageError('give --checkpoint or --adapter, not both');
    if (values.best && values.checkpoint === undefined) throw new UsageError('--best needs --checkpoint');
    const sampling = samplingFlags(values);
    const maxTokens = positiveInt('max-tokens', values['max-tokens']) ?? DEFAULT_MAX_TOKENS;
    const seed = values.seed === undefined ? 0 : integer('seed', values.seed, 0);
    const endId = values['end-id'] === undefined ? undefined : integer('end-id', values['end-id'], 0);
    const promptIds = values.ids === undefined ? undefined : idList(values.ids);

    const tokenizer = loadTextInput(dir, { tokenizer: values.tokenizer })?.tokenizer;
    if (values.prompt !== undefined && !tokenizer) throw new UserError(`${dir} has no tokenizer to read --prompt with`, 'pass --tokenizer tokenizer.json (or compile with --tokenizer), or give the prompt as --ids');
    const end = endId ?? tokenizer?.endToken()?.id;
    const prompt = promptIds ?? (await promptTokens(tokenizer!, values.prompt!, end));

    const { manifest, params, artifacts } = manifestAndParameters('generate', dir, { checkpoint: values.checkpoint, best: values.best, adapter: values.adapter });
    if (manifest.task.kind !== 'lm') throw new UserError(`${dir} was compiled for the task '${manifest.task.kind}'; generate needs a language model`, 'compile the decoder with `task lm(logits "logits", labels "input_ids", shift true)`');
    const limit = positionLimit(manifest);
    const pipeline = await Pipeline.load(artifacts, { target: parseTarget(values.target), threads: threadsFlag(values.threads), batchSize: 1, adapter: params.values });
    const stream = !values.json ? textStream(tokenizer, prompt) : undefined;
    const started = performance.now();
    try {
      await stream?.start();
      const result = await generate(pipeline, prompt, { ...sampling, maxTokens, seed, stopIds: end === undefined ? [] : [end], limit, onToken: stream?.push });
      const seconds = (performance.now() - started) / 1000;
      if (values.json) {
        const text = tokenizer ? await tokenizer.decode([...result.prompt, ...result.tokens]) : undefined;
        console.log(JSON.stringify({ prompt_ids: result.prompt, ids: result.tokens, ...(text !== undefined ? { text } : {}), stopped: result.stopped }));
      } else {
        await stream!.finish();
      }
      const how = sampling.sample ? `sampled (temperature ${sampling.temperature ?? 1}${sampling.topK ? `, top-k ${sampling.topK}` : ''}${sampling.topP !== undefined ? `, top-p ${sampling.topP}` : ''}, seed ${seed})` : 'greedy';
      console.error(`lor2c generate: ${result.tokens.length} new tokens in ${seconds.toFixed(2)} s, ${how}; stopped: ${stopText(result.stopped, limit?.length, maxTokens)}${result.stopped === 'position-limit' ? ` (${limit!.source})` : ''}`);
    } finally {
      await pipeline.release();
    }
    return 0;
  },
};

function stopText(reason: StopReason, limit: number | undefined, maxTokens: number): string {
  if (reason === 'end-token') return 'end token';
  if (reason === 'max-tokens') return `--max-tokens ${maxTokens} reached`;
  return `the model's position limit of ${limit} tokens reached`;
}

function samplingFlags(values: { temperature?: string; 'top-k'?: string; 'top-p'?: string }): SamplingOptions {
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${v}'`);
    return n;
  };
  const temperature = num('temperature', values.temperature);
  const topK = values['top-k'] === undefined ? undefined : integer('top-k', values['top-k'], 1);
  const topP = num('top-p', values['top-p']);
  if (temperature !== undefined && temperature < 0) throw new UsageError(`--temperature must be >= 0, got '${values.temperature}'`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got '${values['top-p']}'`);
  const sample = (temperature !== undefined || topK !== undefined || topP !== undefined) && temperature !== 0;
  return { sample, temperature, topK, topP };
}

function integer(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function idList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  return parts.map((p, i) => {
    const n = Number(p);
    if (p === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--ids needs comma-separated token ids (integers >= 0); entry ${i + 1} is '${p}'`);
    return n;
  });
}

/** The prompt's token ids: the tokenizer's special tokens kept, less a trailing end token (a prompt goes on). */
async function promptTokens(tokenizer: HfTokenizer, text: string, end: number | undefined): Promise<number[]> {
  const [encoded] = await tokenizer.encode([text], undefined, PROMPT_TRUNCATION);
  const ids = encoded!.ids;
  while (ids.length > 0 && ids[ids.length - 1] === end) ids.pop();
  return ids;
}

/**
 * Prints the text as it grows: each new token's text, decoded from the whole sequence (a
 * byte-level token may be half a character, a word piece joins the word before), written
 * once the decoded text extends what is already printed. Without a tokenizer: the ids.
 */
function textStream(tokenizer: HfTokenizer | undefined, prompt: readonly number[]) {
  const ids = [...prompt];
  let printed = '';
  const write = (s: string) => void process.stdout.write(s);
  const catchUp = async (final: boolean) => {
    const text = await tokenizer!.decode(ids);
    if (text.startsWith(printed)) {
      write(text.slice(printed.length));
      printed = text;
    } else if (final) {
      write(`\n${text}`);
    }
  };
  return {
    async start() {
      if (tokenizer) await catchUp(false);
      else write(ids.join(' '));
    },
    push: async (id: number) => {
      ids.push(id);
      if (tokenizer) await catchUp(false);
      else write(` ${id}`);
    },
    async finish() {
      if (tokenizer) await catchUp(true);
      write('\n');
    },
  };
}
