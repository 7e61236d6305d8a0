/**
 * An exported adapter's two files as values: the safetensors bytes of its parameters and the
 * JSON config that goes beside them (export.ts writes both to disk; a page offers them as
 * downloads). Pure, so both produce the same files.
 */
import type { Manifest } from '../contract/manifest.ts';
import { encodeSafetensors, float32Entry } from '../contract/safetensors.ts';
import { describeAdapters, type AdapterDescription, type LoraDescription, type ModuleDescription } from '../compiler/portable.ts';
import type { SourcedParameters } from './adapter.ts';
import type { Float32Tensor } from './checkpoint.ts';

/** Where exported values came from (recorded in the config and the merged model's metadata). */
export type ExportSource = SourcedParameters['source'];

/** The JSON config written beside an exported adapter. */
export interface AdapterConfig {
  format: 'lor2c-adapter';
  formatVersion: 1;
  /** PEFT's field, for tools that sniff it. */
  peft_type: 'LOR2C' | 'LORA';
  /** 'lor2c' when any LoR2C module is present, else 'lora'. */
  method: 'lor2c' | 'lora';
  base_model_name_or_path: string;
  base_model_sha256: string;
  task: Manifest['task'];
  /** LoR2C modules: id, span [start, end], rank, alpha, dropout, and their parameter names. */
  modules: ModuleDescription[];
  /** ShareLoR2C groups ({ share: 'A' | 'B' | 'both', modules }) as compiled. */
  share_groups: AdapterDescription['shareGroups'];
  /** LoRA targets (e.g. 'b3.q') with rank, alpha, dropout where the structure has them. */
  lora: LoraDescription[];
  /** Original weights trained too (the task head): PEFT's modules_to_save. */
  modules_to_save: string[];
  parameters: { name: string; shape: number[]; dtype: string; role: string; module: string }[];
  /** The adapter file this config describes (a name in the same folder) and its sha256. */
  weights: { file: string; sha256: string };
  source: ExportSource | { kind: 'values' };
  lor2c_version: string;
  /** The adapter structure compiled (modules, share groups, LoRA sites) and the spec's plan. */
  structure: unknown;
  plan: unknown;
}

/** The adapter's values as safetensors, with lor2c's metadata (version, base model sha256). */
export function encodeAdapter(manifest: Manifest, values: ReadonlyMap<string, Float32Tensor>): Uint8Array {
  return encodeSafetensors(
    new Map([...values].map(([name, t]) => [name, float32Entry(t.shape, t.data)])),
    { format: 'lor2c', lor2c_version: manifest.versions.lor2c, base_sha256: manifest.base.sha256 },
  );
}

/** The config of an adapter for `manifest`, from its parameters and (where it has them) its plan. */
export function adapterConfig(manifest: Manifest, about: { file: string; sha256: string; source: AdapterConfig['source'] }): AdapterConfig {
  const described = describeAdapters(manifest.parameters, manifest.structure);
  return {
    format: 'lor2c-adapter',
    formatVersion: 1,
    peft_type: described.modules.length > 0 ? 'LOR2C' : 'LORA',
    method: described.modules.length > 0 ? 'lor2c' : 'lora',
    base_model_name_or_path: manifest.base.path,
    base_model_sha256: manifest.base.sha256,
    task: manifest.task,
    modules: described.modules,
    share_groups: described.shareGroups,
    lora: described.lora,
    modules_to_save: described.modulesToSave,
    parameters: manifest.parameters.map((p) => ({ name: p.name, shape: p.shape, dtype: p.dtype, role: p.role, module: p.module })),
    weights: { file: about.file, sha256: about.sha256 },
    source: about.source,
    lor2c_version: manifest.versions.lor2c,
    structure: manifest.structure,
    plan: manifest.plan,
  };
}
