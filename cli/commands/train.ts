import type { Command } from '../command.ts';
import { integerFlag, parseCommandArgs, positiveInt, threadsFlag } from '../args.ts';
import { UsageError } from '../command.ts';
import { PREPACK_UP_TO, Trainer, metricTitle, nodeHost, readManifest } from '../../runtime/index.ts';
import { keepTextInput, TEXT_HELP, TEXT_OPTIONS, textInputFor } from './text-flags.ts';
import { warnAboutAdapter } from './runtime-flags.ts';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train compiled artifacts on a JSONL data file (with scheduled Merge / Inject)',
  help: `Usage: lor2c train DIR --data FILE [--eval-data FILE] [--steps N | --epochs N]
                   [--init ADAPTER.safetensors] [--log FILE.jsonl] [--checkpoint CKPT_DIR]
                   [--resume CKPT_DIR] [--seed N] [--batch N] [--eval-every N]
                   [--checkpoint-every N] [--target cpu|cuda] [--threads N] [--skip-invalid]
                   [--no-shuffle] [--bucket N] [--prepack auto|on|off] [--tokenizer FILE ...]

Runs the fused training step of DIR (from \`lor2c compile\`) over the data: one JSON object a
line whose keys are the model's input names and the label key, or raw text (below). Length, batch size, seed and
evaluation interval default to the spec's. When the spec schedules MergeLoR2C / InjectLoR2C,
the structure changes at those steps: SFS of every module, the decision (logged with the SFS
values behind it), a recompile into DIR/structure/step-N, and the parameters carried over.
Ctrl-C stops after the current step and writes a checkpoint; --resume continues bit-identically.

Options:
  --data FILE              training data (JSONL, or text: JSONL / CSV / TSV)
  --eval-data FILE         evaluation data; metrics by task (accuracy, F1, MCC, ...)
  --steps N | --epochs N   training length (default: the spec's)
  --init FILE              initial trainable values (safetensors, the manifest's names,
                           or a PEFT LoRA adapter_model.safetensors from \`export --peft\`)
  --log FILE.jsonl         one JSON object a step, and one per structural event
  --checkpoint DIR         where checkpoints go (the best one is kept)
  --resume DIR             continue from a checkpoint
  --seed N                 data order seed (default: the spec's)
  --batch N                examples per step (default: the spec's)
  --eval-every N           evaluate every N steps (default: the spec's)
  --checkpoint-every N     also checkpoint every N steps
  --target cpu|cuda        execution provider (cuda falls back to cpu with a message)
  --threads N              intra-op threads
  --skip-invalid           leave bad data rows out (listed) instead of refusing the file
  --no-shuffle             batches in file order every epoch (to compare with a reference run)
  --bucket N               group examples of similar length, within chunks of N batches, so
                           batches pad less (order stays seeded and resumable)
  --prepack auto|on|off    onnxruntime's packed copies of the frozen weights, for faster
                           products at the memory of those copies (auto: when the compiler
                           estimates them at most ${PREPACK_UP_TO / 2 ** 30} GiB, the manifest's
                           graphs.train.prepackBytes, and a batch has at least half the
                           model's width in rows: tokens, or examples without a sequence)

${TEXT_HELP}`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      data: { type: 'string' }, 'eval-data': { type: 'string' }, steps: { type: 'string' }, epochs: { type: 'string' },
      init: { type: 'string' }, log: { type: 'string' }, checkpoint: { type: 'string' }, resume: { type: 'string' },
      seed: { type: 'string' }, batch: { type: 'string' }, 'eval-every': { type: 'string' }, 'checkpoint-every': { type: 'string' },
      target: { type: 'string' }, threads: { type: 'string' }, 'skip-invalid': { type: 'boolean' }, 'no-shuffle': { type: 'boolean' }, bucket: { type: 'string' }, prepack: { type: 'string' },
      ...TEXT_OPTIONS,
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one artifacts DIR');
    if (!values.data) throw new UsageError('--data FILE is required');
    if (values.steps && values.epochs) throw new UsageError('give --steps or --epochs, not both');
    if (values.target !== undefined && values.target !== 'cpu' && values.target !== 'cuda') throw new UsageError(`--target must be cpu or cuda, got '${values.target}'`);
    if (values.prepack !== undefined && !['auto', 'on', 'off'].includes(values.prepack)) throw new UsageError(`--prepack must be auto, on or off, got '${values.prepack}'`);
    const dir = positionals[0]!;
    const manifest = readManifest(dir);
    // Length, batch, seed, evaluation interval and the Merge/Inject schedule default to the
    // spec's inside the Trainer (one source of defaults).
    const text = textInputFor(dir, values);
    if (values.init !== undefined) warnAboutAdapter('train', manifest, values.init);
    const trainer = await Trainer.open({
      text,
      artifacts: dir,
      data: values.data,
      evalData: values['eval-data'],
      steps: positiveInt('steps', values.steps),
      epochs: positiveInt('epochs', values.epochs),
      batchSize: positiveInt('batch', values.batch),
      seed: integerFlag('seed', values.seed, 0),
      init: values.init,
      log: values.log,
      checkpoint: values.checkpoint,
      checkpointEvery: positiveInt('checkpoint-every', values['checkpoint-every']),
      resume: values.resume,
      evalEvery: positiveInt('eval-every', values['eval-every']),
      skipInvalid: values['skip-invalid'],
      shuffle: !values['no-shuffle'],
      bucket: positiveInt('bucket', values.bucket),
      session: { target: (values.target as 'cpu' | 'cuda' | undefined) ?? manifest.target, intraOpThreads: threadsFlag(values.threads), ...(values.prepack === 'on' || values.prepack === 'off' ? { weightPrepacking: values.prepack === 'on' } : {}) },
      handleSignals: true,
    }, nodeHost);
    keepTextInput('train', dir, text, values);
    for (const line of trainer.skippedRows) console.error(`skipped ${line}`);
    const result = await trainer.run();
    const metrics = result.metrics ? '; eval ' + Object.entries(result.metrics).map(([k, v]) => `${metricTitle(k, manifest.task, text?.labels)} ${typeof v === 'number' ? v.toFixed(4) : v}`).join(', ') : '';
    console.log(`${result.status} at step ${result.step}: loss ${result.loss?.toFixed(4) ?? '-'}${metrics}${result.checkpoint ? `; checkpoint ${result.checkpoint}` : ''}`);
    if (result.status === 'nonfinite') {
      console.error(`lor2c train: ${result.problem}`);
      return 1;
    }
    // Stopped by Ctrl-C (its checkpoint written): the shell's convention for SIGINT.
    return result.status === 'stopped' ? 130 : 0;
  },
};
