/**
 * Exit codes (cli/main.ts EXIT): 0 done, 1 a user error, 2 a usage error, 70 an internal error
 * (a lor2c bug, said to be one, without a stack trace unless LOR2C_DEBUG asks), 130 Ctrl-C
 * (spec/cli/train-faults.test.ts). A bug cannot be reached by input, so one is planted in a
 * command's run for the last case: what is tested is main's dispatch of what escapes a command.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/main.ts';
import { commands } from '../../cli/commands/index.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-exit-'));

test.serial('a user error exits 1 with the message and hint, a usage error 2 with the usage, an unknown command 2', async (t) => {
  t.deepEqual(EXIT, { ok: 0, userError: 1, usage: 2, internal: 70, interrupted: 130 });
  const log = join(dir, 'log.jsonl');
  writeFileSync(log, '{"type":"step","step":-1}\n');
  const user = await runCli('report', log);
  t.is(user.code, 1);
  t.regex(user.err, /^lor2c report: error: .*log\.jsonl:1: .*\n  hint: /);
  const usage = await runCli('report', log, '--bogus');
  t.is(usage.code, 2);
  t.regex(usage.err, /Usage: lor2c report/);
  t.is((await runCli('no-such-command')).code, 2);
});

test.serial('a bug escaping a command is an internal error: exit 70, said to be lor2c\'s, no stack trace', async (t) => {
  const report = commands.find((c) => c.name === 'report')!;
  const run = report.run;
  report.run = async () => {
    const missing = undefined as unknown as { kind: string };
    return missing.kind.length;
  };
  try {
    const r = await runCli('report', 'x.jsonl');
    t.is(r.code, 70);
    t.regex(r.err, /^lor2c report: internal error \(a bug in lor2c, not a problem with your input\): Cannot read properties of undefined/);
    t.regex(r.err, /please report it with the command you ran/);
    t.notRegex(r.err, /\n\s+at /, 'no stack trace');
  } finally {
    report.run = run;
  }
});
