/**
 * The trainer's host for a page (or any place without a file system): artifacts and data are
 * files held in memory by name ('<artifacts>/<file>'), graphs open on the given Engine
 * (onnxruntime-web in a browser) from bytes with the frozen weights handed over as external
 * data, checkpoints are kept as files to download, the log is a list.
 *
 * A plan that schedules MergeLoR2C or InjectLoR2C recompiles the graphs mid-run from the base
 * model: given its bytes (checked against the manifest's sha256), the compiler's recompile
 * path (compiler/portable.ts, no Node modules) runs here and the recompiled artifacts are
 * kept as files under '<artifacts>/structure/step-N', as `lor2c train` writes them.
 */
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { decodeParameters, parseManifest } from './artifacts-parse.ts';
import type { Checkpoint, Float32Tensor } from './checkpoint.ts';
import { checkpointFiles, decodeCheckpoint, type NamedFile } from './checkpoint-files.ts';
import { Dataset, type DatasetOptions } from './data/dataset.ts';
import type { DataSchema } from './data/schema.ts';
import { BytesLines } from './data/lines.ts';
import { scheduledChanges } from './scheduled-changes.ts';
import type { Engine, EngineSession } from './engine/engine.ts';
import type { EventRecord, StepRecord } from './log.ts';
import type { TrainerHost, TrainingSink } from './trainer-host.ts';
import { dynamicAdapters, structureFolder } from './dynamic.ts';
import { artifactFiles, decodeModel, memoryData, prepareModel } from '../compiler/portable.ts';
import type { StructuralHook } from './trainer.ts';
import type { Plan } from '../contract/plan.ts';

/** A checkpoint kept in memory: its directory name and files. */
export interface StoredCheckpoint {
  name: string;
  step: number;
  files: NamedFile[];
}

/** The base model the artifacts were compiled from, for recompiles at Merge / Inject. */
export interface BaseModelBytes {
  /** Its file name (messages). */
  name: string;
  bytes: Uint8Array;
  /** sha256 of `bytes` (hex), computed by the caller (a page: crypto.subtle). */
  sha256: string;
  /** Its external data files, by the locations the model names. */
  externalData?: ReadonlyMap<string, Uint8Array>;
}

/** Why these artifacts need their base model to train, or undefined when they do not. */
export function needsBaseModel(manifest: Manifest): string | undefined {
  const what = scheduledChanges(manifest.plan);
  if (what.length === 0) return undefined;
  return `these artifacts schedule ${what.join(' and ')} during training, which recompile the graphs from the base model they were compiled from (${manifest.base.path.split(/[\\/]/).pop()}, sha256 ${manifest.base.sha256.slice(0, 12)}...)`;
}

export class MemoryHost implements TrainerHost {
  /** Checkpoints written, by root: the latest, and the best when one was marked. */
  readonly checkpoints = new Map<string, { latest?: StoredCheckpoint; best?: StoredCheckpoint }>();
  /** Log records, by log name. */
  readonly logs = new Map<string, (StepRecord | EventRecord)[]>();

  constructor(
    /** Files by name ('artifacts/manifest.json', 'train.jsonl', ...). */
    readonly files: Map<string, Uint8Array>,
    private readonly engine: Engine,
    private readonly say: (line: string) => void = () => {},
    /** For artifacts that schedule Merge / Inject. */
    private readonly base?: BaseModelBytes,
  ) {}

  private file(name: string): Uint8Array {
    const bytes = this.files.get(name);
    if (!bytes) throw new UserError(`${name} was not given`, 'load every file of the artifacts folder (manifest.json, the .onnx graphs, the weights and adapter files)');
    return bytes;
  }

  artifactsLocation(where: string): string {
    return where.replace(/\/+$/, '');
  }

  hasArtifacts(where: string): boolean {
    return this.files.has(`${where}/manifest.json`);
  }

  readManifest(artifacts: string): Manifest {
    const where = `${artifacts}/manifest.json`;
    return parseManifest(new TextDecoder().decode(this.file(where)), where);
  }

  async openGraph(artifacts: string, file: string): Promise<EngineSession> {
    const manifest = this.readManifest(artifacts);
    const externalData = this.files.has(`${artifacts}/${manifest.weights}`) ? [{ path: manifest.weights, data: this.file(`${artifacts}/${manifest.weights}`) }] : [];
    return this.engine.open({ kind: 'bytes', name: `${artifacts}/${file}`, bytes: this.file(`${artifacts}/${file}`), externalData });
  }

