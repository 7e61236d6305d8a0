/**
 * What the trainer needs from the world around it: artifacts, data, checkpoints, a log, and
 * the event loop. Node's host (node-host.ts) reads and writes files; a page's host
 * (examples/browser) holds the files it was given in memory and offers checkpoints as
 * downloads. The trainer itself (trainer.ts) is the same code in both.
 */
import type { Manifest } from '../contract/manifest.ts';
import type { Checkpoint, Float32Tensor } from './checkpoint.ts';
import type { Examples, OpenExamplesOptions } from './data/examples-contract.ts';
import type { DataSchema } from './data/schema.ts';
import type { EngineSession } from './engine/engine.ts';
import type { EventRecord, StepRecord } from './log.ts';
import type { SessionSettings } from './session.ts';
import type { Plan } from '../dsl/index.ts';
import type { StructuralHook } from './trainer.ts';

export interface TrainingSink {
  step(rec: StepRecord): void;
  event(rec: EventRecord): void;
}

export interface TrainerHost {
  /** The canonical name of an artifacts location (Node: an absolute path). */
  artifactsLocation(where: string): string;
  /** Whether `where` holds artifacts (a manifest). */
  hasArtifacts(where: string): boolean;
  readManifest(artifacts: string): Manifest;
  /** Opens one of the artifacts' graphs (`file` as the manifest names it). */
  openGraph(artifacts: string, file: string, settings: SessionSettings | undefined): Promise<EngineSession>;
  /**
   * Initial parameter values: the file `init` when given, else the artifacts' own adapter
   * file (the manifest's `adapter`); checked against the manifest.
   */
  readParameters(manifest: Manifest, artifacts: string, init: string | undefined): Map<string, Float32Tensor>;
  /** Token-id rows, or raw text when the host can tokenize (`opts.text`). */
  openDataset(where: string, schema: DataSchema, opts: OpenExamplesOptions): Examples | Promise<Examples>;
  readCheckpoint(where: string): Checkpoint;
  /** Stores a checkpoint under `root`; returns where it went. */
  writeCheckpoint(root: string, ckpt: Checkpoint, best: boolean): string;
  /**
   * Claims the checkpoint folder for this run (created, found writable, locked against a second
   * run) before any work is done; the claim is released by calling the returned function.
   */
  claimCheckpointFolder?(root: string): () => void;
  /** A training log at `where`, fresh or continuing a run resumed at `resumedAt`. */
  openLog(where: string, resumedAt: number | undefined): TrainingSink;
  /** Lets other work run between steps (signal handlers, a page's rendering). */
  pause(): Promise<void>;
  /** Calls `handler` on an interrupt (Ctrl-C) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once (a second interrupt). */
  exitNow(): void;
  /** A line for the user when no progress display is shown. */
  notice(line: string): void;
  /**
   * The artifacts a resumed checkpoint's parameters belong to, given the artifacts named:
   * those, or their recompile after a Merge/Inject (runtime/checkpoint-artifacts.ts); refused
   * for another base model or artifacts compiled again since. `where` names the checkpoint.
   * Without it (or when it returns undefined), a checkpoint resumes only with the artifacts
   * named, trained on their base model.
   */
  checkpointArtifacts?(artifacts: string, ckpt: Checkpoint, where: string): { dir: string; manifest: Manifest } | undefined;
  /** Which compile an artifacts location holds (sha256 of its manifest), recorded in checkpoints. */
  manifestDigest?(artifacts: string): string;
  /** The spec's Merge/Inject schedule as a structural hook; hosts that cannot recompile leave it out. */
  planSchedule?(about: { plan: Plan; manifest: Manifest; root: string; totalSteps: number; stepsPerEpoch: number }): StructuralHook | undefined;
}
