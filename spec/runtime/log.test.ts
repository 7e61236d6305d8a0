import test from 'ava';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingLog, readTrainingLog } from '../../runtime/log.ts';

test('one object a step and one per event; resume drops the abandoned tail', (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'lor2c-log-')), 'train.jsonl');
  const log = TrainingLog.create(path);
  for (let step = 1; step <= 4; step++) log.step({ step, loss: 1 / step, lr: 0.1, seconds: 0.01, ...(step === 2 ? { eval: { accuracy: 0.5 } } : {}) });
  log.event({ type: 'merge', step: 3, pair: ['m0', 'm1'], sfs: { m0: 0.1, m1: 0.2 } });
  log.step({ step: 5, loss: NaN, seconds: 0.01 });
  appendFileSync(path, '{"type":"step","st'); // a line cut off by a crash
  const recs = readTrainingLog(path);
  t.deepEqual(recs[1], { type: 'step', step: 2, loss: 0.5, lr: 0.1, seconds: 0.01, eval: { accuracy: 0.5 } });
  t.deepEqual(recs[4], { type: 'merge', step: 3, pair: ['m0', 'm1'], sfs: { m0: 0.1, m1: 0.2 } });
  t.is(recs[5]!.loss, 'NaN');
  TrainingLog.resume(path, 3).step({ step: 4, loss: 0.2, seconds: 0.02 });
  t.deepEqual(readTrainingLog(path).map((r) => `${r.type}@${r.step}`), ['step@1', 'step@2', 'step@3', 'merge@3', 'step@4']);
});
