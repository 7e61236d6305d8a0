/**
 * Checkpoints: a directory holding the trainable parameters (params.safetensors), the
 * optimizer state (optimizer.safetensors) and state.json (step, data position, RNG seed and
 * state, the current plan with any Merge/Inject changes, the artifacts the parameters belong
 * to, metrics, the best result so far).
 *
 *     CKPT/latest             "step-00000120"   (the newest complete checkpoint)
 *     CKPT/best               "step-00000100"   (the best evaluated one, when evaluation runs)
 *     CKPT/step-00000120/     params.safetensors, optimizer.safetensors, state.json
 *
 * Crash safety: a checkpoint is written into a temporary directory in CKPT, every file and the
 * directory are fsynced, the directory is renamed to its final name, and only then is `latest`
 * replaced (atomically, by rename). The previous checkpoint is deleted after that. A crash at
 * any moment leaves `latest` naming a complete checkpoint; leftovers of an interrupted write
 * are temporary directories that the next write removes.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isUserError, UserError } from '../contract/errors.ts';
import { fileError } from '../contract/file-errors.ts';
import { fsyncPath, makeFolder, writeDurable, writeFileAtomic } from '../contract/atomic.ts';
import { processAlive } from '../contract/processes.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { checkpointFiles, decodeCheckpoint, OPTIMIZER_FILE, PARAMS_FILE, STATE_FILE } from './checkpoint-files.ts';
import type { DataPosition } from './data/batches.ts';
import type { RngState } from './data/prng.ts';

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export interface BestResult {
  step: number;
  /** The metric that decides "best" and its value there. */
  metric: string;
  value: number;
  /** All metrics of that evaluation. */
  metrics: Record<string, number>;
  /** The checkpoint directory name holding it (when one was written). */
  checkpoint?: string;
}

