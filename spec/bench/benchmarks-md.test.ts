import test from 'ava';
import { benchmarksMarkdown, peakRate, type BenchReport } from '../../bench/benchmarks-md.ts';
import { markdownTable, ratio, rateCell } from '../../bench/table.ts';

test('markdownTable: header, rule and rows; refuses cells that would break the table', (t) => {
  t.is(markdownTable(['a', 'b'], [['1', '2']]), '| a | b |\n| --- | --- |\n| 1 | 2 |');
  t.throws(() => markdownTable(['a'], [['x|y']]), { message: /'\|'/ });
  t.throws(() => markdownTable(['a', 'b'], [['1']]), { message: /1 cells, the header 2/ });
});

test('ratios and rates: missing figures are dashes, never zeros', (t) => {
  t.is(ratio(3, 2), '1.50x');
  t.is(ratio(3, undefined), '-');
  t.is(ratio(3, 0), '-');
  t.is(rateCell(50e9, 200e9), '50.0 (25%)');
  t.is(rateCell(undefined, 200e9), '-');
});

const shape = { arch: 'bert', layers: 2, d: 128, heads: 2, ffn: 512, vocab: 1000, batch: 8, seq: 64 } as const;
const report: BenchReport = {
  command: 'npm run bench -- --quick', cpuModel: 'Test CPU', cores: 2, loadStart: [0.5, 0.4, 0.3], loadEnd: [3.5, 1, 0.5], threads: 2, warmup: 1, steps: 2, torch: '1.13.0',
  rates: [{ m: 512, k: 512, n: 512, flopsPerSecond: 80e9 }, { m: 1024, k: 768, n: 3072, flopsPerSecond: 100e9 }],
  results: [
    { name: 'tiny', shape, training: { kind: 'lor2c', rank: 8 }, flops: 2e9, compile: { seconds: 3, cpu: 2.5, rss: 2 ** 29 }, train: { seconds: 9, cpu: 8, rss: 2 ** 30 }, stepSeconds: 0.1, torch: { stepSeconds: 0.05, rss: 2 ** 29 } },
    { name: 'tiny', shape, training: { kind: 'full' }, flops: 3e9, compile: { seconds: 3, cpu: 2.5, rss: 2 ** 29 }, train: { seconds: 9, cpu: 8, rss: 2 ** 30 }, stepSeconds: 0.2 },
  ],
  date: new Date('2026-12-02T12:00:00Z'),
};

test('BENCHMARKS.md: machine, command, the best MatMul rate as reference, ratios per run, the shared-machine note', (t) => {
  t.is(peakRate(report.rates), 100e9);
  const md = benchmarksMarkdown(report);
  t.true(md.includes('`npm run bench -- --quick` on 2026-12-02'));
  t.true(md.includes('Test CPU, 2 logical cores; load average (1 / 5 / 15 min) 0.50 / 0.40 / 0.30 at the start, 3.50 / 1.00 / 0.50 at the end'));
  t.true(md.includes('The machine was shared'));
  t.true(md.includes("The machine's MatMul rate, the reference below: 100.0 GFLOP/s"));
  // 2 GFLOP in 0.1 s is 20 GFLOP/s, 20% of the reference; 0.1 s against torch's 0.05 s is 2x; 1 GiB against 0.5 GiB.
  t.true(md.includes('| tiny | LoR2C r 8 | 2.0 | 0.100 | 0.050 | 2.00x | 5120 | 10240 | 20.0 (20%) | 40.0 (40%) | 1.00 GiB | 0.50 GiB | 2.00x |'));
  t.true(md.includes('| tiny | full fine-tuning | 3.0 | 0.200 | - | - | 2560 | - | 15.0 (15%) | - | 1.00 GiB | - | - |'));
  t.false(benchmarksMarkdown({ ...report, loadEnd: [1, 1, 1] }).includes('The machine was shared'));
  t.false(md.includes('Incomplete'));
  t.true(benchmarksMarkdown({ ...report, pending: ['gpt2 full'] }).includes('- Incomplete: the benchmark stopped before gpt2 full.'));
});
