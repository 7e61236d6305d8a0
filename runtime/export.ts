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
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isUserError, UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { adapterConfig, encodeAdapter, type AdapterConfig, type ExportSource } from './adapter-config.ts';
import { modelFromProto, modelToProto, create, StringStringEntryProtoSchema, readModel, ExternalDataFile, encodeModel, bakeAdapter, type FoldReport } from '../compiler/index.ts';
import { writeFileAtomic } from '../contract/atomic.ts';
import { readSafetensors } from '../contract/safetensors-file.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { MERGED_METADATA, mergedDataName, previousMergedData, refuseArtifactFiles, removeKilledWrites, removeObsoleteData } from './export-target.ts';
import { adapterValues, type AdapterSource } from './adapter.ts';
import { PEFT_CONFIG_SHA } from './peft-layout.ts';
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
 * Warnings about an adapter file given to `--adapter` / `--init`, from what was written with
 * it (names and shapes can match while the values make no sense):
 * - it was trained on another base model (a different sha256) than these artifacts were
 *   compiled from: two checkpoints of one architecture have the same names and shapes;
 * - the config beside it is not the one exported with it (a PEFT export stopped between its
 *   two renames, or one of the two files replaced): the weights name their config's sha256.
 * Empty when nothing is wrong or nothing tells.
 */
export function adapterWarnings(manifest: Manifest, adapterFile: string): string[] {
  const path = adapterConfigPath(adapterFile);
  if (!existsSync(path)) return [];
  let configBytes: Buffer;
  let parsed: unknown;
  try {
    configBytes = readRegularFile(path, 'adapter config');
    parsed = JSON.parse(configBytes.toString('utf8'));
  } catch (e) {
    return [`${isUserError(e) ? e.message : `${path} is not valid JSON`}; cannot tell which base model ${basename(adapterFile)} was trained on`];
  }
  // Anyone may have written the file (another tool's adapter_config.json): only fields of the right type are read.
  const config = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const weightsSha = text((config.weights as { sha256?: unknown } | null | undefined)?.sha256);
  const baseName = text(config.base_model_name_or_path);
  const metadata = () => {
    try {
      return existsSync(adapterFile) ? readSafetensors(adapterFile).metadata : {};
    } catch {
      return {};
    }
  };
  const warnings: string[] = [];
  // A config whose weights hash is not this file's describes other values (an export killed
  // between its two renames, or a file replaced by hand): the values file's own metadata tells.
  let theirs = text(config.base_model_sha256);
  if (weightsSha && existsSync(adapterFile) && createHash('sha256').update(readRegularFile(adapterFile, 'safetensors file')).digest('hex') !== weightsSha) {
    theirs = text(metadata().base_sha256);
  } else if (!weightsSha) {
    // No lor2c config (a PEFT adapter_config.json): what lor2c knows is in the weights' metadata.
    const own = metadata();
    theirs ??= text(own.base_sha256);
    const pairedSha = text(own[PEFT_CONFIG_SHA]);
    if (pairedSha && createHash('sha256').update(configBytes).digest('hex') !== pairedSha) {
      warnings.push(`${path} is not the config exported with ${basename(adapterFile)} (an export stopped between writing the two, or one was replaced); its r / lora_alpha are what lor2c checks the weights against`);
    }
  }
  if (theirs && manifest.base.sha256 && theirs !== manifest.base.sha256) {
    warnings.unshift(`${basename(adapterFile)} was trained on base model ${baseName ?? '?'} (sha256 ${theirs.slice(0, 12)}...), but these artifacts were compiled from ${manifest.base.path} (sha256 ${manifest.base.sha256.slice(0, 12)}...)`);
  }
  return warnings;
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
  const values = adapterValues(manifest, params, typeof params === 'string' ? params : 'adapter values', dir);
  if (!outFile.endsWith('.safetensors')) throw new UserError(`adapter file '${outFile}' must end in .safetensors`);
  const bytes = encodeAdapter(manifest, values);
  const config = adapterConfig(manifest, {
    file: basename(outFile),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source: opts.source ?? (typeof params === 'string' ? { kind: 'adapter', path: params } : { kind: 'values' }),
  });
  const configFile = adapterConfigPath(outFile);
  refuseArtifactFiles(dir, manifest, outFile, 'the adapter');
  refuseArtifactFiles(dir, manifest, configFile, 'the adapter config');
  makeFolderFor(outFile);
  // Values first, then the config that names their sha256: between the two renames the old
  // config does not match the new file, which adapterWarnings detects (and it then reads the
  // base hash the values file carries itself).
  writeFileAtomic(outFile, bytes);
  writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`);
  removeKilledWrites(outFile);
  removeKilledWrites(configFile);
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
 * Writes infer.onnx with the adapter inside as one standalone model. Its data file is named for
 * this export (`<file>.<id>.data`, export-target.ts); the .onnx is renamed into place last, and
 * only then is the data file of the export it replaced removed.
 */
export function exportMerged(dir: string, params: AdapterSource, outFile: string, opts: ExportMergedOptions = {}): MergedExport {
  const manifest = readManifest(dir);
  const values = adapterValues(manifest, params, typeof params === 'string' ? params : 'adapter values', dir);
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
  refuseArtifactFiles(dir, manifest, outFile, 'the merged model');

  makeFolderFor(outFile);
  const previousData = previousMergedData(outFile);
  const dataName = mergedDataName(outFile);
  const dataPath = join(dirname(outFile), dataName);
  const external = new ExternalDataFile(dataPath);
  let bytes: Uint8Array;
  let usesData: boolean;
  try {
    // The data file's name goes into the metadata before encoding, for the next export to find.
    const withData = (data: string | undefined) => {
      proto.metadataProps = [
        ...proto.metadataProps.filter((e) => e.key !== MERGED_METADATA),
        create(StringStringEntryProtoSchema, { key: MERGED_METADATA, value: JSON.stringify({ ...about, ...(data ? { data } : {}) }) }),
      ];
    };
    withData(dataName);
    bytes = encodeModel(proto, { external, threshold: opts.externalThreshold ?? 1024 });
    usesData = external.used; // read before commit, which closes the file
    if (!usesData) {
      withData(undefined);
      bytes = encodeModel(proto, { threshold: Infinity });
    }
    external.commit();
  } catch (e) {
    external.abort();
    throw e;
  }
  writeFileAtomic(outFile, bytes); // the commit point: the new model names the new data file
  removeObsoleteData(outFile, previousData, usesData ? dataName : undefined);
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
