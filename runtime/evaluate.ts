/**
 * Evaluation with the eval graph: runs every example of a dataset in file order, averages the
 * loss (weighted by examples, or by tokens for LM), and computes the task's metrics from the
 * model outputs:
 *   classify: loss, accuracy, f1 (positive class 1 with two classes, macro over classes
 *             otherwise), mcc
 *   regress:  loss, pearson, spearman
 *   lm:       loss, perplexity
 */
import { tensor, type EngineSession, type TensorValue } from './engine/engine.ts';
import type { GraphInfo, Manifest } from '../contract/manifest.ts';
import { BatchPlan } from './data/batches.ts';
import { collate } from './data/collate.ts';
import type { Examples } from './data/examples-contract.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { accuracy, argmaxRows, f1Binary, f1Macro, matthewsCorrelation, pearson, perplexity, spearman } from './metrics.ts';

export type Metrics = Record<string, number>;

/** The metric that decides the best checkpoint by default, and whether higher is better. */
export function defaultBestMetric(task: Manifest['task']): string {
  return task.kind === 'classify' ? 'accuracy' : task.kind === 'regress' ? 'pearson' : 'loss';
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

export async function evaluate(session: EngineSession, manifest: Manifest, data: Examples, params: ReadonlyMap<string, Float32Tensor>, batchSize: number): Promise<Metrics> {
  const graph = manifest.graphs.eval;
  const task = manifest.task;
  const lossOut = graph.outputs.find((o) => o.role === 'loss');
  const logitsOut = graph.outputs.find((o) => o.role === 'output' && o.name === task.logits) ?? graph.outputs.find((o) => o.role === 'output');
  const fixed = graph.inputs.find((i) => i.role === 'batch' && typeof i.shape[0] === 'number')?.shape[0] as number | undefined;
  const plan = new BatchPlan(data.lengths, { batchSize: fixed ?? batchSize, seed: 0, shuffle: false, dropLast: fixed !== undefined });
  const weights = paramFeeds(graph, params);
  let lossSum = 0, weightSum = 0;
  const predictions: number[] = [], labels: number[] = [];
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
        const classes = logits.dims.at(-1)!;
        predictions.push(...argmaxRows(values, classes));
      } else {
        predictions.push(...values);
      }
      for (const v of labelTensor.data as Iterable<number | bigint>) labels.push(Number(v));
    }
  }
  const metrics: Metrics = {};
  if (weightSum > 0) metrics.loss = lossSum / weightSum;
  if (task.kind === 'lm' && metrics.loss !== undefined) metrics.perplexity = perplexity(metrics.loss);
  if (task.kind === 'classify' && predictions.length > 0) {
    metrics.accuracy = accuracy(predictions, labels);
    const classes = new Set([...labels, ...predictions]);
    metrics.f1 = classes.size <= 2 && [...classes].every((c) => c === 0 || c === 1) ? f1Binary(predictions, labels) : f1Macro(predictions, labels);
    metrics.mcc = matthewsCorrelation(predictions, labels);
  }
  if (task.kind === 'regress' && predictions.length > 0) {
    metrics.pearson = pearson(predictions, labels);
    metrics.spearman = spearman(predictions, labels);
  }
  return metrics;
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
