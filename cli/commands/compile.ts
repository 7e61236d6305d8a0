import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../command.ts';
import { compileSpecFile, renderReport, summarizeBlocks } from '../../compiler/index.ts';
import { renderDiagnostics } from '../../dsl/index.ts';
import { join } from 'node:path';
import { loadTextInput, saveTextInput, TEXT_CONFIG, type TextFlags, type TextInput } from '../../runtime/index.ts';
import { TEXT_OPTIONS, textFlags } from './text-flags.ts';

export const compileCommand: Command = {
  name: 'compile',
  summary: 'compile a .lor2c spec and a base model into train / eval / infer artifacts',
  help: `Usage: lor2c compile SPEC.lor2c [--model MODEL.onnx] --out DIR [--target cpu|cuda] [--update fused|split] [--emit-ts] [--strict] [--force]
                     [--tokenizer tokenizer.json [--text-field F] [--pair-field F] [--label-field F]
                      [--max-length N] [--labels NAME,NAME,...]]

Checks the spec, finds the blocks of the base model, applies the adapters (LoR2C, ShareLoR2C,
static merges, LoRA), differentiates, and writes DIR:
  train.onnx, eval.onnx, infer.onnx   the fused training step, evaluation and inference graphs
  update.onnx                         with the split update: the optimizer, run chunk by chunk
  weights.bin                         frozen base weights, shared by the three graphs
  manifest.json                       what every parameter and graph input/output means
  adapter.safetensors                 initial values of the trainable parameters
  bindings.ts                         with --emit-ts: typed TypeScript bindings
  text.json, tokenizer.json           with --tokenizer: how train / eval / infer read raw text
DIR is new, empty, or holds earlier artifacts: lor2c replaces only its own files there (the
files the old manifest names, a bindings.ts and text.json it generated), once the new ones are
complete (an interrupted compile leaves the old artifacts or the new, never a mix), and keeps
everything else (checkpoints, notes). A non-empty folder without artifacts is refused.

Options:
  --model MODEL.onnx   the base model (default: the spec's \`model\`)
  --out DIR            where to write the artifacts (required)
  --target cpu|cuda    recorded in the manifest (default: the spec's \`target\`)
  --update fused|split where the optimizer runs: fused into train.onnx, which returns the
                       updated parameters and state, or split: train.onnx returns the gradients
                       and update.onnx applies them in place, a chunk at a time (default: split
                       above 16M trainable values, where it holds about half the memory)
  --force              write into a non-empty folder that holds no artifacts, beside its files
                       (a file already named like an artifact is still refused, never replaced)
  --emit-ts            also write DIR/bindings.ts: a typed Row (the model's data inputs),
                       LabelledRow, Outputs, the parameter names and shapes, and load()
                       returning run / classify or nextTokenLogits / useAdapter, typed for
                       these artifacts (it imports lor2c's runtime as lor2c/inference);
                       load({ checkpoint }) follows a checkpoint made after a Merge/Inject to
                       its recompiled artifacts, as infer --checkpoint does
  --tokenizer FILE     a Hugging Face tokenizer.json: data files may then hold raw text (JSONL
                       with a "text" field, CSV / TSV with a header) and string labels
  --text-field, --pair-field, --label-field NAME   which fields hold the text, a pair's
                       second text and the label (defaults: text, none, the task's label key)
  --max-length N       tokens at most (default: the model's fixed sequence length or the
                       tokenizer's truncation)
  --labels A,B,...     the label names in class-id order (default: sorted, from the first
                       labelled file read)
  --strict             refuse when the block structure found is doubtful (printed as
                       warnings otherwise, with the hint that names the blocks)

The LR schedule's warmup and total step counts are inputs of train.onnx: \`lor2c train\` feeds
them from the run's real length, so one compile serves any --steps or --epochs.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      model: { type: 'string' }, out: { type: 'string' }, target: { type: 'string' }, update: { type: 'string' }, 'emit-ts': { type: 'boolean' }, strict: { type: 'boolean' }, force: { type: 'boolean' },
      ...TEXT_OPTIONS, labels: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one SPEC.lor2c');
    if (!values.out) throw new UsageError('--out DIR is required');
    if (values.target !== undefined && values.target !== 'cpu' && values.target !== 'cuda') throw new UsageError(`--target must be cpu or cuda, got '${values.target}'`);
    if (values.update !== undefined && values.update !== 'fused' && values.update !== 'split') throw new UsageError(`--update must be fused or split, got '${values.update}'`);
    const spec = positionals[0]!;
    const flags = textFlags(values, values.labels);
    let text: TextFlags = {};
    let textInput: TextInput | undefined;
    const result = compileSpecFile(spec, { model: values.model, out: values.out, target: values.target as 'cpu' | 'cuda' | undefined, update: values.update as 'fused' | 'split' | undefined, emitTs: values['emit-ts'] === true, strict: values.strict === true, force: values.force === true,
      alsoWrite: (read) => {
        // The spec's `text { }`, each setting overridden by its flag.
        text = { ...read.text, ...definedOnly(flags) };
        if (!text.tokenizer && Object.values(text).some((v) => v !== undefined)) throw new UsageError('--text-field, --pair-field, --label-field, --max-length and --labels need a tokenizer: --tokenizer FILE, or `text { tokenizer "FILE" }` in the spec');
        // Loaded before the model is read, so a bad tokenizer fails fast.
        textInput = text.tokenizer ? loadTextInput(undefined, text) : undefined;
        // Written with the artifacts, so they are replaced together and count as lor2c's own.
        const input = textInput;
        return input ? (staging) => void saveTextInput(staging, input) : undefined;
      } });
    if (result.diagnostics.length) console.error(renderDiagnostics(result.diagnostics, result.specText));
    const { blocks } = result.base;
    const stats = result.compiled.graphs.stats;
    console.log(`model       ${result.base.modelPath}`);
    const half = result.base.half;
    if (half.type) console.log(`precision   base stored in ${half.type}, computed in float32: ${half.kept} weights (${(half.keptBytes / 2 ** 20).toFixed(1)} MiB) stay ${half.type} on disk, cast once by ORT at load; ${half.converted} small tensors converted`);
    for (const line of summarizeBlocks(blocks)) (line.startsWith('warning') || line.startsWith('hint') ? console.error : console.log)(line);
    console.log(renderReport(result.compiled.report));
    const update = result.compiled.graphs.update ? `, update ${result.compiled.graphs.update.graph.nodes.length} (split update)` : '';
    console.log(`graphs      train ${stats.trainNodes} nodes (forward ${stats.forwardNodes}, backward ${stats.backwardNodes}), eval ${stats.evalNodes}, infer ${stats.inferNodes}${update}`);
    console.log(`time        prepare ${result.seconds.prepare.toFixed(2)} s, compile ${result.seconds.compile.toFixed(2)} s, write ${result.seconds.write.toFixed(2)} s`);
    if (result.compiled.cudaFallback) {
      console.error(`warning     nodes without a CUDA kernel run on the CPU (fallback cpu), their tensors copied across each step:\n  ${result.compiled.cudaFallback}`);
    }
    if (textInput) console.log(`text        ${join(result.written.dir, TEXT_CONFIG)} (tokenizer ${text.tokenizer}, vocab ${textInput.tokenizer.vocabSize})`);
    console.log(`wrote       ${result.written.dir}`);
    return 0;
  },
};

/** The flags the user gave (an absent flag leaves the spec's setting). */
function definedOnly(flags: TextFlags): TextFlags {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as TextFlags;
}
