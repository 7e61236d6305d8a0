/**
 * Loss heads, built from plain ops (LogSoftmax, GatherElements or OneHot, reductions) so the
 * autodiff rules differentiate them like any other part of the graph.
 *   classification: mean over the batch of -log softmax(logits)[label]     (torch CrossEntropyLoss)
 *   lm:            token-level cross-entropy of logits[:, :-1] against labels[:, 1:] (the shift
 *                  Hugging Face's causal-LM heads do; computed as every position's logits
 *                  against the labels shifted left, the last one ignored), tokens labelled
 *                  `ignoreIndex` excluded, mean over the remaining tokens (a batch with none
 *                  gives 0, not NaN)
 *   mse:           mean of (prediction - target)^2                          (torch MSELoss)
 * Metrics (accuracy, F1, perplexity ...) are not computed in the graph: the runtime computes them
 * from the eval graph's predictions and the labels (runtime/evaluate.ts), the same in every task.
 */
import { DataType } from '../onnx/dtype.ts';
import type { Emitter } from '../graph/emitter.ts';

export type LossSpec =
  | { kind: 'classification'; logits: string; labels?: string }
  | { kind: 'lm'; logits: string; labels?: string; ignoreIndex?: number; shift?: boolean }
  | { kind: 'mse'; prediction: string; target?: string };

export interface LossHead {
  /** Scalar loss value. */
  loss: string;
  /** The label / target graph input this head reads. */
  labels: string;
  /** The data key of the labels, when it is not the input's name (set by the train graph builder). */
  labelKey?: string;
}

/** log p[label] along the last axis of logp, for int64 labels shaped like logp without its last axis. */
function pickLabel(e: Emitter, logp: string, labels: string): string {
  if (e.opset >= 16) return e.squeeze(e.op('GatherElements', [logp, e.unsqueeze(labels, [-1])], { axis: -1 }), [-1]);
  // Before opset 16 the GatherElements gradient (an accumulating scatter) is unavailable: one-hot select.
  const depth = e.op('Reshape', [e.dimOf(logp, -1), e.ints([])]);
  const oneHot = e.op('OneHot', [labels, depth, e.op('Cast', [e.ints([0, 1])], { to: floatType(e, logp) })], { axis: -1 });
  return e.reduceSum(e.op('Mul', [logp, oneHot]), [-1], false);
}

/**
 * Labels as int64, what the comparisons with the ignore index and the label picks take: a
 * language model's labels share its input_ids' type, which some exports declare int32.
 */
function asInt64(e: Emitter, labels: string): string {
  return e.dtype(labels) === DataType.INT64 ? labels : e.op('Cast', [labels], { to: DataType.INT64 });
}

function floatType(e: Emitter, v: string): number {
  return e.dtype(v) ?? DataType.FLOAT;
}

function logSoftmax(e: Emitter, logits: string): string {
  return e.sameTypeAs(e.op('LogSoftmax', [logits], { axis: -1 }), logits);
}

export function classificationLoss(e: Emitter, logits: string, labels: string): LossHead {
  const logp = logSoftmax(e, logits);
  const nll = e.op('Neg', [pickLabel(e, logp, asInt64(e, labels))]);
  return { loss: e.op('ReduceMean', [nll], { keepdims: 0 }), labels };
}

/**
 * The labels one position on, the last position ignored: position t predicts label t + 1.
 * Shifting the labels rather than slicing off the last position's logits leaves the logits
 * whole: slicing them copies the [batch, seq, vocab] tensor in the forward and pads its
 * gradient back in the backward, two passes over the largest tensor of a language model's step.
 */
function nextTokenLabels(e: Emitter, labels: string, ignoreIndex: number): string {
  const rest = e.op('Slice', [labels, e.ints([1]), e.ints([Number.MAX_SAFE_INTEGER]), e.ints([-1])]);
  const lastShape = e.op('Concat', [e.op('Slice', [e.shapeOf(labels), e.ints([0]), e.ints([-1])]), e.ints([1])], { axis: 0 });
  return e.op('Concat', [rest, e.op('Expand', [e.int(ignoreIndex), lastShape])], { axis: -1 });
}

export function lmLoss(e: Emitter, logits: string, labels: string, ignoreIndex = -100, shift = true): LossHead {
  const ids = asInt64(e, labels);
  const lb = shift ? nextTokenLabels(e, ids, ignoreIndex) : ids;
  const valid = e.op('Not', [e.op('Equal', [lb, e.int(ignoreIndex)])]);
  const safe = e.op('Where', [valid, lb, e.int(0)]);
  const nll = e.op('Neg', [pickLabel(e, logSoftmax(e, logits), safe)]);
  const weight = e.op('Cast', [valid], { to: floatType(e, logits) });
  const total = e.reduceSum(e.op('Mul', [nll, weight]), undefined, false);
  const tokens = e.reduceSum(weight, undefined, false);
  return { loss: e.op('Div', [total, e.op('Max', [tokens, e.constant(1, floatType(e, logits))])]), labels };
}

export function mseLoss(e: Emitter, prediction: string, target: string): LossHead {
  const diff = e.op('Sub', [prediction, target]);
  return { loss: e.op('ReduceMean', [e.op('Mul', [diff, diff])], { keepdims: 0 }), labels: target };
}
