/**
 * `npm run bench`: writes BENCHMARKS.md. First the machine's float32 MatMul rate in
 * onnxruntime (a few sizes, the configured threads), then per model shape and training kind
 * (LoR2C r 8 on a frozen base; full fine-tuning, `trainable "*"`): `lor2c compile` and
 * `lor2c train` as separate processes (wall and CPU seconds and peak RSS of each, from
 * /usr/bin/time), the median step time after a warm-up (the trainer's own per-step time in
 * its log), tokens/s, achieved FLOP/s from the analytic count of bench/flops.ts, and PyTorch's
 * same step (bench/torch-step.py, same threads, run under /usr/bin/time as well) where
 * /usr/bin/python3 has torch, with lor2c / PyTorch ratios.
 *
 *   npm run bench -- [--shapes tiny-bert,bert-base-8x128,...] [--modes lor2c,full,full-fused] [--quick]
 *                    [--steps 3] [--warmup 2] [--threads 2] [--rank 8] [--no-torch]
 *                    [--out BENCHMARKS.md] [--keep DIR]
 *
 * Modes: lor2c; full (full fine-tuning as compiled by default: the split update at these sizes);
 * full-fused (the same with `--update fused`, the optimizer in the train graph; PyTorch's figures
 * are those of its full run when that ran too).
 *
 * --quick: the tiny shape only, 1 warm-up and 2 timed steps (checks the benchmark runs).
 */
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Graph, GraphBuilder, Model, modelToProto } from '../compiler/graph/index.ts';
import { DataType, encodeModel, makeValueInfo } from '../compiler/onnx/index.ts';
import { writeFileAtomic } from '../contract/atomic.ts';
import { stepFlops, type ModelShape, type Training } from './flops.ts';
import { loggedStepSeconds, median, timedProcess, type ProcessFigures } from './measure.ts';
import { benchmarksMarkdown, type MatMulRate, type RunResult } from './benchmarks-md.ts';

/** The shapes BENCHMARKS.md covers, by name. */
const SHAPES: Record<string, ModelShape> = {
  'tiny-bert': { arch: 'bert', layers: 2, d: 128, heads: 2, ffn: 512, vocab: 1000, batch: 8, seq: 64 },
  'bert-base-8x128': { arch: 'bert', layers: 12, d: 768, heads: 12, ffn: 3072, vocab: 30522, batch: 8, seq: 128 },
  'bert-base-4x64': { arch: 'bert', layers: 12, d: 768, heads: 12, ffn: 3072, vocab: 30522, batch: 4, seq: 64 },
  'gpt2-small-4x128': { arch: 'gpt2', layers: 12, d: 768, heads: 12, ffn: 3072, vocab: 50257, batch: 4, seq: 128 },
  'llama-small-4x128': { arch: 'llama', layers: 4, d: 512, heads: 8, kvHeads: 4, ffn: 1376, vocab: 32000, batch: 4, seq: 128 },
};

