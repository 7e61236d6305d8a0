/**
 * Exporting a trained adapter, two ways (docs/architecture.md, "Adapter files"):
 *
 * - exportAdapter: the parameter values as safetensors plus a JSON config beside them, in the
 *   spirit of PEFT's adapter_model.safetensors + adapter_config.json: the method, the modules
 *   with their spans, rank, alpha and dropout, share groups, LoRA targets, the base model's
 *   path and sha256, and the whole plan. Loadable again with `--adapter` / Pipeline.useAdapter.
 * - exportMerged: ONE standalone inference model with the adapter inside: infer.onnx with each
 *   parameter input replaced by an initializer holding its value, its frozen weights copied
 *   into the model's own external data file (or inline when small). Optionally LoRA is folded
 *   into the weights it adapts (fold-lora.ts); LoR2C paths stay graph paths.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../compiler/errors.ts';
import type { Manifest } from '../compiler/emit/manifest.ts';
import { encodeSafetensors, float32Entry } from '../compiler/emit/safetensors.ts';
import { modelFromProto, modelToProto } from '../compiler/graph/convert.ts';
import { eliminateDeadCode } from '../compiler/graph/dce.ts';
import { DataType } from '../compiler/onnx/dtype.ts';
import { create, StringStringEntryProtoSchema } from '../compiler/onnx/proto.ts';
import { readModel } from '../compiler/onnx/read.ts';
import { makeTensor } from '../compiler/onnx/tensor.ts';
import { ExternalDataFile, encodeModel, writeFileAtomic } from '../compiler/onnx/write.ts';
import { adapterValues, type AdapterSource, type SourcedParameters } from './adapter.ts';
import { readManifest } from './artifacts.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { foldLora, type FoldReport } from './fold-lora.ts';

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
  modules: { id: string; span?: [number, number]; rank?: number; alpha?: number; dropout?: number; A?: string; B?: string }[];
  /** ShareLoR2C groups ({ share: 'A' | 'B' | 'both', modules }) as compiled. */
  share_groups: unknown[];
  /** LoRA targets (e.g. 'b3.q') with rank, alpha, dropout where the plan has them. */
  lora: { target: string; rank: number; alpha?: number; dropout?: number; A: string; B: string }[];
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

/**
 * The config file of an adapter file: PEFT's names for PEFT's layout
 * (adapter_model.safetensors -> adapter_config.json), otherwise `<stem>.config.json`, so
 * several adapters can share a folder.
 */
export function adapterConfigPath(file: string): string {
  const name = basename(file);
  if (name === 'adapter_model.safetensors') return join(dirname(file), 'adapter_config.json');
  return join(dirname(file), `${name.replace(/\.safetensors$/, '')}.config.json`);
}

/**
 * A warning when the config beside an adapter file says it was trained on another base model
 * (a different sha256) than these artifacts were compiled from: names and shapes can match for
 * two checkpoints of one architecture while the values make no sense on the other. Undefined
 * when they agree, or when there is no readable config to tell.
 */
export function adapterBaseWarning(manifest: Manifest, adapterFile: string): string | undefined {
  const path = adapterConfigPath(adapterFile);
  if (!existsSync(path)) return undefined;
  let config: Partial<AdapterConfig>;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as Partial<AdapterConfig>;
  } catch {
    return `${path} is not valid JSON; cannot tell which base model ${basename(adapterFile)} was trained on`;
  }
  const theirs = config.base_model_sha256;
  if (!theirs || !manifest.base.sha256 || theirs === manifest.base.sha256) return undefined;
  return `${basename(adapterFile)} was trained on base model ${config.base_model_name_or_path ?? '?'} (sha256 ${theirs.slice(0, 12)}...), but these artifacts were compiled from ${manifest.base.path} (sha256 ${manifest.base.sha256.slice(0, 12)}...)`;
}

export interface ExportOptions {
  /** Where the values came from, recorded in what is written. */
  source?: ExportSource;
}

export interface ExportedAdapter {
  file: string;
  configFile: string;
  config: AdapterConfig;
}

