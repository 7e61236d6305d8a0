import test from 'ava';
import { appendFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingLog, readTrainingLog } from '../../runtime/log.ts';
import { isUserError } from '../../contract/errors.ts';
import { runCli } from '../support/cli.ts';

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

test('a damaged log is refused at FILE:LINE with what is wrong, never rendered from half-typed records', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-log-damaged-'));
  const cases: [string, RegExp][] = [
    ['5\n{"type":"step","step":1,"loss":1}\n', /:1: not a training log record/],
    ['{"type":"step","step":"x","loss":0.5}\n{"type":"step","step":2,"loss":0.4}\n', /:1: a 'step' record's "step" must be a non-negative integer, got "x"/],
    ['{"type":"step","step":1,"loss":0.5}\n{"type":"merge","step":-3}\n{"type":"step","step":2,"loss":0.4}\n', /:2: a 'merge' record's "step" must be a non-negative integer, got -3/],
    ['{"type":"header","step":0}\n{"type":"step","step":1,"loss":0.5}\n', /:1: the header record is damaged: "lor2c" must be a string/],
    ['{"type":"header","step":0,"lor2c":"0.1.0","artifacts":"a","data":"d","started":"s","task":{"kind":"classify","logits":"logits","labelKey":"label"},"optimizer":{"kind":"adamw","settings":{}},"settings":{"steps":2},"parameters":[],"trainable":0}\n{"type":"step","step":1,"loss":0.5}\n', /:1: the header record is damaged: "settings" must hold the numbers/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const path = join(dir, `damaged-${i}.jsonl`);
    appendFileSync(path, text);
    const e = t.throws(() => readTrainingLog(path));
    t.is(e?.name, 'UserError');
    t.regex(e!.message, message);
    const cli = await runCli('report', path, '--out', join(dir, `r-${i}.html`));
    t.is(cli.code, 1, cli.err);
    t.regex(cli.err, message);
    t.notRegex(cli.err, /Cannot read properties|at .*\.ts:\d+/, 'no internal error, no stack trace');
  }
});

test('a full disk while logging is a UserError naming the log and what to do, not a bare ENOSPC', (t) => {
  if (!existsSync('/dev/full')) return t.pass('no /dev/full on this system');
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-log-full-'));
  const path = join(dir, 'log.jsonl');
  const log = TrainingLog.create(path);
  log.step({ step: 1, loss: 0.5, seconds: 0.1 });
  // The log's path now leads to a device that is always full.
  rmSync(path);
  symlinkSync('/dev/full', path);
  const err = t.throws(() => log.step({ step: 2, loss: 0.4, seconds: 0.1 }))!;
  t.true(isUserError(err));
  t.regex(err.message, /cannot append to the training log .*log\.jsonl: no space left on the device \(ENOSPC\)/);
  t.regex((err as { hint?: string }).hint ?? '', /free some space/);
});