const { values } = parseArgs({
  options: {
    shapes: { type: 'string' }, modes: { type: 'string', default: 'lor2c,full' }, quick: { type: 'boolean', default: false },
    steps: { type: 'string' }, warmup: { type: 'string' }, threads: { type: 'string', default: '2' }, rank: { type: 'string', default: '8' },
    'no-torch': { type: 'boolean', default: false }, out: { type: 'string', default: 'BENCHMARKS.md' }, keep: { type: 'string' },
  },
});
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shapeNames = (values.shapes ?? (values.quick ? 'tiny-bert' : Object.keys(SHAPES).join(','))).split(',');
for (const s of shapeNames) if (!SHAPES[s]) throw new Error(`unknown shape '${s}'; known: ${Object.keys(SHAPES).join(', ')}`);
const modes = values.modes.split(',');
for (const m of modes) if (m !== 'lor2c' && m !== 'full' && m !== 'full-fused') throw new Error(`unknown mode '${m}'; give lor2c, full and/or full-fused`);
const warmup = Number(values.warmup ?? (values.quick ? 1 : 2));
const steps = Number(values.steps ?? (values.quick ? 2 : 3));
const threads = Number(values.threads);
const rank = Number(values.rank);
const dir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'lor2c-bench-'));
mkdirSync(dir, { recursive: true });
const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`);

/** The median rate of one float32 [m, k] x [k, n] MatMul in ORT over 5 runs after a warm-up. */
async function matmulRate(m: number, k: number, n: number): Promise<MatMulRate> {
  const g = new Graph();
  g.inputs = [makeValueInfo('a', DataType.FLOAT, [m, k]), makeValueInfo('b', DataType.FLOAT, [k, n])];
  new GraphBuilder(g).op('MatMul', ['a', 'b'], {}, { outputs: ['y'] });
  g.outputs = [makeValueInfo('y', DataType.FLOAT, [m, n])];
  const model = new Model(g);
  model.opsets.set('', 17);
  const session = await ort.InferenceSession.create(encodeModel(modelToProto(model)), { intraOpNumThreads: threads, enableCpuMemArena: false });
  const fill = (len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i));
  const feeds = { a: new ort.Tensor('float32', fill(m * k), [m, k]), b: new ort.Tensor('float32', fill(k * n), [k, n]) };
  await session.run(feeds);
  const seconds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    seconds.push((performance.now() - t0) / 1000);
  }
  await session.release();
  return { m, k, n, flopsPerSecond: (2 * m * k * n) / median(seconds) };
}

function torchVersion(): string | undefined {
  if (values['no-torch']) return undefined;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function writeBase(name: string, s: ModelShape): string {
  const path = join(dir, name, 'base.onnx');
  mkdirSync(dirname(path), { recursive: true });
  const args = ['--layers', s.layers, '--d-model', s.d, '--heads', s.heads, '--ffn', s.ffn, '--vocab-size', s.vocab, '--max-positions', Math.max(s.seq, 128), ...(s.kvHeads ? ['--kv-heads', s.kvHeads] : [])].map(String);
  timedProcess(`writing the ${name} base`, ['node', '--import', 'tsx', 'examples/models/write.ts', s.arch, ...args, '--out', path], root);
  return path;
}

function spec(s: ModelShape, t: Training): string {
  const task = s.arch === 'bert' ? 'classify(logits "logits", labels "label")' : 'lm(logits "logits", labels "input_ids")';
  // alpha 2r and dropout 0.1, as bench/torch-step.py's adapters.
  const adapters = t.kind === 'lor2c' ? `lor2c {\n  rank ${t.rank}\n  alpha ${2 * t.rank}\n  dropout 0.1\n}\n` : '';
  const trainable = t.kind === 'full' ? '  trainable "*"\n' : '';
  return `model "base.onnx"\n${adapters}train {\n  task ${task}\n${trainable}  optimizer adamw(lr 1e-4)\n  batch ${s.batch}\n  steps ${warmup + steps}\n}\n`;
}

function data(s: ModelShape): string {
  return Array.from({ length: s.batch * (warmup + steps) }, (_, i) => {
    const ids = Array.from({ length: s.seq }, (_, j) => (i * 131 + j * 17) % s.vocab);
    return JSON.stringify(s.arch === 'bert' ? { input_ids: ids, attention_mask: ids.map(() => 1), label: i % 2 } : { input_ids: ids });
  }).join('\n') + '\n';
}

function runLor2c(name: string, s: ModelShape, t: Training): Pick<RunResult, 'compile' | 'train' | 'stepSeconds'> {
  const folder = join(dir, name);
  const kind = runKind(t);
  const tag = `${name} ${kind}`;
  writeFileSync(join(folder, `${kind}.lor2c`), spec(s, t));
  writeFileSync(join(folder, 'data.jsonl'), data(s));
  const artifacts = join(folder, `${kind}-artifacts`);
  rmSync(artifacts, { recursive: true, force: true });
  say(`${tag}: lor2c compile`);
  const compile = timedProcess(`${tag} compile`, ['node', 'bin/lor2c.js', 'compile', join(folder, `${kind}.lor2c`), '--out', artifacts, ...(t.kind === 'full' && t.update ? ['--update', t.update] : [])], root);
  say(`${tag}: compiled in ${compile.seconds.toFixed(1)} s (${compile.cpu.toFixed(1)} s CPU), peak RSS ${(compile.rss / 2 ** 30).toFixed(2)} GiB; lor2c train, ${warmup} + ${steps} steps`);
  const log = join(folder, `${kind}-log.jsonl`);
  rmSync(log, { force: true });
  const train = timedProcess(`${tag} train`, ['node', 'bin/lor2c.js', 'train', artifacts, '--data', join(folder, 'data.jsonl'), '--steps', `${warmup + steps}`, '--threads', `${threads}`, '--no-shuffle', '--log', log], root);
  const logged = loggedStepSeconds(log);
  if (logged.length !== warmup + steps) throw new Error(`${tag}: the training log has ${logged.length} steps, expected ${warmup + steps} (${log})`);
  const stepSeconds = median(logged.slice(warmup));
  say(`${tag}: lor2c step ${stepSeconds.toFixed(3)} s (steps ${logged.map((x) => x.toFixed(2)).join(', ')}), peak RSS ${(train.rss / 2 ** 30).toFixed(2)} GiB`);
  return { compile, train, stepSeconds };
}

/** A run's name in folders and messages: its training kind, and how a full one updates when not by default. */
function runKind(t: Training): string {
  return t.kind === 'full' && t.update ? `${t.kind}-${t.update}` : t.kind;
}

/** PyTorch's figures by shape and training kind. */
const torchRuns = new Map<string, { process: ProcessFigures; stepSeconds: number }>();

function runTorch(name: string, s: ModelShape, t: Training): { process: ProcessFigures; stepSeconds: number } {
  const tag = `${name} ${t.kind}`;
  say(`${tag}: PyTorch, ${warmup} + ${steps} steps`);
  const args = ['--arch', s.arch, '--layers', s.layers, '--d', s.d, '--heads', s.heads, '--kv-heads', s.kvHeads ?? s.heads, '--ffn', s.ffn, '--vocab', s.vocab, '--batch', s.batch, '--seq', s.seq, '--steps', steps, '--warmup', warmup, '--threads', threads, ...(t.kind === 'lor2c' ? ['--rank', t.rank] : ['--full'])].map(String);
  const p = timedProcess(`${tag} PyTorch`, ['/usr/bin/python3', 'bench/torch-step.py', ...args], root);
  const m = /^torch step ([\d.]+) s$/m.exec(p.stdout);
  if (!m) throw new Error(`${tag}: bench/torch-step.py printed no 'torch step' line:\n${p.stdout}`);
  const stepSeconds = Number(m[1]);
  say(`${tag}: PyTorch step ${stepSeconds.toFixed(3)} s, peak RSS ${(p.rss / 2 ** 30).toFixed(2)} GiB`);
  return { process: p, stepSeconds };
}

const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
const cpuModel = cpus()[0]?.model ?? 'unknown';
const loadStart = loadavg();
say(`machine: ${cpuModel}, ${cpus().length} logical cores, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}; files in ${dir}`);
try {
  say(`MatMul rate: float32, ${threads} threads`);
  const rates: MatMulRate[] = [];
  for (const [m, k, n] of [[512, 512, 512], [1024, 768, 768], [1024, 768, 3072], [1024, 3072, 768]] as const) {
    rates.push(await matmulRate(m, k, n));
    say(`  ${m} x ${k} x ${n}: ${(rates.at(-1)!.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s`);
  }
  const torch = torchVersion();
  say(torch ? `PyTorch ${torch} (/usr/bin/python3)` : values['no-torch'] ? 'PyTorch left out (--no-torch)' : 'PyTorch: /usr/bin/python3 has no torch; its columns stay empty');
  const results: RunResult[] = [];
  const pending = shapeNames.flatMap((name) => modes.map((mode) => `${name} ${mode}`));
  // Rewritten after every run: a benchmark stopped part-way leaves what it measured, marked incomplete.
  const write = () => {
    const loadEnd = loadavg();
    writeFileAtomic(resolve(root, values.out), benchmarksMarkdown({ command, cpuModel, cores: cpus().length, loadStart, loadEnd, threads, warmup, steps, torch, rates, results, pending, date: new Date() }));
    return loadEnd;
  };
  for (const name of shapeNames) {
    const s = SHAPES[name]!;
    say(`${name}: writing the base model`);
    writeBase(name, s);
    for (const mode of modes) {
      const t: Training = mode === 'full' ? { kind: 'full' } : mode === 'full-fused' ? { kind: 'full', update: 'fused' } : { kind: 'lor2c', rank };
      const lor2c = runLor2c(name, s, t);
      // PyTorch's step is the same whichever way lor2c updates: measured once per shape and kind.
      const key = `${name} ${t.kind}`;
      if (torch && !torchRuns.has(key)) torchRuns.set(key, runTorch(name, s, t));
      const pt = torchRuns.get(key);
      results.push({ name, shape: s, training: t, flops: stepFlops(s, t).total, ...lor2c, torch: pt && { stepSeconds: pt.stepSeconds, rss: pt.process.rss } });
      pending.shift();
      write();
    }
  }
  const loadEnd = write();
  say(`wrote ${resolve(root, values.out)} (load average at the end ${loadEnd.map((x) => x.toFixed(2)).join(' ')})`);
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
