import test from 'ava';
import { readFileSync } from 'node:fs';
import { accuracy, argmaxRows, averageRanks, f1Binary, f1Macro, matthewsCorrelation, pearson, perplexity, spearman } from '../../runtime/metrics.ts';

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('hand-computed binary case', (t) => {
  // tp = 2 (i 0, 3), fp = 1 (i 1), fn = 1 (i 2), tn = 1 (i 4)
  const pred = [1, 1, 0, 1, 0];
  const lab = [1, 0, 1, 1, 0];
  t.is(accuracy(pred, lab), 3 / 5);
  t.is(f1Binary(pred, lab), (2 * 2) / (2 * 2 + 1 + 1));
  // MCC = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = (2 - 1) / sqrt(3*3*2*2) = 1/6
  t.true(close(matthewsCorrelation(pred, lab), 1 / 6));
  // macro: F1(1) = 2/3, F1(0) = 2*1/(2+1+1) = 1/2
  t.true(close(f1Macro(pred, lab), (2 / 3 + 1 / 2) / 2));
});

test('F1 of a named positive class: class 0 gives a different, hand-computed value', (t) => {
  const pred = [1, 1, 0, 1, 0];
  const lab = [1, 0, 1, 1, 0];
  // Class 0: tp = 1 (i 4), fp = 1 (i 2), fn = 1 (i 1): 2 / (2 + 1 + 1); class 1 is 2/3 (above).
  t.is(f1Binary(pred, lab, 0), 1 / 2);
  t.is(f1Binary(pred, lab, 1), 2 / 3);
});

test('degenerate cases follow sklearn/scipy conventions', (t) => {
  t.is(matthewsCorrelation([1, 1, 1], [0, 1, 0]), 0);
  t.is(f1Binary([0, 0], [0, 0]), 0);
  t.true(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  t.is(pearson([1, 2, 3], [2, 4, 6]), 1);
  t.is(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
  t.throws(() => accuracy([1], [1, 2]), { message: /1 predictions but 2 labels/ });
});

test('average ranks share ties', (t) => {
  t.deepEqual([...averageRanks([10, 20, 10, 30, 20, 20])], [1.5, 4, 1.5, 6, 4, 4]);
});

test('argmax of logits rows and perplexity', (t) => {
  t.deepEqual([...argmaxRows([0.1, 0.9, 0.3, 2, 1, 2, -1, -2, -3], 3)], [1, 0, 0]);
  t.true(close(perplexity(Math.log(17)), 17));
});

interface RefCase { kind: string; [k: string]: unknown }
const cases = JSON.parse(readFileSync(new URL('./fixtures/metrics-reference.json', import.meta.url), 'utf8')) as RefCase[];

cases.forEach((c, i) => {
  test(`numpy reference case ${i} (${c.kind})`, (t) => {
    if (c.kind === 'classify') {
      const p = c.predictions as number[], l = c.labels as number[];
      t.true(close(accuracy(p, l), c.accuracy as number));
      t.true(close(f1Binary(p, l), c.f1Binary as number));
      t.true(close(f1Macro(p, l), c.f1Macro as number));
      t.true(close(matthewsCorrelation(p, l), c.matthews as number, 1e-10), `${matthewsCorrelation(p, l)} vs ${c.matthews}`);
    } else {
      const x = c.x as number[], y = c.y as number[];
      t.true(close(pearson(x, y), c.pearson as number, 1e-10));
      t.true(close(spearman(x, y), c.spearman as number, 1e-10));
    }
  });
});
