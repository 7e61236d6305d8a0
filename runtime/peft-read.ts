/**
 * Reading a PEFT LoRA adapter back into lor2c's parameters (`--init`, `--adapter`), apart from
 * peft.ts's export so the inference entry reads PEFT files without the export's file writing
 * and the compiler's spec language. The names and orientations are peft-layout.ts's.
 */
import { dirname, join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { float32Values, type SafetensorsContents, type SafetensorsTensor } from '../contract/safetensors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { halfArrayToFloat } from '../compiler/portable.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { PEFT_CONFIG, PEFT_PREFIX, peftLayout, transpose2d } from './peft-layout.ts';

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

/** A tensor's values as float32: PEFT saves adapters in the model's dtype, often float16 or bfloat16 (widening is exact). */
function peftValues(tensor: SafetensorsTensor, name: string): Float32Array {
  if (tensor.dtype !== 'F16' && tensor.dtype !== 'BF16') return float32Values(tensor, name);
  const bits = new Uint16Array(tensor.data.byteLength / 2);
  new Uint8Array(bits.buffer).set(tensor.data);
  return halfArrayToFloat(bits, tensor.dtype === 'BF16');
}
