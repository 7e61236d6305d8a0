/**
 * PEFT LoRA adapters, both ways (docs/architecture.md, "PEFT adapters"):
 *
 * - exportPeft writes OUTDIR/adapter_model.safetensors + OUTDIR/adapter_config.json as PEFT's
 *   PeftModel.from_pretrained reads them, for a structure of LoRA (and trained heads) only;
 * - readPeftAdapter reads such a folder's tensors back into lor2c's parameters for matching
 *   artifacts (`--init`, `--adapter`), refusing any tensor that maps to nothing, any parameter
 *   missing, any shape or scale that differs.
 *
 * The names and orientations are peft-layout.ts's.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { makeFolder, writeFileAtomic } from '../contract/atomic.ts';
import { decodeSafetensors, encodeSafetensors, float32Entry, float32Values, type SafetensorsContents, type SafetensorsTensor } from '../contract/safetensors.ts';
import { halfArrayToFloat } from '../compiler/index.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { describeAdapters } from '../compiler/adapters/describe.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { PEFT_CONFIG, PEFT_PREFIX, PEFT_WEIGHTS, peftLayout, type PeftLayout } from './peft-layout.ts';
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
  const bytes = encodeSafetensors(entries, { format: 'pt', [EXPORT_MARK]: '1', lor2c_version: manifest.versions.lor2c, base_sha256: manifest.base.sha256 });
  const file = join(outDir, PEFT_WEIGHTS);
  const configFile = join(outDir, PEFT_CONFIG);
  refuseArtifactFiles(dir, manifest, file, 'the PEFT adapter');
  refuseArtifactFiles(dir, manifest, configFile, 'the PEFT adapter config');
  refuseForeignPeftFiles(file, configFile);
  makeFolder(outDir, 'the PEFT adapter folder');
  writeFileAtomic(file, bytes);
  writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`);
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

/**
 * lor2c's parameter values from a PEFT LoRA adapter for artifacts DIR: every tensor must map to
 * a parameter, every parameter must be there, shapes and each target's alpha / r must agree.
 */
export function readPeftAdapter(dir: string, manifest: Manifest, file: string, contents: SafetensorsContents): Map<string, Float32Tensor> {
  const configFile = join(dirname(file), PEFT_CONFIG);
  let config: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readRegularFile(configFile, 'PEFT adapter config').toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    config = parsed as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${configFile} is not a JSON object: ${(e as Error).message}`);
  }
  if (config.peft_type !== 'LORA') throw new UserError(`${configFile} has peft_type ${JSON.stringify(config.peft_type)}; lor2c reads PEFT LoRA adapters (peft_type "LORA") only`);
  for (const flag of ['use_dora', 'use_rslora', 'fan_in_fan_out'] as const) {
    if (config[flag] === true) throw new UserError(`${configFile} sets ${flag}: true, which lor2c's LoRA does not compute`, 'train the adapter without it');
  }
  const layout = peftLayout(dir, manifest);
  const byPeft = new Map(layout.tensors.map((t) => [t.peft, t]));
  const problems: string[] = [];
  const values = new Map<string, Float32Tensor>();
  for (const [name, tensor] of contents.tensors) {
    const t = byPeft.get(name);
    if (!t) {
      problems.push(`'${name}' maps to no parameter of ${dir}${name.startsWith(PEFT_PREFIX) ? '' : ` (PEFT names start with ${PEFT_PREFIX})`}`);
      continue;
    }
    if (JSON.stringify(tensor.shape) !== JSON.stringify(t.shape)) {
      problems.push(`'${name}' has shape ${JSON.stringify(tensor.shape)}, expected ${JSON.stringify(t.shape)} (for ${t.parameter})`);
      continue;
    }
    const data = peftValues(tensor, name);
    values.set(t.parameter, { shape: t.transpose ? [...t.shape].reverse() : [...t.shape], data: t.transpose ? transpose2d(data, t.shape) : data });
  }
  for (const t of layout.tensors) if (!contents.tensors.has(t.peft)) problems.push(`'${t.peft}' is missing (for ${t.parameter})`);
  // PEFT scales each delta by lora_alpha / r (or the patterns'); lor2c's graph has its own scale.
  const r = typeof config.r === 'number' ? config.r : 8;
  const alpha = typeof config.lora_alpha === 'number' ? config.lora_alpha : 8;
  for (const t of layout.lora) {
    const theirs = patternValue(config.alpha_pattern, t.module, alpha) / patternValue(config.rank_pattern, t.module, r);
    const ours = t.alpha / t.rank;
    if (Math.abs(theirs - ours) > 1e-6 * Math.abs(ours)) problems.push(`LoRA on ${t.module} scales by ${theirs} (lora_alpha / r in ${PEFT_CONFIG}), these artifacts by ${ours} (alpha ${t.alpha}, rank ${t.rank})`);
  }
  if (problems.length > 0) {
    throw new UserError(`PEFT adapter ${file} does not match the artifacts in ${dir}:\n  ${problems.join('\n  ')}`, 'compile a spec whose LoRA targets, ranks and alpha are the adapter\'s, with the same trained heads');
  }
  return values;
}

/** PEFT's pattern lookup: a key matching the module path's end (PEFT treats keys as regexes). */
function patternValue(pattern: unknown, module: string, fallback: number): number {
  if (pattern === null || typeof pattern !== 'object') return fallback;
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    if (typeof value !== 'number') continue;
    let re: RegExp;
    try {
      re = new RegExp(`^(.*\\.)?${key}$`);
    } catch {
      continue;
    }
    if (re.test(module)) return value;
  }
  return fallback;
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

/** A tensor's values as float32: PEFT saves adapters in the model's dtype, often float16 or bfloat16 (widening is exact). */
function peftValues(tensor: SafetensorsTensor, name: string): Float32Array {
  if (tensor.dtype !== 'F16' && tensor.dtype !== 'BF16') return float32Values(tensor, name);
  const bits = new Uint16Array(tensor.data.byteLength / 2);
  new Uint8Array(bits.buffer).set(tensor.data);
  return halfArrayToFloat(bits, tensor.dtype === 'BF16');
}

function transpose2d(data: Float32Array, shape: readonly number[]): Float32Array {
  const [rows, cols] = shape as [number, number];
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}

function mostCommon(xs: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: number | undefined;
  for (const [x, n] of counts) if (best === undefined || n > counts.get(best)!) best = x;
  return best;
}
