/**
 * What the training log records for `lor2c report` beyond the loss: a header with the run's
 * settings and parameter table (first line of a fresh log), and the SFS of every LoR2C module
 * at each evaluation (the structural events carry their own SFS).
 */
import type { Manifest } from '../../contract/manifest.ts';
// The node-free adapter files, not the adapters index: the trainer imports this file and the page
// bundle must not reach the DSL's file handling.
import { moduleParameterNames, sfs } from '../../compiler/portable.ts';
import type { Float32Tensor } from '../checkpoint.ts';

export interface HeaderRecord {
  type: 'header';
  step: 0;
  lor2c: string;
  artifacts: string;
  data: string;
  evalData?: string;
  task: Manifest['task'];
  optimizer: Manifest['optimizer'];
  settings: { steps: number; stepsPerEpoch: number; batch: number; accumulate: number; seed: number; evalEvery?: number };
  parameters: { name: string; shape: number[]; role: string; module: string; count: number; lrScale: number }[];
  trainable: number;
  started: string;
}

export function headerRecord(manifest: Manifest, run: { artifacts: string; data: string; evalData?: string; settings: HeaderRecord['settings'] }): HeaderRecord {
  const parameters = manifest.parameters.map((p) => ({ name: p.name, shape: p.shape, role: p.role, module: p.module, count: p.shape.reduce((a, b) => a * b, 1), lrScale: p.lrScale }));
  return {
    type: 'header',
    step: 0,
    lor2c: manifest.versions.lor2c,
    artifacts: run.artifacts,
    data: run.data,
    ...(run.evalData ? { evalData: run.evalData } : {}),
    task: manifest.task,
    optimizer: manifest.optimizer,
    settings: run.settings,
    parameters,
    trainable: parameters.reduce((s, p) => s + p.count, 0),
    started: new Date().toISOString(),
  };
}

/**
 * What is wrong with a log's header record (read back from a file anyone may have edited), or
 * undefined when every field `lor2c report` shows has its type.
 */
export function headerProblem(rec: Record<string, unknown>): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const strings = ['lor2c', 'artifacts', 'data', 'started'].filter((k) => typeof rec[k] !== 'string');
  if (rec.evalData !== undefined && typeof rec.evalData !== 'string') strings.push('evalData');
  if (strings.length > 0) return `"${strings[0]}" must be a string`;
  const task = rec.task;
  if (!isObject(task) || !['kind', 'logits', 'labelKey'].every((k) => typeof task[k] === 'string')) return '"task" must be { kind, logits, labelKey } (strings)';
  const optimizer = rec.optimizer;
  if (!isObject(optimizer) || typeof optimizer.kind !== 'string' || !isObject(optimizer.settings)) return '"optimizer" must be { kind, settings }';
  const settings = rec.settings;
  if (!isObject(settings) || !['steps', 'stepsPerEpoch', 'batch', 'accumulate', 'seed'].every((k) => isNumber(settings[k]))) return '"settings" must hold the numbers steps, stepsPerEpoch, batch, accumulate and seed';
  if (!Array.isArray(rec.parameters)) return '"parameters" must be a list';
  for (const [i, p] of rec.parameters.entries()) {
    const ok = isObject(p) && ['name', 'role', 'module'].every((k) => typeof p[k] === 'string') && Array.isArray(p.shape) && p.shape.every(isNumber) && isNumber(p.count) && isNumber(p.lrScale);
    if (!ok) return `parameter ${i + 1} must be { name, role, module, shape, count, lrScale }`;
  }
  if (!isNumber(rec.trainable)) return '"trainable" must be a number';
  return undefined;
}

/** SFS (mean singular value of B A over d) of every LoR2C module now; undefined without modules. */
export function moduleSfs(manifest: Manifest, params: ReadonlyMap<string, Float32Tensor>): Record<string, number> | undefined {
  const structure = manifest.structure;
  if (!structure?.modules?.length) return undefined;
  const values = new Map<string, { A: Float32Array; B: Float32Array }>();
  for (const [id, names] of moduleParameterNames(structure)) {
    const A = params.get(names.A)?.data, B = params.get(names.B)?.data;
    if (!A || !B) throw new Error(`internal error: no parameters ${names.A} / ${names.B} for module ${id}`);
    values.set(id, { A, B });
  }
  const d = manifest.blocks.hidden;
  return Object.fromEntries(structure.modules.map((m) => [m.id, sfs(values.get(m.id)!.A, values.get(m.id)!.B, m.rank, d, { kind: 'mean' })]));
}
