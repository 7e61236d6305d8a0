import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../command.ts';
import { classCount, openExamples, dataSchema, evaluate, metricTitle, nodeEngine } from '../../runtime/index.ts';
import { keepTextInput, TEXT_HELP, TEXT_OPTIONS, textInputFor } from './text-flags.ts';
import { manifestAndParameters, oneDir, RUNTIME_HELP, RUNTIME_OPTIONS, runtimeFlags } from './runtime-flags.ts';

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate artifacts on a labelled JSONL file: loss and the task's metrics",
  help: `Usage: lor2c eval DIR --data FILE.jsonl [--checkpoint CKPT [--best] | --adapter FILE.safetensors]
                  [--batch N] [--target cpu|cuda] [--threads N] [--json] [--tokenizer FILE ...]

Runs DIR/eval.onnx over every row of FILE (model inputs plus the label key) in file order and
prints the task's metrics:
  classify   loss, accuracy, f1 (of the task's positive class; default class id 1 with two
             classes, else macro; shown as f1(NAME) with string labels), mcc
  regress    loss, pearson, spearman
  lm         loss (per token), perplexity
The values evaluated are the checkpoint's, the --adapter file's, or DIR's adapter.safetensors.

Options:
  --data FILE          labelled rows (required)
  --json               print one JSON object: {"examples": N, "metrics": {...}, "source": ...}
${RUNTIME_HELP}

${TEXT_HELP}`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { ...RUNTIME_OPTIONS, ...TEXT_OPTIONS, data: { type: 'string' }, json: { type: 'boolean' } });
    const dir = oneDir(positionals);
    if (!values.data) throw new UsageError('--data FILE is required');
    const flags = runtimeFlags(values);
    const { manifest, params, artifacts } = manifestAndParameters('eval', dir, flags.source);
    const text = textInputFor(dir, values);
    const data = await openExamples(values.data, dataSchema(manifest.graphs.eval, manifest.task), { skipInvalid: values['skip-invalid'], text, task: manifest.task, classes: classCount(manifest) });
    keepTextInput('eval', dir, text, values);
    for (const line of data.skipped.lines(values.data)) console.error(`lor2c eval: skipped ${line}`);
    const session = await nodeEngine({ target: flags.target, intraOpThreads: flags.threads }).open({ kind: 'file', path: join(artifacts, manifest.graphs.eval.file) });
    let metrics;
    try {
      metrics = await evaluate(session, manifest, data, params.values, flags.batch ?? 16, text?.labels);
    } finally {
      data.close();
      await session.release();
    }
    if (values.json) {
      console.log(JSON.stringify({ examples: data.size, metrics, source: params.source }));
    } else {
      const rows = Object.entries(metrics).map(([k, v]) => [metricTitle(k, manifest.task, text?.labels), v] as const);
      const width = Math.max(...rows.map(([k]) => k.length));
      console.log(`${data.size} examples, values from ${params.source.kind === 'checkpoint' ? `checkpoint ${params.source.path} (step ${params.source.step})` : params.source.path}`);
      for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${Number.isFinite(v) ? v.toFixed(6) : String(v)}`);
    }
    return 0;
  },
};
