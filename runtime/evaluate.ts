/**
 * Evaluation with the eval graph: runs every example of a dataset in file order, averages the
 * loss (weighted by examples, or by tokens for LM), and computes the task's metrics from the
 * model outputs:
 *   classify: loss, accuracy, f1 (of the task's `positive` class when it names one; else of
 *             class id 1 with two classes, macro over classes otherwise), mcc
 *   regress:  loss, pearson, spearman
 *   lm:       loss, perplexity
 */
import { tensor, type EngineSession, type TensorValue } from './engine/engine.ts';
import type { GraphInfo, Manifest } from '../contract/manifest.ts';
import { BatchPlan } from './data/batches.ts';
import { collate } from './data/collate.ts';
import type { Examples } from './data/examples-contract.ts';
import type { Float32Tensor } from './checkpoint.ts';
import type { LabelMap } from './data/labels.ts';
import { UserError } from '../contract/errors.ts';
import { accuracy, argmaxRows, f1Binary, f1Macro, matthewsCorrelation, pearson, perplexity, spearman } from './metrics.ts';

export type Metrics = Record<string, number>;

/** The metric that decides the best checkpoint by default, and whether higher is better. */
export function defaultBestMetric(task: Manifest['task']): string {
  return task.kind === 'classify' ? 'accuracy' : task.kind === 'regress' ? 'pearson' : 'loss';
}

/**
 * The class id F1 is computed for: the task's `positive` (a label name resolved through the
 * label map, or a class id), or undefined when the task names none (class id 1 with two
 * classes, macro F1 otherwise). `classes`: the logits' class count, when known.
 */
export function positiveClass(task: Manifest['task'], labels: LabelMap | undefined, classes?: number): number | undefined {
  const p = task.positive;
  if (task.kind !== 'classify' || p === undefined) return undefined;
  if (typeof p === 'number') {
    const count = labels?.size ?? classes;
    if (count !== undefined && p >= count) {
      throw new UserError(`task classify(positive ${p}): there are ${count} classes (ids 0..${count - 1})${labels ? `: ${labels.names.map((n, i) => `${n}=${i}`).join(', ')}` : ''}`, 'give a class id below the class count, or a label name in quotes');
    }
    return p;
  }
  if (!labels) {
    throw new UserError(`task classify(positive ${JSON.stringify(p)}) names a label, but the data's labels are class ids (no label map)`, 'give the class id instead, e.g. `positive 1`, or use text data with string labels');
  }
  const id = labels.id(p);
  if (id === undefined) {
    throw new UserError(`task classify(positive ${JSON.stringify(p)}): no such label; the labels are ${labels.names.map((n) => JSON.stringify(n)).join(', ')}`, 'name one of these labels (spelled as in the data), or give its class id');
  }
  return id;
}

/**
 * How the `f1` metric is shown: `f1(spam)` when it is one named label's F1 (the task's
 * `positive`, or class id 1 of two named labels), so the class is never left to guess; the
 * JSON key stays `f1`.
 */
export function f1Title(task: Manifest['task'], labels: LabelMap | undefined): string {
  if (task.kind !== 'classify' || !labels) return 'f1';
  const id = task.positive !== undefined ? positiveClass(task, labels) : labels.size === 2 ? 1 : undefined;
  const name = id === undefined ? undefined : labels.name(id);
  return name === undefined ? 'f1' : `f1(${name})`;
}

/** A metric's name as printed (`f1(spam)`, else the key). */
export function metricTitle(key: string, task: Manifest['task'], labels: LabelMap | undefined): string {
  return key === 'f1' ? f1Title(task, labels) : key;
}

export function higherIsBetter(metric: string): boolean {
  return !(metric === 'loss' || metric === 'perplexity');
}

export function paramFeeds(graph: GraphInfo, params: ReadonlyMap<string, Float32Tensor>): Record<string, TensorValue> {
  const feeds: Record<string, TensorValue> = {};
  for (const io of graph.inputs) {
    if (io.role !== 'param') continue;
    const p = params.get(io.of ?? io.name);
    if (!p) throw new Error(`graph input '${io.name}' needs parameter '${io.of}', which is not held`);
    feeds[io.name] = tensor('float32', p.data, p.shape);
  }
  return feeds;
}

