/**
 * The training log (`--log FILE.jsonl`): one JSON object per line. Per step:
 * `{"type":"step","step":12,"loss":0.53,"lr":0.0004,"seconds":0.081}` (plus `grad_norm`, the
 * pre-clip gradient norm, when the spec clips, `bytes`, what crossed between JS and ORT, and eval metrics,
 * `"eval":{...}`, on steps that evaluated). Per structural event (merge, inject):
 * `{"type":"merge","step":300,...details}`. Lines are written synchronously, so a crash loses
 * at most the line being written.
 *
 * Resuming from a checkpoint at step k keeps the log's records up to step k and drops later
 * ones (they belong to the abandoned continuation), so the resumed log reads as one run.
 */
import { appendFileSync, existsSync, statSync, truncateSync } from 'node:fs';
import { fileError } from '../contract/file-errors.ts';
import { UserError } from '../contract/errors.ts';
import { readRegularText } from '../contract/regular-file.ts';
import { headerProblem } from './report/run-record.ts';
import { writeFileAtomic } from '../contract/atomic.ts';
import type { BoundaryBytes } from './boundary-bytes.ts';

export interface StepRecord {
  step: number;
  loss: number;
  lr?: number;
  /** The global gradient L2 norm before clipping (train graphs that clip: `clip` in the spec). */
  grad_norm?: number;
  /** Wall time of the step in seconds. */
  seconds: number;
  /** Evaluation metrics when this step evaluated. */
  eval?: Record<string, number>;
  examples?: number;
  tokens?: number;
  /** Epochs completed before this step's data (0-based epoch of the next batch). */
  epoch?: number;
  /** SFS of every LoR2C module, on steps that evaluated. */
  sfs?: Record<string, number>;
  /** Bytes fed to and read back from ORT by this step's train-graph runs, by kind (boundary-bytes.ts). */
  bytes?: BoundaryBytes;
}

export interface EventRecord {
  type: string;
  step: number;
  [detail: string]: unknown;
}

export class TrainingLog {
  private constructor(readonly path: string) {}

  /** Starts a fresh log (truncating the file). */
  static create(path: string): TrainingLog {
    writeFileAtomic(path, '');
    return new TrainingLog(path);
  }

  /** Continues a log for a run resumed at `step`: records after it are dropped. */
  static resume(path: string, step: number): TrainingLog {
    if (!existsSync(path)) return TrainingLog.create(path);
    const kept = readRegularText(path, 'training log').split('\n').filter((line) => {
      if (line.trim() === '') return false;
      try {
        const rec = JSON.parse(line) as { step?: unknown };
        return typeof rec.step !== 'number' || rec.step <= step;
      } catch {
        return false; // a half-written last line from a crash
      }
    });
    writeFileAtomic(path, kept.map((l) => l + '\n').join(''));
    return new TrainingLog(path);
  }

  step(rec: StepRecord): void {
    this.write({ type: 'step', ...rec });
  }

  event(rec: EventRecord): void {
    this.write(rec);
  }

  private write(obj: object): void {
    // JSON has no NaN/Infinity; a non-finite loss is written as a string so the line stays valid.
    const line = JSON.stringify(obj, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n';
    const before = existsSync(this.path) ? statSync(this.path).size : 0;
    try {
      appendFileSync(this.path, line);
    } catch (e) {
      // A full disk can take part of the line: cut it off again, so the log stays whole lines
      // (a later append would otherwise continue the torn one) and reads back up to here.
      try {
        truncateSync(this.path, before);
      } catch {
        // nothing more to do: the reader ignores a torn last line
      }
      throw fileError(e, this.path, 'append to the training log');
    }
  }
}

/**
 * Reads a training log back (`lor2c report`, tools). A last line cut off by a crash is ignored;
 * any other line that is not a JSON record with a string "type" is refused at FILE:LINE.
 */
export function readTrainingLog(path: string): ({ type: string; step: number } & Record<string, unknown>)[] {
  const lines = readRegularText(path, 'training log').split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const records: ({ type: string; step: number } & Record<string, unknown>)[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch (e) {
      if (i === lines.length - 1) return;
      throw new UserError(`${path}:${i + 1}: not JSON (${(e as Error).message})`, 'give the file written by `lor2c train --log`');
    }
    const hint = 'give the file written by `lor2c train --log`';
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec) || typeof (rec as { type?: unknown }).type !== 'string') {
      throw new UserError(`${path}:${i + 1}: not a training log record (a JSON object with a "type")`, hint);
    }
    const { type, step } = rec as { type: string; step?: unknown };
    if (!(Number.isSafeInteger(step) && (step as number) >= 0)) throw new UserError(`${path}:${i + 1}: a '${type}' record's "step" must be a non-negative integer, got ${JSON.stringify(step)}`, hint);
    const wrong = type === 'header' ? headerProblem(rec as Record<string, unknown>) : undefined;
    if (wrong) throw new UserError(`${path}:${i + 1}: the header record is damaged: ${wrong}`, hint);
    records.push(rec as { type: string; step: number } & Record<string, unknown>);
  });
  return records;
}