/** Writes the adapter's values (every manifest parameter, checked) and its config beside them. */
export function exportAdapter(dir: string, params: AdapterSource, outFile: string, opts: ExportOptions = {}): ExportedAdapter {
  const manifest = readManifest(dir);
  const values = adapterValues(manifest, params, typeof params === 'string' ? params : 'adapter values');
  if (!outFile.endsWith('.safetensors')) throw new UserError(`adapter file '${outFile}' must end in .safetensors`);
  const bytes = encodeSafetensors(
    new Map([...values].map(([name, t]) => [name, float32Entry(t.shape, t.data)])),
    { format: 'lor2c', lor2c_version: manifest.versions.lor2c, base_sha256: manifest.base.sha256 },
  );
  const config = adapterConfig(manifest, {
    file: basename(outFile),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source: opts.source ?? (typeof params === 'string' ? { kind: 'adapter', path: params } : { kind: 'values' }),
  });
  const configFile = adapterConfigPath(outFile);
  makeFolderFor(outFile);
  writeFileAtomic(outFile, bytes);
  writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { file: outFile, configFile, config };
}

/** The config of an adapter for `manifest`, from its parameters and (where it has them) its plan. */
export function adapterConfig(manifest: Manifest, about: { file: string; sha256: string; source: AdapterConfig['source'] }): AdapterConfig {
  // The compiled structure (it follows Merge / Inject); the plan for artifacts without one.
  const plan = (manifest.structure ?? manifest.plan ?? {}) as Record<string, unknown>;
  const planModules = new Map<string, Record<string, unknown>>();
  for (const m of arrayOf(plan.modules)) if (typeof m?.id === 'string') planModules.set(m.id, m);

  const modules = new Map<string, AdapterConfig['modules'][number]>();
  const lora = new Map<string, { A?: string; B?: string; rank: number }>();
  const modulesToSave: string[] = [];
  // A shared matrix names the first module of its group; each module's own B (or, for a shared
  // B, the plan's modules) lists the rest.
  for (const p of manifest.parameters) {
    if (p.role === 'extra') {
      modulesToSave.push(p.name);
    } else if (p.role === 'lora.A' || p.role === 'lora.B') {
      const t = lora.get(p.module) ?? { rank: p.role === 'lora.A' ? p.shape[0]! : p.shape[1]! };
      t[p.role === 'lora.A' ? 'A' : 'B'] = p.name;
      lora.set(p.module, t);
    } else {
      const m = modules.get(p.module) ?? moduleEntry(p.module, planModules.get(p.module));
      m[p.role === 'lor2c.A' ? 'A' : 'B'] = p.name;
      m.rank ??= p.role === 'lor2c.A' ? p.shape[0] : p.shape[1];
      modules.set(p.module, m);
    }
  }
  for (const [id, m] of planModules) if (!modules.has(id)) modules.set(id, moduleEntry(id, m));
  const loraSettings = loraSettingsOf(plan);
  return {
    format: 'lor2c-adapter',
    formatVersion: 1,
    peft_type: modules.size > 0 ? 'LOR2C' : 'LORA',
    method: modules.size > 0 ? 'lor2c' : 'lora',
    base_model_name_or_path: manifest.base.path,
    base_model_sha256: manifest.base.sha256,
    task: manifest.task,
    modules: [...modules.values()],
    share_groups: arrayOf(plan.share),
    lora: [...lora].map(([target, t]) => ({ target, rank: t.rank, ...loraSettings(target), A: t.A ?? '', B: t.B ?? '' })),
    modules_to_save: modulesToSave,
    parameters: manifest.parameters.map((p) => ({ name: p.name, shape: p.shape, dtype: p.dtype, role: p.role, module: p.module })),
    weights: { file: about.file, sha256: about.sha256 },
    source: about.source,
    lor2c_version: manifest.versions.lor2c,
    structure: manifest.structure,
    plan: manifest.plan,
  };
}

function arrayOf(v: unknown): Record<string, any>[] {
  return Array.isArray(v) ? (v as Record<string, any>[]) : [];
}

function moduleEntry(id: string, m: Record<string, unknown> | undefined): AdapterConfig['modules'][number] {
  const entry: AdapterConfig['modules'][number] = { id };
  if (!m) return entry;
  if (Array.isArray(m.span) && m.span.length === 2) entry.span = [Number(m.span[0]), Number(m.span[1])];
  for (const k of ['rank', 'alpha', 'dropout'] as const) if (typeof m[k] === 'number') entry[k] = m[k] as number;
  return entry;
}

/**
 * alpha and dropout of a LoRA target 'b<i>.<role>' from the plan's lora sections (resolved
 * sites carry a block; sections apply to their selected blocks). Unknown: left out.
 */
