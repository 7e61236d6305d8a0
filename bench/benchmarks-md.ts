/**
 * BENCHMARKS.md from the figures bench/run.ts measured: the machine, the command that
 * reproduces the file, the MatMul rate, then a table of compile figures and one of training
 * step figures with lor2c / PyTorch ratios. Pure: everything it prints is in its argument.
 */
import type { ModelShape, Training } from './flops.ts';
import type { ProcessFigures } from './measure.ts';
import { fixed, gibCell, markdownTable, rateCell, ratio } from './table.ts';

export interface MatMulRate {
  m: number;
  k: number;
  n: number;
  flopsPerSecond: number;
}

export interface RunResult {
  name: string;
  shape: ModelShape;
  training: Training;
  /** Analytic FLOPs of one step (bench/flops.ts). */
  flops: number;
  compile: Pick<ProcessFigures, 'seconds' | 'cpu' | 'rss'>;
  train: Pick<ProcessFigures, 'seconds' | 'cpu' | 'rss'>;
  /** Median step seconds after the warm-up. */
  stepSeconds: number;
  torch?: { stepSeconds: number; rss: number };
}

export interface BenchReport {
  command: string;
  cpuModel: string;
  cores: number;
  loadStart: number[];
  loadEnd: number[];
  threads: number;
  warmup: number;
  steps: number;
  /** torch.__version__, or undefined when PyTorch was not run. */
  torch: string | undefined;
  rates: MatMulRate[];
  results: RunResult[];
  /** Runs not measured yet ('name training'): the file is rewritten after each run, so a stopped benchmark leaves what it measured. */
  pending?: string[];
  date: Date;
}

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

export function shapeCell(s: ModelShape): string {
  const kv = s.kvHeads !== undefined && s.kvHeads !== s.heads ? ` (${s.kvHeads} kv)` : '';
  return `${s.arch}, ${s.layers} layers, d ${s.d}, ${s.heads} heads${kv}, ffn ${s.ffn}, vocab ${s.vocab}; batch ${s.batch} x ${s.seq}`;
}

export const trainingCell = (t: Training): string => (t.kind === 'full' ? `full fine-tuning${t.update === 'fused' ? ', fused update' : ''}` : `LoR2C r ${t.rank}`);

/** The machine's MatMul rate: the best of the sizes measured (what a well-shaped product reaches). */
export function peakRate(rates: readonly MatMulRate[]): number {
  if (rates.length === 0) throw new Error('no MatMul rate measured');
  return Math.max(...rates.map((r) => r.flopsPerSecond));
}

export function benchmarksMarkdown(r: BenchReport): string {
  const peak = peakRate(r.rates);
  const torch = r.torch ? `PyTorch ${r.torch}` : 'PyTorch';
  const shared = Math.max(...r.loadStart, ...r.loadEnd) > r.cores;
  const out: string[] = [
    '# Benchmarks',
    '',
    `Written by \`${r.command}\` on ${r.date.toISOString().slice(0, 10)}; the same command reproduces it (its options are described at the top of \`bench/run.ts\`).`,
    '',
    `- Machine: ${r.cpuModel}, ${r.cores} logical cores; load average (1 / 5 / 15 min) ${load(r.loadStart)} at the start, ${load(r.loadEnd)} at the end.`,
    ...(r.pending?.length ? [`- Incomplete: the benchmark stopped before ${r.pending.join(', ')}.`] : []),
    ...(shared ? [`- The machine was shared with other work (load average above its ${r.cores} cores): wall times, step times and rates are slower than on an idle machine and noisy; ratios of runs made one after the other are the steadier figures, and peak RSS is not affected. The MatMul rate is measured once, at the start: where the load fell after it, a share above 100% can appear.`] : []),
    `- Threads: ${r.threads} (onnxruntime's intra-op threads, \`lor2c train --threads\`; \`torch.set_num_threads\`).`,
    `- Step time: the median of ${r.steps} steps after ${r.warmup} warm-up step${r.warmup === 1 ? "" : "s"}; lor2c's is the trainer's own per-step time (its log's \`seconds\`: the ORT run with its inputs and outputs), PyTorch's the forward, backward and AdamW step (bench/torch-step.py).`,
    ...(r.results.some((x) => x.training.kind === 'full') ? ['- Full fine-tuning (`trainable "*"`) as `lor2c compile` builds it by default: above 16M trainable values the split update (update.onnx applies the optimizer in place, a chunk at a time), below it the fused one; "fused update" is the same compiled with `--update fused` (the optimizer in train.onnx, which returns the whole state each step).'] : []),
    '- Peak RSS: of the whole process (`/usr/bin/time`), start-up and data included.',
    '- FLOP/s: the analytic FLOP count of the step (bench/flops.ts: the matrix products of the forward pass and those a minimal backward pass needs, 2 FLOPs per multiply-add; element-wise ops, normalization, softmax and the optimizer not counted) over the median step time, and its share of the machine\'s MatMul rate below.',
    '',
    `## MatMul rate (onnxruntime, float32, ${r.threads} threads)`,
    '',
    markdownTable(['m x k x n', 'GFLOP/s'], r.rates.map((x) => [`${x.m} x ${x.k} x ${x.n}`, (x.flopsPerSecond / 1e9).toFixed(1)])),
    '',
    `The machine's MatMul rate, the reference below: ${(peak / 1e9).toFixed(1)} GFLOP/s (the best of these).`,
    '',
    '## Compile (`lor2c compile`)',
    '',
    markdownTable(
      ['model', 'shape', 'training', 'wall s', 'CPU s', 'peak RSS'],
      r.results.map((x) => [x.name, shapeCell(x.shape), trainingCell(x.training), fixed(x.compile.seconds, 1), fixed(x.compile.cpu, 1), gibCell(x.compile.rss)]),
    ),
    '',
    `## Training step (\`lor2c train\` against ${torch})`,
    '',
    markdownTable(
      ['model', 'training', 'GFLOP / step', 'lor2c step s', `torch step s`, 'step lor2c / torch', 'lor2c tokens/s', 'torch tokens/s', 'lor2c GFLOP/s (of MatMul rate)', 'torch GFLOP/s (of MatMul rate)', 'lor2c peak RSS', 'torch peak RSS', 'RSS lor2c / torch'],
      r.results.map((x) => {
        const tokens = x.shape.batch * x.shape.seq;
        const t = x.torch;
        return [
          x.name, trainingCell(x.training), (x.flops / 1e9).toFixed(1),
          fixed(x.stepSeconds, 3), fixed(t?.stepSeconds, 3), ratio(x.stepSeconds, t?.stepSeconds),
          fixed(tokens / x.stepSeconds, 0), fixed(t && tokens / t.stepSeconds, 0),
          rateCell(x.flops / x.stepSeconds, peak), rateCell(t && x.flops / t.stepSeconds, peak),
          gibCell(x.train.rss), gibCell(t?.rss), ratio(x.train.rss, t?.rss),
        ];
      }),
    ),
    '',
  ];
  return out.join('\n');
}