/** `labels`: the label map of string labels (resolves a `positive` label name). */
export async function evaluate(session: EngineSession, manifest: Manifest, data: Examples, params: ReadonlyMap<string, Float32Tensor>, batchSize: number, labels?: LabelMap): Promise<Metrics> {
  const graph = manifest.graphs.eval;
  const task = manifest.task;
  // A misnamed class is refused before the first batch (checked again below against the logits' class count).
  positiveClass(task, labels);
  const lossOut = graph.outputs.find((o) => o.role === 'loss');
  const logitsOut = graph.outputs.find((o) => o.role === 'output' && o.name === task.logits) ?? graph.outputs.find((o) => o.role === 'output');
  const fixed = graph.inputs.find((i) => i.role === 'batch' && typeof i.shape[0] === 'number')?.shape[0] as number | undefined;
  const plan = new BatchPlan(data.lengths, { batchSize: fixed ?? batchSize, seed: 0, shuffle: false, dropLast: fixed !== undefined });
  const weights = paramFeeds(graph, params);
  let lossSum = 0, weightSum = 0;
  const predictions: number[] = [], truth: number[] = [];
  let classes: number | undefined;
  for (const indices of plan.epoch(0)) {
    const batch = collate(indices.map((i) => data.example(i)), data.schema);
    const out = await session.run({ ...batch.feeds, ...weights });
    const labelTensor = batch.feeds[task.labelKey];
    if (lossOut) {
      const loss = Number((out[lossOut.name]!.data as Float32Array)[0]);
      const w = task.kind === 'lm' ? countTargets(labelTensor, task.ignoreIndex ?? -100, task.shift ?? true) : batch.examples;
      lossSum += loss * w;
      weightSum += w;
    }
    if (logitsOut && labelTensor && task.kind !== 'lm') {
      const logits = out[logitsOut.name]!;
      const values = logits.data as Float32Array;
      if (task.kind === 'classify') {
        classes = logits.dims.at(-1)!;
        predictions.push(...argmaxRows(values, classes));
      } else {
        predictions.push(...values);
      }
      for (const v of labelTensor.data as Iterable<number | bigint>) truth.push(Number(v));
    }
  }
  const metrics: Metrics = {};
  if (weightSum > 0) metrics.loss = lossSum / weightSum;
  if (task.kind === 'lm' && metrics.loss !== undefined) metrics.perplexity = perplexity(metrics.loss);
  if (task.kind === 'classify' && predictions.length > 0) {
    metrics.accuracy = accuracy(predictions, truth);
    metrics.f1 = f1Of(predictions, truth, positiveClass(task, labels, classes));
    // Symmetric in the classes: the choice of positive class does not change it.
    metrics.mcc = matthewsCorrelation(predictions, truth);
  }
  if (task.kind === 'regress' && predictions.length > 0) {
    metrics.pearson = pearson(predictions, truth);
    metrics.spearman = spearman(predictions, truth);
  }
  return metrics;
}

/** F1 of the `positive` class when named; else of class 1 when only ids 0 and 1 occur, macro over the classes otherwise. */
export function f1Of(predictions: readonly number[], truth: readonly number[], positive: number | undefined): number {
  if (positive !== undefined) return f1Binary(predictions, truth, positive);
  const seen = new Set([...truth, ...predictions]);
  return seen.size <= 2 && [...seen].every((c) => c === 0 || c === 1) ? f1Binary(predictions, truth) : f1Macro(predictions, truth);
}

/**
 * The tokens a batch's mean loss was taken over, to weight it in the mean over batches: labels
 * that are not `ignore`, leaving out each row's first label when the loss shifts (position t
 * predicts label t + 1, so label 0 is never predicted).
 */
export function countTargets(labels: TensorValue | undefined, ignore: number, shift: boolean): number {
  if (!labels) return 1;
  const length = labels.dims.at(-1) ?? 1;
  let n = 0, i = 0;
  for (const v of labels.data as Iterable<number | bigint>) {
    if (!(shift && i % length === 0) && Number(v) !== ignore) n++;
    i++;
  }
  return n;
}