function loraSettingsOf(plan: Record<string, unknown>): (target: string) => { alpha?: number; dropout?: number } {
  const sections = arrayOf(plan.lora);
  return (target) => {
    const match = /^b(\d+)\.(\w+)$/.exec(target);
    for (const s of sections) {
      const role = s.target?.role ?? (Array.isArray(s.targets) ? s.targets.find((t: any) => t?.role === match?.[2])?.role : undefined);
      if (match && role === match[2] && (s.block === undefined || s.block === Number(match[1]))) {
        return { ...(typeof s.alpha === 'number' ? { alpha: s.alpha } : {}), ...(typeof s.dropout === 'number' ? { dropout: s.dropout } : {}) };
      }
    }
    return {};
  };
}

export interface ExportMergedOptions extends ExportOptions {
  /** Fold LoRA into the weights it adapts where the graph allows (default false). */
  foldLora?: boolean;
  /** Tensors of at least this many bytes go to the external data file (default 1024, as artifacts). */
  externalThreshold?: number;
}

export interface MergedExport {
  file: string;
  /** The external data file beside it, when any tensor is large enough. */
  dataFile?: string;
  bytes: number;
  fold?: FoldReport;
}

/**
 * Writes infer.onnx with the adapter inside as one standalone model. The data file is
 * `<file>.data` in the same folder; both are written to temporary names and renamed (data
 * first), and a stale data file from an earlier export that is no longer needed is removed.
 */
export function exportMerged(dir: string, params: AdapterSource, outFile: string, opts: ExportMergedOptions = {}): MergedExport {
  const manifest = readManifest(dir);
  const values = adapterValues(manifest, params, typeof params === 'string' ? params : 'adapter values');
  const info = manifest.graphs.infer;
  const model = modelFromProto(readModel(join(dir, info.file)));
  const graph = model.graph;

  // Each parameter input becomes an initializer of the same name.
  const names = new Map<string, string>();
  const paramInputs = new Map<string, Float32Tensor>();
  for (const io of info.inputs) {
    if (io.role !== 'param') continue;
    const name = io.of ?? io.name;
    paramInputs.set(io.name, values.get(name)!);
    names.set(name, io.name);
  }
  const declared = new Set(graph.inputNames());
  const absent = [...paramInputs.keys()].filter((n) => !declared.has(n));
  if (absent.length > 0) throw new UserError(`${join(dir, info.file)} does not have the parameter inputs the manifest lists: ${absent.join(', ')}`, 'the artifacts directory is inconsistent; recompile it');
  graph.inputs = graph.inputs.filter((v) => !paramInputs.has(v.name));
  for (const [name, t] of paramInputs) graph.initializers.set(name, makeTensor(name, DataType.FLOAT, t.shape, t.data));

  const fold = opts.foldLora ? foldLora(graph, manifest, names) : undefined;
  eliminateDeadCode(graph);

  const proto = modelToProto(model);
  const about = {
    base_sha256: manifest.base.sha256,
    parameters: manifest.parameters.map((p) => p.name),
    source: opts.source ?? (typeof params === 'string' ? { kind: 'adapter', path: params } : { kind: 'values' }),
    folded: fold?.folded.map((f) => f.module) ?? [],
  };
  proto.metadataProps = [
    ...proto.metadataProps.filter((e) => e.key !== 'lor2c.merged'),
    create(StringStringEntryProtoSchema, { key: 'lor2c.merged', value: JSON.stringify(about) }),
  ];

  makeFolderFor(outFile);
  const dataPath = `${outFile}.data`;
  const external = new ExternalDataFile(dataPath);
  let bytes: Uint8Array;
  let usesData: boolean;
  try {
    bytes = encodeModel(proto, { external, threshold: opts.externalThreshold ?? 1024 });
    usesData = external.used; // read before commit, which closes the file
    external.commit();
  } catch (e) {
    external.abort();
    throw e;
  }
  writeFileAtomic(outFile, bytes);
  if (!usesData && existsSync(dataPath)) rmSync(dataPath, { force: true });
  return { file: outFile, dataFile: usesData ? dataPath : undefined, bytes: bytes.length, fold };
}

/** Creates the folder a file goes into (as compile does for --out); a failure names the file. */
function makeFolderFor(file: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the folder for ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
