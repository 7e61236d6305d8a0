/**
 * PEFT LoRA adapters, both ways (docs/architecture.md, "PEFT adapters"):
 *
 * - exportPeft writes OUTDIR/adapter_model.safetensors + OUTDIR/adapter_config.json as PEFT's
 *   PeftModel.from_pretrained reads them, for a structure of LoRA (and trained heads) only;
 * - readPeftAdapter (peft-read.ts) reads such a folder's tensors back into lor2c's parameters for matching
 *   artifacts (`--init`, `--adapter`), refusing any tensor that maps to nothing, any parameter
 *   missing, any shape or scale that differs.
 *
 * The names and orientations are peft-layout.ts's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { makeFolder, writeFileAtomic } from '../contract/atomic.ts';
import { decodeSafetensors, encodeSafetensors, float32Entry } from '../contract/safetensors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { describeAdapters } from '../compiler/portable.ts';
import { PEFT_CONFIG, PEFT_CONFIG_SHA, PEFT_WEIGHTS, peftLayout, transpose2d, type PeftLayout } from './peft-layout.ts';
import { refuseArtifactFiles, removeKilledWrites } from './export-target.ts';
import { adapterValues, type AdapterSource } from './adapter.ts';
import { readManifest } from './artifacts.ts';

/** Metadata key marking a PEFT export of lor2c's (so a later export may replace it). */
const EXPORT_MARK = 'lor2c_peft_export';

/** PEFT's LoraConfig fields that lor2c writes (PEFT's names). */
export interface PeftLoraConfig {
  peft_type: 'LORA';
  task_type: 'SEQ_CLS' | 'CAUSAL_LM';
  base_model_name_or_path: string | null;
  inference_mode: true;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  modules_to_save: string[] | null;
  bias: 'none';
  fan_in_fan_out: false;
  use_rslora: false;
  use_dora: false;
  init_lora_weights: true;
  layers_to_transform: null;
  layers_pattern: null;
}

export interface PeftExport {
  file: string;
  configFile: string;
  config: PeftLoraConfig;
}

/** Writes the PEFT LoRA adapter of artifacts DIR's values into folder `outDir`. */
export function exportPeft(dir: string, params: AdapterSource, outDir: string): PeftExport {
  const manifest = readManifest(dir);
  const values = adapterValues(manifest, params, typeof params === 'string' ? params : 'adapter values', dir);
  const layout = peftLayout(dir, manifest);
  const config = peftConfig(manifest, layout);
  const entries = new Map(layout.tensors.map((t) => {
    const v = values.get(t.parameter)!;
    return [t.peft, float32Entry(t.shape, t.transpose ? transpose2d(v.data, v.shape) : v.data)];
  }));
  const configText = `${JSON.stringify(config, null, 2)}\n`;
  const bytes = encodeSafetensors(entries, {
    format: 'pt',
    [EXPORT_MARK]: '1',
    lor2c_version: manifest.versions.lor2c,
    base_sha256: manifest.base.sha256,
    [PEFT_CONFIG_SHA]: createHash('sha256').update(configText).digest('hex'),
  });
  const file = join(outDir, PEFT_WEIGHTS);
  const configFile = join(outDir, PEFT_CONFIG);
  refuseArtifactFiles(dir, manifest, file, 'the PEFT adapter');
  refuseArtifactFiles(dir, manifest, configFile, 'the PEFT adapter config');
  refuseForeignPeftFiles(file, configFile);
  makeFolder(outDir, 'the PEFT adapter folder');
  writeFileAtomic(file, bytes);
  writeFileAtomic(configFile, configText);
  removeKilledWrites(file);
  removeKilledWrites(configFile);
  return { file, configFile, config };
}

/** PEFT's config for `layout`: r and lora_alpha the most common, the rest in rank_pattern / alpha_pattern by module path. */
export function peftConfig(manifest: Manifest, layout: PeftLayout): PeftLoraConfig {
  const r = mostCommon(layout.lora.map((t) => t.rank)) ?? 8;
  const alpha = mostCommon(layout.lora.map((t) => t.alpha)) ?? r;
  const dropouts = describeAdapters(manifest.parameters, manifest.structure).lora.map((t) => t.dropout ?? 0);
  return {
    peft_type: 'LORA',
    task_type: manifest.task.kind === 'lm' ? 'CAUSAL_LM' : 'SEQ_CLS',
    // The base lor2c compiled is an ONNX file, not a model PEFT can load by name.
    base_model_name_or_path: null,
    inference_mode: true,
    r,
    lora_alpha: alpha,
    lora_dropout: mostCommon(dropouts) ?? 0,
    target_modules: layout.lora.map((t) => t.module),
    rank_pattern: Object.fromEntries(layout.lora.filter((t) => t.rank !== r).map((t) => [t.module, t.rank])),
    alpha_pattern: Object.fromEntries(layout.lora.filter((t) => t.alpha !== alpha).map((t) => [t.module, t.alpha])),
    modules_to_save: layout.modulesToSave.length > 0 ? layout.modulesToSave : null,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    layers_to_transform: null,
    layers_pattern: null,
  };
}

/** Refuses to replace files in OUTDIR that an earlier PEFT export of lor2c's did not write. */
function refuseForeignPeftFiles(file: string, configFile: string): void {
  if (!existsSync(file) && !existsSync(configFile)) return;
  let ours = false;
  if (existsSync(file)) {
    try {
      ours = decodeSafetensors(readRegularFile(file, 'safetensors file'), file).metadata[EXPORT_MARK] === '1';
    } catch {
      ours = false;
    }
  }
  if (!ours) {
    throw new UserError(`${dirname(file)} already holds ${existsSync(file) ? PEFT_WEIGHTS : PEFT_CONFIG} that lor2c did not export; lor2c replaces only its own PEFT exports`, 'export to an empty or new folder');
  }
}

function mostCommon(xs: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: number | undefined;
  for (const [x, n] of counts) if (best === undefined || n > counts.get(best)!) best = x;
  return best;
}