export interface CheckpointInfo {
  /** Optimizer updates done. */
  step: number;
  /** Where the next batch comes from. */
  data: DataPosition;
  rng: { seed: number; state?: RngState };
  /** The current plan (dsl Plan JSON), structure changes included. */
  plan: unknown;
  /** The artifacts directory these parameters belong to (it changes after a recompile). */
  artifacts: string;
  /** The base model the parameters were trained on (its sha256), checked on every read against the artifacts. */
  base?: { sha256: string };
  /** sha256 of those artifacts' manifest.json: a checkpoint is refused by artifacts compiled again since. */
  manifestSha256?: string;
  /** Metrics of an evaluation at this step, when there was one. */
  metrics?: Record<string, number>;
  best?: BestResult;
  /** Anything else the trainer wants back on resume (settings used, structural events so far). */
  extra?: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointInfo {
  parameters: Map<string, Float32Tensor>;
  /** Optimizer state tensors, keyed by the trainer (e.g. '<param>:<slot>'). */
  optimizer: Map<string, Float32Tensor>;
}

export { OPTIMIZER_FILE, PARAMS_FILE, STATE_FILE };
const TMP_PREFIX = '.tmp-';

/** Points in a write where a test (or a crash) can interrupt it. */
export type CheckpointStage = 'files-written' | 'renamed' | 'latest-written';

export interface WriteCheckpointOptions {
  /** Also point `best` at this checkpoint. */
  best?: boolean;
  /** Called at each stage; throwing aborts the write (the previous checkpoint stays). */
  onStage?: (stage: CheckpointStage) => void;
}

/** Names this module writes: checkpoint directories and the temporary ones they are staged in. */
const CHECKPOINT_NAME = /^step-\d{8,}(-\d+)?$/;
const TMP_NAME = /^\.tmp-step-\d+-(\d+)$/;

/** A checkpoint directory lor2c wrote (its state.json says so): the only kind cleanup removes. */
function isCheckpointDir(path: string): boolean {
  try {
    return (JSON.parse(readRegularFile(join(path, STATE_FILE), 'checkpoint state').toString('utf8')) as { format?: unknown })?.format === 'lor2c-checkpoint';
  } catch {
    return false;
  }
}

/** Staging directories of writes that were killed (their process is gone). */
function removeStaleStaging(root: string): void {
  for (const name of readdirSync(root)) {
    const m = TMP_NAME.exec(name);
    if (m && (Number(m[1]) === process.pid || !processAlive(Number(m[1])))) rmSync(join(root, name), { recursive: true, force: true });
  }
}

function pointer(root: string, name: 'latest' | 'best'): string | undefined {
  const path = join(root, name);
  return existsSync(path) ? readRegularFile(path, 'checkpoint pointer').toString('utf8').trim() : undefined;
}

/**
 * Writes a checkpoint into `root` atomically and returns its directory. Older checkpoints other
 * than the one `best` names are removed once the new one is complete.
 */
export function writeCheckpoint(root: string, ckpt: Checkpoint, opts: WriteCheckpointOptions = {}): string {
  try {
    return writeCheckpointIn(root, ckpt, opts);
  } catch (e) {
    const problem = fileError(e, root);
    if (!isUserError(problem)) throw e;
    const kept = pointer(root, 'latest');
    throw new UserError(`could not write the checkpoint of step ${ckpt.step}: ${problem.message}; ${kept ? `the previous checkpoint ${join(root, kept)} is kept` : 'no earlier checkpoint exists'}`, problem.hint);
  }
}

function writeCheckpointIn(root: string, ckpt: Checkpoint, opts: WriteCheckpointOptions): string {
  makeFolder(root, 'the checkpoint folder');
  removeStaleStaging(root);
  const tmp = join(root, `${TMP_PREFIX}step-${ckpt.step}-${process.pid}`);
  mkdirSync(tmp);
  let finalName: string | undefined;
  try {
    finalName = freeName(root, `step-${String(ckpt.step).padStart(8, '0')}`);
    for (const file of checkpointFiles(ckpt, finalName, opts.best ?? false)) writeDurable(join(tmp, file.name), file.bytes);
    fsyncPath(tmp);
    opts.onStage?.('files-written');
    if (existsSync(join(root, finalName))) rmSync(join(root, finalName), { recursive: true, force: true }); // freeName: an unnamed checkpoint of ours
    renameSync(tmp, join(root, finalName));
    fsyncPath(root);
    opts.onStage?.('renamed');
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const previousBest = pointer(root, 'best');
  if (opts.best) writeFileAtomic(join(root, 'best'), finalName + '\n');
  writeFileAtomic(join(root, 'latest'), finalName + '\n');
  fsyncPath(root);
  opts.onStage?.('latest-written');
  const keep = new Set([finalName, opts.best ? finalName : previousBest]);
  for (const name of readdirSync(root)) {
    if (CHECKPOINT_NAME.test(name) && !keep.has(name) && isCheckpointDir(join(root, name))) rmSync(join(root, name), { recursive: true, force: true });
  }
  fsyncPath(root);
  return join(root, finalName);
}

/**
 * A directory name for a new checkpoint that clobbers neither one a pointer still names nor
 * anything that is not a checkpoint of ours.
 */
function freeName(root: string, base: string): string {
  const taken = new Set([pointer(root, 'latest'), pointer(root, 'best')]);
  let name = base;
  for (let k = 1; taken.has(name) || (existsSync(join(root, name)) && !isCheckpointDir(join(root, name))); k++) name = `${base}-${k}`;
  return name;
}

/**
 * Resolves a checkpoint path: a checkpoint root (follows `latest`, or `best` with which='best')
 * or one checkpoint directory.
 */
export function resolveCheckpoint(path: string, which: 'latest' | 'best' = 'latest'): string {
  if (!existsSync(path)) throw new UserError(`checkpoint not found: ${path}`);
  if (existsSync(join(path, STATE_FILE))) return path;
  const name = pointer(path, which);
  if (name === undefined) throw new UserError(`${path} is neither a checkpoint nor a checkpoint folder with a '${which}' file`);
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new UserError(`${join(path, which)} names '${name}', which is not a checkpoint directory name`);
  return join(path, name);
}

/** Reads and validates a checkpoint (see resolveCheckpoint for `path`). */
export function readCheckpoint(path: string, which: 'latest' | 'best' = 'latest'): Checkpoint & { dir: string } {
  const dir = resolveCheckpoint(path, which);
  if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: not a valid lor2c checkpoint: not a directory`);
  return { ...decodeCheckpoint(dir, (file) => readRegularFile(join(dir, file), 'checkpoint file')), dir };
}
