/**
 * Text generation with a compiled language model: the prompt's token ids go through the
 * inference graph, the next token is chosen from the logits at the last position (greedy or
 * sampled, see sampling.ts), appended, and the sequence runs again, until the end token, the
 * token budget or the model's position limit.
 *
 * The inference graph has no key/value cache (compile refuses cached exports), so each step
 * runs the whole sequence: n steps cost O(n^2) positions, fine for the short texts of the
 * models lor2c adapts. A graph with a fixed sequence dim gets its rows padded (mask 0); the
 * causal mask keeps the padding from reaching the real positions, and the logits are read at
 * the last real one.
 */
import { UserError } from '../../contract/errors.ts';
import { Rng } from '../data/prng.ts';
import { TOKEN_KEYS, tokenValues } from '../data/text-dataset.ts';
import type { Pipeline } from '../pipeline.ts';
import type { PositionLimit } from './position-limit.ts';
import { chooseToken, samplingProblem, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  /** New tokens at most. */
  maxTokens: number;
  /** Seeds the sampling (default 0); greedy decoding ignores it. */
  seed?: number;
  /** Token ids that end the text (the end token is kept in `tokens`). */
  stopIds?: readonly number[];
  /** The model's longest sequence; generation stops there. */
  limit?: PositionLimit;
  /** Called with each new token (for streaming). */
  onToken?: (id: number) => void | Promise<void>;
}

export type StopReason = 'end-token' | 'max-tokens' | 'position-limit';

export interface Generation {
  prompt: number[];
  /** The new tokens, the end token included when it stopped there. */
  tokens: number[];
  stopped: StopReason;
}

/** Generates from `prompt` (token ids) with the pipeline's current adapter. */
export async function generate(pipeline: Pipeline, prompt: readonly number[], opts: GenerateOptions): Promise<Generation> {
  const task = pipeline.manifest.task;
  if (task.kind !== 'lm') throw new UserError(`generate needs a language model; these artifacts are for the task '${task.kind}'`, 'compile the decoder with `task lm(...)`');
  const problem = samplingProblem(opts);
  if (problem) throw new UserError(problem);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens <= 0) throw new UserError(`max tokens must be a positive integer, got ${opts.maxTokens}`);
  const extra = pipeline.schema.inputs.filter((s) => !TOKEN_KEYS.has(s.key));
  if (extra.length > 0) throw new UserError(`the inference graph takes ${extra.map((s) => `'${s.name}'`).join(', ')}, which generation cannot feed from token ids (it feeds ${[...TOKEN_KEYS].join(', ')})`);
  if (prompt.length === 0) throw new UserError('the prompt has no tokens', 'give a prompt text, or --ids with at least one token id');
  const vocab = vocabularySize(pipeline);
  const bad = prompt.findIndex((id) => !Number.isInteger(id) || id < 0 || (vocab !== undefined && id >= vocab));
  if (bad >= 0) throw new UserError(`prompt token ${bad + 1} is ${prompt[bad]}, not a token id of the model (0..${vocab === undefined ? '' : vocab - 1})`);
  const limit = opts.limit;
  if (limit && prompt.length >= limit.length) {
    throw new UserError(`the prompt has ${prompt.length} tokens; the model takes at most ${limit.length} (${limit.source}), leaving no room to generate`, 'shorten the prompt');
  }

  const rng = new Rng(opts.seed ?? 0);
  const stops = new Set(opts.stopIds ?? []);
  const ids = [...prompt];
  const tokens: number[] = [];
  for (;;) {
    if (tokens.length >= opts.maxTokens) return { prompt: [...prompt], tokens, stopped: 'max-tokens' };
    if (limit && ids.length >= limit.length) return { prompt: [...prompt], tokens, stopped: 'position-limit' };
    const logits = await lastLogits(pipeline, ids);
    const next = chooseToken(logits, opts, rng);
    ids.push(next);
    tokens.push(next);
    await opts.onToken?.(next);
    if (stops.has(next)) return { prompt: [...prompt], tokens, stopped: 'end-token' };
  }
}

/** The logits width of the task's output, when the manifest states it. */
export function vocabularySize(pipeline: Pipeline): number | undefined {
  const info = pipeline.manifest.graphs.infer.outputs.find((o) => o.name === pipeline.manifest.task.logits);
  const last = info?.shape[info.shape.length - 1];
  return typeof last === 'number' ? last : undefined;
}

/** The row of model inputs for a token sequence: ids, a mask of ones, positions 0..n-1, token types 0. */
export function tokenRow(pipeline: Pipeline, ids: readonly number[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  const zeros = ids.map(() => 0);
  for (const spec of pipeline.schema.inputs) row[spec.key] = tokenValues(spec, [...ids], zeros);
  return row;
}

/** The logits predicting the token after `ids`. */
export async function lastLogits(pipeline: Pipeline, ids: readonly number[]): Promise<Float32Array> {
  const example = pipeline.checkRow(tokenRow(pipeline, ids), `the sequence of ${ids.length} tokens`);
  let outputs;
  try {
    [outputs] = await pipeline.runExamples([example]);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`the model failed on a sequence of ${ids.length} tokens: ${(e as Error).message.split('\n')[0]}`, 'the sequence may be past the model\'s position limit: pass a smaller --max-tokens or a shorter prompt');
  }
  const logits = pipeline.logitsOf(outputs!);
  if (logits.shape.length !== 2) throw new UserError(`language-model logits '${pipeline.manifest.task.logits}' must be [seq, vocab] per row, got ${JSON.stringify(logits.shape)}`);
  const [seq, vocab] = logits.shape as [number, number];
  if (seq < ids.length) throw new UserError(`the logits have ${seq} positions for ${ids.length} tokens`);
  const at = ids.length - 1;
  return Float32Array.from(logits.data.subarray(at * vocab, (at + 1) * vocab));
}
