/** The weights of the per-batch losses in an evaluation's mean: the tokens each loss was taken over. */
import test from 'ava';
import { tensor } from '../../runtime/engine/engine.ts';
import { countTargets } from '../../runtime/evaluate.ts';

const labels = tensor('int64', BigInt64Array.from([5n, 6n, 7n, -100n, 1n, -100n, -100n, -100n]), [2, 4]);

test('a shifted loss never predicts a row\'s first label: it is not counted', (t) => {
  // Row 0: 6, 7 predicted (-100 ignored); row 1: nothing left after its first label.
  t.is(countTargets(labels, -100, true), 2);
});

test('without the shift (masked LM) every label that is not ignored counts', (t) => {
  t.is(countTargets(labels, -100, false), 4);
});

test('no label tensor weighs the batch as one', (t) => {
  t.is(countTargets(undefined, -100, true), 1);
});
