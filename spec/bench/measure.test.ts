import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loggedStepSeconds, median } from '../../bench/measure.ts';

test('median: the middle value, the upper middle for an even count, input left unsorted', (t) => {
  const xs = [5, 1, 3];
  t.is(median(xs), 3);
  t.deepEqual(xs, [5, 1, 3]);
  t.is(median([4, 1, 3, 2]), 3);
  t.is(median([7]), 7);
  t.throws(() => median([]), { message: /no values/ });
});

test('loggedStepSeconds: the step records of a training log, other records skipped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-measure-'));
  try {
    const log = join(dir, 'log.jsonl');
    writeFileSync(log, [{ type: 'start', step: 0 }, { type: 'step', step: 1, seconds: 0.5 }, { type: 'eval', step: 1, seconds: 9 }, { type: 'step', step: 2, seconds: 0.25 }].map((r) => JSON.stringify(r)).join('\n') + '\n');
    t.deepEqual(loggedStepSeconds(log), [0.5, 0.25]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
