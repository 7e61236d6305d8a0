import test from 'ava';
import { Progress, formatDuration } from '../../runtime/progress.ts';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => out.push(s) } };
}

test('plain lines off a terminal: every N steps and the last, with rate and ETA', (t) => {
  let now = 0;
  const { out, stream } = sink(false);
  const p = new Progress({ total: 10, stream, now: () => now, plainEvery: 4 });
  for (let step = 1; step <= 10; step++) {
    now += 500; // 0.5 s a step, 8 examples a step: 16 ex/s
    p.update({ step, loss: 1 / step, lr: 4e-4, examples: 8 });
  }
  p.finish();
  t.is(out.length, 3, out.join(''));
  t.deepEqual(out.map((l) => l.slice(0, 10)), ['step  4/10', 'step  8/10', 'step 10/10']);
  t.is(out[0], 'step  4/10  loss 0.2500  lr 4.00e-4  16.00 ex/s  ETA 00:03\n');
  t.true(out.every((l) => l.endsWith('\n') && !l.includes('\r')));
});

test('on a terminal the line is redrawn in place at most every 100 ms, and the final step always', (t) => {
  let now = 0;
  const { out, stream } = sink(true);
  const p = new Progress({ total: 100, stream, now: () => now, tokens: true });
  for (let step = 1; step <= 100; step++) {
    now += 10; // 100 steps a second: 10 redraws a second at most
    p.update({ step, loss: 2, examples: 4, tokens: 512 });
  }
  p.note('eval accuracy 0.9');
  p.finish();
  const redraws = out.filter((s) => s.startsWith('\r\x1b[2K['));
  t.true(redraws.length >= 10 && redraws.length <= 11, `${redraws.length} redraws`);
  t.regex(redraws.at(-1)!, /\[#{20}\] step 100\/100  loss 2\.000  5\.120e\+4 tok\/s  ETA 00:00/);
  t.true(out.includes('eval accuracy 0.9\n'));
  t.is(out.at(-1), '\n');
});

test('durations', (t) => {
  t.is(formatDuration(5), '00:05');
  t.is(formatDuration(3725), '1:02:05');
  t.is(formatDuration(Infinity), '--:--');
});
