/** When MergeLoR2C / InjectLoR2C fire (docs/method.md section 4's schedule), as step numbers. */
import test from 'ava';
import { derivedInterval, schedulePoints } from '../../runtime/dynamic.ts';

test('points are every, 2*every, ... up to the fraction `until` of the run, at most `max`', (t) => {
  t.deepEqual(schedulePoints({ count: 1, unit: 'epochs' }, 0.25, 4, 300, 10), [10, 20, 30, 40]);
  t.deepEqual(schedulePoints({ count: 1, unit: 'epochs' }, 0.25, undefined, 300, 10), [10, 20, 30, 40, 50, 60, 70]);
  t.deepEqual(schedulePoints({ count: 5, unit: 'steps' }, 1, 2, 20, 7), [5, 10]);
  t.deepEqual(schedulePoints({ count: 5, unit: 'steps' }, 1, undefined, 20, 7), [5, 10, 15], 'never at the very end, where nothing would train after it');
});

test("the GLUE script's interval floor(E / 4 / M) + 1 follows the run's real length", (t) => {
  // 30 epochs of 10 steps, at most 4 merges: every floor(30/4/4)+1 = 2 epochs.
  t.deepEqual(derivedInterval({ count: 99, unit: 'epochs' }, 4, 300, 10), { count: 2, unit: 'epochs' });
  // The same spec run for 80 epochs: every 6 epochs.
  t.deepEqual(derivedInterval({ count: 99, unit: 'epochs' }, 4, 800, 10), { count: 6, unit: 'epochs' });
  t.deepEqual(schedulePoints(derivedInterval({ count: 1, unit: 'epochs' }, 4, 300, 10), 0.25, 4, 300, 10), [20, 40, 60]);
});
