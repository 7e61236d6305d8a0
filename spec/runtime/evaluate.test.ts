/** An evaluation's mean loss weights (the tokens each batch's loss was taken over), and which class its F1 is for. */
import test from 'ava';
import { tensor } from '../../runtime/engine/engine.ts';
import { countTargets, f1Of, metricTitle, positiveClass } from '../../runtime/evaluate.ts';
import { LabelMap } from '../../runtime/data/labels.ts';
import { UserError } from '../../contract/errors.ts';
import type { Manifest } from '../../contract/manifest.ts';

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

// Which class F1 is for: the task's `positive`, a label name resolved through the label map or a class id.
const junkNormal = LabelMap.fromLabels(['normal', 'junk']); // sorted: junk = 0, normal = 1
const classify = (positive?: string | number): Manifest['task'] => ({ kind: 'classify', labelKey: 'label', logits: 'logits', ...(positive !== undefined ? { positive } : {}) });
// F1(normal = 1): tp 2, fp 1, fn 1 -> 2/3; F1(junk = 0): tp 1, fp 1, fn 1 -> 1/2.
const pred = [1, 1, 0, 1, 0];
const truth = [1, 0, 1, 1, 0];

test('positive "junk" is resolved through the label map: F1 is junk\'s, not class id 1\'s', (t) => {
  t.is(positiveClass(classify('junk'), junkNormal), 0);
  t.is(f1Of(pred, truth, positiveClass(classify('junk'), junkNormal)), 1 / 2);
  t.is(f1Of(pred, truth, positiveClass(classify(), junkNormal)), 2 / 3, 'default: class id 1 (normal)');
  t.is(f1Of(pred, truth, positiveClass(classify(0), undefined, 2)), 1 / 2, 'a class id needs no label map');
});

test('f1 is shown with the label it is for whenever labels have names; the key stays f1', (t) => {
  t.is(metricTitle('f1', classify(), junkNormal), 'f1(normal)');
  t.is(metricTitle('f1', classify('junk'), junkNormal), 'f1(junk)');
  t.is(metricTitle('f1', classify(0), junkNormal), 'f1(junk)');
  t.is(metricTitle('f1', classify(), undefined), 'f1', 'class ids: no name to show');
  t.is(metricTitle('f1', classify(), LabelMap.fromLabels(['a', 'b', 'c'])), 'f1', 'three labels without positive: macro F1');
  t.is(metricTitle('accuracy', classify('junk'), junkNormal), 'accuracy');
});

test('a positive that is no class is refused, naming the labels', (t) => {
  const unknown = t.throws(() => positiveClass(classify('spam'), junkNormal), { instanceOf: UserError });
  t.regex(unknown!.message, /positive "spam"\): no such label; the labels are "junk", "normal"/);
  t.throws(() => positiveClass(classify('spam'), undefined), { instanceOf: UserError, message: /names a label, but the data's labels are class ids/ });
  t.throws(() => positiveClass(classify(2), junkNormal), { instanceOf: UserError, message: /there are 2 classes \(ids 0\.\.1\): junk=0, normal=1/ });
  t.throws(() => positiveClass(classify(3), undefined, 3), { instanceOf: UserError, message: /there are 3 classes/ });
  t.is(positiveClass(classify(), junkNormal), undefined);
});
