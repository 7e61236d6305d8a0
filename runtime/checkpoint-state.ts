/**
 * Validating a checkpoint's state.json as read back from disk: every field the trainer uses is
 * checked for its type and range before a resume, so a damaged or hand-edited file is refused
 * with the file and the field named, never trusted (a position past the data, a metric that is
 * a string, a seed that is not an integer). Pure: no Node modules.
 */
import { UserError } from '../contract/errors.ts';
import { previewValue } from './preview.ts';
import type { StateFile } from './checkpoint-files.ts';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** Metrics are numbers; a non-finite one was written as null (JSON has no NaN). */
const isMetric = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));
const isUint32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** Checks parsed state.json text at `where`; returns it typed, or throws a UserError naming the field. */
export function validateState(raw: unknown, where: string): StateFile {
  const bad = (field: string, value: unknown, expected: string): never => {
    throw new UserError(`${where}: '${field}' is ${previewValue(value)}, expected ${expected}`, 'the checkpoint was damaged or edited by hand: resume from another checkpoint (or start again)');
  };
  if (!isObject(raw) || raw.format !== 'lor2c-checkpoint') throw new UserError(`${where} is not a lor2c checkpoint state`);
  if (raw.formatVersion !== 1) throw new UserError(`${where}: format version ${previewValue(raw.formatVersion)} is not supported (this lor2c reads version 1)`);
  if (!isCount(raw.step)) bad('step', raw.step, 'a non-negative integer');
  if (!isObject(raw.data)) bad('data', raw.data, 'an object { epoch, batch }');
  const data = raw.data as Record<string, unknown>;
  if (!isCount(data.epoch)) bad('data.epoch', data.epoch, 'a non-negative integer');
  if (!isCount(data.batch)) bad('data.batch', data.batch, 'a non-negative integer');
  if (!isObject(raw.rng)) bad('rng', raw.rng, 'an object { seed }');
  const rng = raw.rng as Record<string, unknown>;
  if (!Number.isSafeInteger(rng.seed)) bad('rng.seed', rng.seed, 'an integer');
  if (rng.state !== undefined && !(Array.isArray(rng.state) && rng.state.length === 4 && rng.state.every(isUint32))) bad('rng.state', rng.state, 'four unsigned 32-bit integers');
  if (typeof raw.artifacts !== 'string' || raw.artifacts === '') bad('artifacts', raw.artifacts, 'the artifacts folder (a string)');
  if (raw.metrics !== undefined) {
    if (!isObject(raw.metrics)) bad('metrics', raw.metrics, 'an object of numbers');
    for (const [k, v] of Object.entries(raw.metrics as Record<string, unknown>)) if (!isMetric(v)) bad(`metrics.${k}`, v, 'a number');
  }
  if (raw.best !== undefined) {
    const best = raw.best;
    if (!isObject(best)) return bad('best', best, 'an object { step, metric, value, metrics }');
    if (!isCount(best.step) || best.step > (raw.step as number)) bad('best.step', best.step, `a step no later than the checkpoint's (${raw.step as number})`);
    if (typeof best.metric !== 'string') bad('best.metric', best.metric, 'a metric name');
    if (typeof best.value !== 'number' || !Number.isFinite(best.value)) bad('best.value', best.value, 'a finite number');
    if (!isObject(best.metrics)) bad('best.metrics', best.metrics, 'an object of numbers');
    for (const [k, v] of Object.entries(best.metrics as Record<string, unknown>)) if (!isMetric(v)) bad(`best.metrics.${k}`, v, 'a number');
    if (best.checkpoint !== undefined && (typeof best.checkpoint !== 'string' || /[/\\]|^\./.test(best.checkpoint))) bad('best.checkpoint', best.checkpoint, 'a checkpoint directory name');
  }
  if (raw.extra !== undefined && !isObject(raw.extra)) bad('extra', raw.extra, 'an object');
  return raw as unknown as StateFile;
}
