import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs, positiveInt } from '../args.ts';
import { UsageError } from '../command.ts';
import { isUserError, UserError } from '../../contract/errors.ts';
import { makeFolder, renameInto, temporaryName } from '../../contract/atomic.ts';
import { fileError } from '../../contract/file-errors.ts';
import { classCount, openExamples, argmaxRows, Pipeline, topTokens, type RowOutputs, type RowTensor, type TextInput } from '../../runtime/index.ts';
import { keepTextInput, TEXT_HELP, TEXT_OPTIONS, textInputFor } from './text-flags.ts';
import { manifestAndParameters, oneDir, RUNTIME_HELP, RUNTIME_OPTIONS, runtimeFlags } from './runtime-flags.ts';

/** Next tokens a language model's row prints by default. */
const DEFAULT_TOP = 5;

export const inferCommand: Command = {
  name: 'infer',
  summary: 'run the inference graph on a JSONL file, with an adapter or a checkpoint',
  help: `Usage: lor2c infer DIR --data FILE.jsonl [--adapter FILE.safetensors | --checkpoint CKPT [--best]]
                   [--out FILE.jsonl] [--top N] [--logits] [--batch N] [--target cpu|cuda] [--threads N] [--tokenizer FILE ...]

Runs DIR/infer.onnx on every row of FILE (JSON objects keyed by the model's input names; other
keys, such as the label, are ignored) and prints one JSON object per row, in file order:
  classify   {"line": 3, "label": 1, "probabilities": [...], "logits": [...]}
             with a label map (string labels): "label": "spam", "label_id": 1
  lm         {"line": 3, "next_token": 42, "top": [{"id": 42, "probability": 0.31, "text": " the"}, ...]}
             the most probable next tokens after the row's last position (text with a tokenizer);
             with --logits also "logits": [[...], ...] (one row per position, vocab wide)
  regress    {"line": 3, "prediction": 0.73, "logits": [...]}
plus any other model output by name. Rows are padded to the longest in their batch; outputs are
cut back to each row's own length. The adapter values are, in order of preference: the
checkpoint's, the --adapter file's, or the artifacts' own adapter.safetensors.

Options:
  --data FILE          the rows to run (required)
  --out FILE           write the results there (atomically) instead of printing them
  --top N              language models: the N most probable next tokens (default 5)
  --logits             language models: print the full logits too
${RUNTIME_HELP}

${TEXT_HELP}`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { ...RUNTIME_OPTIONS, ...TEXT_OPTIONS, data: { type: 'string' }, out: { type: 'string' }, top: { type: 'string' }, logits: { type: 'boolean' } });
    const dir = oneDir(positionals);
    if (!values.data) throw new UsageError('--data FILE is required');
    const flags = runtimeFlags(values);
    const lm = { top: positiveInt('top', values.top) ?? DEFAULT_TOP, logits: values.logits === true };
    const { manifest, params, artifacts } = manifestAndParameters('infer', dir, flags.source);
    const pipeline = await Pipeline.load(artifacts, { target: flags.target, threads: flags.threads, batchSize: flags.batch, adapter: params.values });
    const sink = values.out ? fileSink(values.out) : { write: (s: string) => void process.stdout.write(s), commit() {}, abort() {} };
    try {
      const text = textInputFor(dir, values);
      const data = await openExamples(values.data, pipeline.schema, { skipInvalid: values['skip-invalid'], text, task: manifest.task, classes: classCount(manifest) });
      keepTextInput('infer', dir, text, values);
      for (const line of data.skipped.lines(values.data)) console.error(`lor2c infer: skipped ${line}`);
      try {
        for (let start = 0; start < data.size; start += pipeline.batchSize) {
          const indices = Array.from({ length: Math.min(pipeline.batchSize, data.size - start) }, (_, k) => start + k);
          const outputs = await pipeline.runExamples(indices.map((i) => data.example(i)));
          const records = await Promise.all(outputs.map((o, k) => rowRecord(pipeline, data.refs[indices[k]!]!.line, o, text, lm)));
          sink.write(records.map((r) => JSON.stringify(r) + '\n').join(''));
        }
      } finally {
        data.close();
      }
      sink.commit();
      if (values.out) console.error(`lor2c infer: wrote ${data.size} results to ${values.out}`);
    } catch (e) {
      sink.abort();
      throw e;
    } finally {
      await pipeline.release();
    }
    return 0;
  },
};

async function rowRecord(pipeline: Pipeline, line: number, outputs: RowOutputs, text: TextInput | undefined, lm: { top: number; logits: boolean }): Promise<Record<string, unknown>> {
  const task = pipeline.manifest.task;
  const labels = text?.labels;
  const logits = pipeline.logitsOf(outputs);
  const record: Record<string, unknown> = { line };
  if (task.kind === 'classify' && logits.shape.length === 1) {
    const values = Array.from(logits.data);
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    const id = argmaxRows(values, values.length)[0]!;
    const name = labels?.name(id);
    if (name !== undefined) {
      record.label = name;
      record.label_id = id;
    } else {
      record.label = id;
    }
    record.probabilities = exps.map((e) => e / sum);
  } else if (task.kind === 'lm' && logits.shape.length === 2 && logits.shape[0]! > 0) {
    const vocab = logits.shape[1]!;
    const top = topTokens(logits.data.subarray(logits.data.length - vocab), lm.top);
    record.next_token = top[0]!.id;
    record.top = await Promise.all(top.map(async ({ id, probability }) => ({ id, probability, ...(text ? { text: await text.tokenizer.decode([id]) } : {}) })));
  } else if (task.kind === 'regress') {
    record.prediction = logits.data.length === 1 ? logits.data[0] : Array.from(logits.data);
  }
  for (const [name, t] of Object.entries(outputs)) {
    // A language model's logits are seq x vocab numbers a row: printed only when asked.
    if (task.kind === 'lm' && t === logits && !lm.logits) continue;
    record[name] = nested(t);
  }
  return record;
}

/** A row's tensor as nested arrays of its shape. */
function nested(t: RowTensor): unknown {
  const build = (depth: number, offset: number): unknown => {
    if (depth === t.shape.length) return t.data[offset];
    const stride = t.shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[depth]! }, (_, i) => build(depth + 1, offset + i * stride));
  };
  return build(0, 0);
}

/** Results streamed into a temporary file that replaces `path` (fsynced, atomically) only when every row is done. */
function fileSink(path: string) {
  const tmp = temporaryName(path);
  let fd: number;
  makeFolder(dirname(path), 'the output folder');
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    const known = fileError(e, path);
    throw isUserError(known) ? known : new UserError(`cannot write ${path}: ${(e as Error).message}`);
  }
  let open = true;
  return {
    write(s: string) {
      const bytes = Buffer.from(s);
      let done = 0;
      try {
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (e) {
        throw fileError(e, path);
      }
    },
    commit() {
      try {
        fsyncSync(fd);
      } catch (e) {
        throw fileError(e, path);
      } finally {
        closeSync(fd);
        open = false;
      }
      renameInto(tmp, path);
    },
    abort() {
      if (open) closeSync(fd);
      open = false;
      rmSync(tmp, { force: true });
    },
  };
}
