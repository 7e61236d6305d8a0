/**
 * The trainer's host for a page (or any place without a file system): artifacts and data are
 * files held in memory by name ('<artifacts>/<file>'), graphs open on the given Engine
 * (onnxruntime-web in a browser) from bytes with the frozen weights handed over as external
 * data, checkpoints are kept as files to download, the log is a list.
 *
 * What needs the compiler is refused with the reason: a plan that schedules MergeLoR2C or
 * InjectLoR2C recompiles the graphs mid-run, and the compiler reads and writes files, so such
 * artifacts train with `lor2c train` (Node). Plain LoR2C, ShareLoR2C, static merges and LoRA
 * train here.
 */
import { UserError } from '../contract/errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { decodeParameters, parseManifest } from './artifacts-parse.ts';
import type { Checkpoint, Float32Tensor } from './checkpoint.ts';
import { checkpointFiles, type NamedFile } from './checkpoint-files.ts';
import { Dataset, type DatasetOptions } from './data/dataset.ts';
import type { DataSchema } from './data/schema.ts';
import { BytesLines } from './data/lines.ts';
import { scheduledChanges } from './scheduled-changes.ts';
import type { Engine, EngineSession } from './engine/engine.ts';
import type { EventRecord, StepRecord } from './log.ts';
import type { TrainerHost, TrainingSink } from './trainer-host.ts';

/** A checkpoint kept in memory: its directory name and files. */
export interface StoredCheckpoint {
  name: string;
  step: number;
  files: NamedFile[];
}

/** Why these artifacts cannot train without the compiler, or undefined when they can. */
export function needsCompiler(manifest: Manifest): string | undefined {
  const what = scheduledChanges(manifest.plan);
  if (what.length === 0) return undefined;
  return `these artifacts schedule ${what.join(' and ')} during training, which recompile the graphs; the compiler does not run in a browser, so train them with \`lor2c train\` in Node (plain LoR2C, ShareLoR2C, static merges and LoRA train here)`;
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
    const manifest = parseManifest(new TextDecoder().decode(this.file(where)), where);
    const why = needsCompiler(manifest);
    if (why) throw new UserError(`${artifacts}: ${why}`);
    return manifest;
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

  readCheckpoint(where: string): Checkpoint {
    throw new UserError(`cannot resume from ${where} here: resuming reads a checkpoint folder, which \`lor2c train --resume\` does in Node`);
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
}
