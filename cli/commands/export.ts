import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../command.ts';
import { readManifest, sourceParameters, exportAdapter, exportMerged, exportPeft } from '../../runtime/index.ts';
import { oneDir } from './runtime-flags.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export an adapter (safetensors + config) or one merged standalone ONNX model',
  help: `Usage: lor2c export DIR (--adapter FILE.safetensors | --merged FILE.onnx | --peft OUTDIR) [--checkpoint CKPT [--best]] [--fold-lora]

Exports the trainable values of artifacts DIR: a checkpoint's (its latest, or its best with
--best) when --checkpoint is given, otherwise DIR's own adapter.safetensors.

  --adapter FILE.safetensors   the values, plus a JSON config beside them (PEFT-like):
                               method, LoR2C modules with spans / rank / alpha / dropout, share
                               groups, LoRA targets, the base model's path and sha256, the plan.
                               The config is FILE's stem + .config.json (adapter_config.json
                               for adapter_model.safetensors, PEFT's layout). Use the file with
                               \`lor2c infer --adapter\` or Pipeline.useAdapter.
  --merged FILE.onnx           one standalone inference model with the adapter inside (the
                               parameters become initializers); frozen weights go to
                               FILE.onnx.data beside it. Runs without lor2c or the artifacts.
  --peft OUTDIR                a PEFT LoRA adapter: OUTDIR/adapter_model.safetensors and
                               OUTDIR/adapter_config.json, as PeftModel.from_pretrained reads
                               them, for a structure of LoRA and trained heads only. Module
                               paths come from the weights' initializer names; a projection
                               whose weight names no module (onnx::MatMul_12, a Transpose) and
                               every LoR2C module are refused. \`--init\` / \`--adapter\` read
                               such a folder's adapter_model.safetensors back.
  Several may be given at once.

Options:
  --checkpoint CKPT    a checkpoint folder (its latest checkpoint) or one checkpoint directory
  --best               with --checkpoint: its best checkpoint
  --fold-lora          with --merged: fold LoRA into the weights it adapts where the projection
                       is a plain MatMul with its own weight (LoR2C paths skip blocks and stay
                       as graph paths; LoRA trained with dropout folds too, its Dropout being
                       the identity at inference); the model then runs LoRA at no extra cost.
                       Every merged export stores the adapter's factors already transposed.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      adapter: { type: 'string' }, merged: { type: 'string' }, peft: { type: 'string' }, checkpoint: { type: 'string' }, best: { type: 'boolean' }, 'fold-lora': { type: 'boolean' },
    });
    const dir = oneDir(positionals);
    if (!values.adapter && !values.merged && !values.peft) throw new UsageError('say what to export: --adapter FILE.safetensors, --merged FILE.onnx and/or --peft OUTDIR');
    if (values.peft?.endsWith('.safetensors')) throw new UsageError(`--peft names the folder to write adapter_model.safetensors and adapter_config.json into, got '${values.peft}'`);
    if (values.best && values.checkpoint === undefined) throw new UsageError('--best needs --checkpoint');
    if (values['fold-lora'] && !values.merged) throw new UsageError('--fold-lora applies to --merged');
    if (values.adapter && !values.adapter.endsWith('.safetensors')) throw new UsageError(`--adapter names the file to write and must end in .safetensors, got '${values.adapter}'`);
    if (values.merged && !values.merged.endsWith('.onnx')) throw new UsageError(`--merged names the model to write and must end in .onnx, got '${values.merged}'`);
    // A checkpoint made after a Merge/Inject is exported with the recompiled artifacts it belongs to.
    const params = sourceParameters(dir, readManifest(dir), { checkpoint: values.checkpoint, best: values.best });
    const { manifest, artifacts } = params;
    const from = params.source.kind === 'checkpoint' ? `checkpoint ${params.source.path} (step ${params.source.step})` : params.source.path;
    if (values.adapter) {
      const done = exportAdapter(artifacts, params.values, values.adapter, { source: params.source });
      console.log(`wrote ${done.file} and ${done.configFile} (${manifest.parameters.length} tensors from ${from})`);
    }
    if (values.peft) {
      const done = exportPeft(artifacts, params.values, values.peft);
      console.log(`wrote ${done.file} and ${done.configFile} (PEFT LoRA: ${done.config.target_modules.length} target modules, modules_to_save ${JSON.stringify(done.config.modules_to_save)}, from ${from})`);
    }
    if (values.merged) {
      const done = exportMerged(artifacts, params.values, values.merged, { source: params.source, foldLora: values['fold-lora'] });
      console.log(`wrote ${done.file}${done.dataFile ? ` and ${done.dataFile}` : ''} (adapter from ${from})`);
      if (done.fold) {
        for (const f of done.fold.folded) console.log(`  folded LoRA ${f.module} into ${f.weight}`);
        for (const k of done.fold.kept) console.log(`  kept LoRA ${k.module} as a graph path: ${k.reason}`);
      }
    }
    return 0;
  },
};
