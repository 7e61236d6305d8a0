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
 *   into the weights it adapts (compiler/adapters/fold-lora.ts); LoR2C paths stay graph paths.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { adapterConfig, encodeAdapter, type AdapterConfig, type ExportSource } from './adapter-config.ts';
import { modelFromProto, modelToProto, create, StringStringEntryProtoSchema, readModel, ExternalDataFile, encodeModel, bakeAdapter, type FoldReport } from '../compiler/index.ts';
import { writeFileAtomic } from '../contract/atomic.ts';
import { adapterValues, type AdapterSource, type SourcedParameters } from './adapter.ts';
import { readManifest } from './artifacts.ts';

export { adapterConfig, encodeAdapter, type AdapterConfig, type ExportSource };

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
  const bytes = encodeAdapter(manifest, values);
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

  const { fold } = bakeAdapter(graph, info, manifest, values, { foldLora: opts.foldLora, file: join(dir, info.file) });

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
