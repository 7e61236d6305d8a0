/**
 * Evaluation metrics, computed in float64 from predictions and labels, with the conventions
 * of scikit-learn and scipy (which GLUE reports use):
 * - F1 of a class with no predicted and no true members counts as 0 (sklearn's zero_division=0 warns and uses 0);
 * - Matthews correlation is 0 when it is undefined (a constant prediction or label);
 * - Pearson/Spearman are NaN when a side is constant (scipy returns NaN);
 * - Spearman ranks ties by their average rank.
 */

export type Labels = ArrayLike<number>;

function checkPair(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} predictions but ${b.length} labels`);
  if (a.length === 0) throw new Error(`${what}: no examples`);
}

export function accuracy(predictions: Labels, labels: Labels): number {
  checkPair(predictions, labels, 'accuracy');
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) right++;
  return right / labels.length;
}

/** Index of the largest value of each row of a [rows, classes] row-major array (first on ties). */
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array {
  if (classes <= 0 || logits.length % classes !== 0) throw new Error(`argmaxRows: ${logits.length} values are not rows of ${classes}`);
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

function f1Of(tp: number, fp: number, fn: number): number {
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/** F1 of the positive class (label `positive`, default 1). */
export function f1Binary(predictions: Labels, labels: Labels, positive = 1): number {
  checkPair(predictions, labels, 'f1');
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === positive, l = labels[i] === positive;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return f1Of(tp, fp, fn);
}

/** Unweighted mean of per-class F1 over the classes that occur in labels or predictions. */
export function f1Macro(predictions: Labels, labels: Labels): number {
  checkPair(predictions, labels, 'f1');
  const classes = [...new Set([...Array.from(labels), ...Array.from(predictions)])];
  let sum = 0;
  for (const c of classes) sum += f1Binary(predictions, labels, c);
  return sum / classes.length;
}

/** Matthews correlation coefficient, multiclass form (Gorodkin's R_K), equal to the usual MCC for two classes. */
export function matthewsCorrelation(predictions: Labels, labels: Labels): number {
  checkPair(predictions, labels, 'matthews');
  const n = labels.length;
  const classes = [...new Set([...Array.from(labels), ...Array.from(predictions)])];
  const index = new Map(classes.map((c, i) => [c, i]));
  const k = classes.length;
  const t = new Float64Array(k), p = new Float64Array(k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    t[index.get(labels[i]!)!]!++;
    p[index.get(predictions[i]!)!]!++;
    if (predictions[i] === labels[i]) correct++;
  }
  let tp = 0, pp = 0, tt = 0;
  for (let c = 0; c < k; c++) {
    tp += t[c]! * p[c]!;
    pp += p[c]! * p[c]!;
    tt += t[c]! * t[c]!;
  }
  const denom = Math.sqrt((n * n - pp) * (n * n - tt));
  return denom === 0 ? 0 : (correct * n - tp) / denom;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'pearson');
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  // Clamp: rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks, ties sharing their average rank (scipy.stats.rankdata's 'average'). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

/** Perplexity from the mean per-token cross-entropy (natural log). */
export function perplexity(meanTokenLoss: number): number {
  return Math.exp(meanTokenLoss);
}