  readParameters(manifest: Manifest, artifacts: string, init: string | undefined): Map<string, Float32Tensor> {
    const name = init ?? `${artifacts}/${manifest.adapter}`;
    return decodeParameters(manifest, this.file(name), name);
  }

  openDataset(where: string, schema: DataSchema, opts: DatasetOptions): Dataset {
    return Dataset.read(new BytesLines(where, this.file(where)), schema, opts);
  }

  /** The checkpoint whose files are held as '<where>/params.safetensors', '<where>/optimizer.safetensors', '<where>/state.json'. */
  readCheckpoint(where: string): Checkpoint {
    return decodeCheckpoint(where, (file) => this.file(`${where}/${file}`));
  }

  /**
   * A checkpoint written after a Merge / Inject belongs to that recompile: followed when this
   * host holds it (recompiled in this page), refused otherwise; any other checkpoint resumes
   * with the artifacts named (the trainer checks the base model and the parameter names).
   */
  checkpointArtifacts(artifacts: string, ckpt: Checkpoint, where: string): { dir: string; manifest: Manifest } | undefined {
    const recompile = /(^|\/)structure\/step-\d+\/?$/.exec(ckpt.artifacts);
    if (!recompile) return undefined;
    const held = `${artifacts}/${ckpt.artifacts.slice(recompile.index).replace(/^\/|\/$/g, '')}`;
    if (!this.hasArtifacts(held)) {
      throw new UserError(`checkpoint ${where} was written after a Merge / Inject, for the recompiled artifacts ${ckpt.artifacts}, which this page does not hold`, 'resume it with `lor2c train DIR --resume CKPT` in Node, where DIR/structure/step-N is, or resume a checkpoint from before the first change');
    }
    return { dir: held, manifest: this.readManifest(held) };
  }

  writeCheckpoint(root: string, ckpt: Checkpoint, best: boolean): string {
    const name = `step-${String(ckpt.step).padStart(8, '0')}`;
    const stored: StoredCheckpoint = { name, step: ckpt.step, files: checkpointFiles(ckpt, name, best) };
    const slot = this.checkpoints.get(root) ?? {};
    slot.latest = stored;
    if (best) slot.best = stored;
    this.checkpoints.set(root, slot);
    return `${root}/${name}`;
  }

  openLog(where: string): TrainingSink {
    const records: (StepRecord | EventRecord)[] = [];
    this.logs.set(where, records);
    return { step: (rec) => records.push(rec), event: (rec) => records.push(rec) };
  }

  /** A macrotask, so the page paints between steps. */
  pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, 0));
  }

  onInterrupt(): () => void {
    return () => {};
  }

  exitNow(): void {}

  notice(line: string): void {
    this.say(line);
  }

  /** The plan's Merge / Inject, recompiled from the base model given; refused without it or with another one. */
  planSchedule({ plan, manifest, root, totalSteps, stepsPerEpoch }: { plan: Plan; manifest: Manifest; root: string; totalSteps: number; stepsPerEpoch: number }): StructuralHook | undefined {
    const base = this.base;
    const why = needsBaseModel(manifest);
    if (!base) throw new UserError(`${root}: ${why}`, 'load that base model (.onnx, and its data files if it has any) with the artifacts');
    if (base.sha256 !== manifest.base.sha256) {
      throw new UserError(`${base.name} is not the base model ${root} was compiled from: its sha256 is ${base.sha256.slice(0, 12)}..., the artifacts' ${manifest.base.sha256.slice(0, 12)}...`, `load ${manifest.base.path.split(/[\\/]/).pop()}, the model given to lor2c compile`);
    }
    const prepare = () => prepareModel(plan, decodeModel(base.bytes, { label: base.name, external: memoryData(base.externalData ?? new Map()) }), { path: manifest.base.path, sha256: base.sha256 });
    const store = (step: number, contents: Parameters<typeof artifactFiles>[0]) => {
      const dir = `${root}/${structureFolder(step)}`;
      for (const f of artifactFiles(contents)) this.files.set(`${dir}/${f.name}`, f.bytes);
      return dir;
    };
    return dynamicAdapters({ prepare, plan, totalSteps, stepsPerEpoch, artifacts: root, store });
  }
}
