/**
 * A billion-parameter base, as a user runs it: builds a LLaMA-shaped model with the project's
 * builder (random weights, external data), then runs `lor2c compile` and `lor2c train` as
 * separate processes and prints each one's wall time and peak RSS (from /usr/bin/time), the
 * step time and tokens/s. Frozen weights stay in the base's data file while compiling (the
 * artifacts link it), so compile time and memory do not grow with the weights.
 *
 *   npx tsx bench/billion.ts [--layers 22] [--d 2048] [--ffn 5632] [--heads 32] [--kv-heads 4]
 *        [--vocab 32000] [--seq 512] [--batch 1] [--steps 3] [--rank 8] [--no-train] [--no-torch] [--7b]
 *        [--dir DIR] [--keep]
 *
 * After `lor2c train`, and never beside it, PyTorch's figures for the same step
 * (bench/torch-step.py --arch llama at the same shape) where /usr/bin/python3 has torch;
 * --no-torch skips them. --7b also writes a LLaMA-2-7B-shaped base as a float16 export (32
 * layers, d 4096, ffn 11008, 32 heads, vocab 32000: 13.5 GB, bench/write-half-llama.ts, one
 * weight in memory at a time) and reports `lor2c compile`'s time and peak RSS on it.
 *
 * The defaults are TinyLlama-1.1B's shape (4.4 GB of float32 weights). DIR (default: a fresh
 * folder under the system temp dir) must have room for the weights; the generated files are
 * deleted at the end unless --keep (or a DIR that already holds base.onnx, which is reused).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gib, loggedStepSeconds, median, timedProcess } from './measure.ts';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '22' }, d: { type: 'string', default: '2048' }, ffn: { type: 'string', default: '5632' },
    heads: { type: 'string', default: '32' }, 'kv-heads': { type: 'string', default: '4' }, vocab: { type: 'string', default: '32000' },
    seq: { type: 'string', default: '512' }, batch: { type: 'string', default: '1' }, steps: { type: 'string', default: '3' },
    rank: { type: 'string', default: '8' }, 'no-train': { type: 'boolean', default: false }, 'no-torch': { type: 'boolean', default: false },
    '7b': { type: 'boolean', default: false }, dir: { type: 'string' }, keep: { type: 'boolean', default: false },
  },
});
const n = (k: keyof typeof values) => Number(values[k]);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), 'lor2c-billion-'));
mkdirSync(dir, { recursive: true });
const basePath = join(dir, 'base.onnx');
const reuse = existsSync(basePath);

const d = n('d'), ffn = n('ffn'), layers = n('layers'), vocab = n('vocab'), kv = n('kv-heads'), heads = n('heads');
const kvDim = (d / heads) * kv;
const parameters = 2 * vocab * d + layers * (2 * d * d + 2 * d * kvDim + 3 * d * ffn + 2 * d) + d;
console.log(`shape     LLaMA: ${layers} layers, d ${d}, ffn ${ffn}, ${heads} heads (${kv} kv), vocab ${vocab}: ${(parameters / 1e9).toFixed(2)}B parameters, ${gib(parameters * 4)} float32`);

/** A command of this benchmark as its own process, run from the repository root. */
const timed = (label: string, args: string[]) => timedProcess(label, args, root);

try {
  if (!reuse) {
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    if (free < parameters * 4 * 1.2) throw new Error(`${dir} has ${gib(free)} free; the model needs ${gib(parameters * 4)} (pass --dir elsewhere)`);
    const built = timed('build', ['node', '--import', 'tsx', 'examples/models/write.ts', 'llama', '--layers', `${layers}`, '--d-model', `${d}`, '--ffn', `${ffn}`, '--heads', `${heads}`, '--kv-heads', `${kv}`, '--vocab-size', `${vocab}`, '--max-positions', `${Math.max(n('seq'), 128)}`, '--out', basePath]);
    console.log(`build     ${built.seconds.toFixed(1)} s, peak RSS ${gib(built.rss)} (examples/models builder; not lor2c's cost)`);
  } else console.log(`build     reusing ${basePath}`);

  const spec = `model "base.onnx"\nlor2c {\n  rank ${n('rank')}\n  alpha ${2 * n('rank')}\n}\ntrain {\n  task lm(logits "logits", labels "input_ids")\n  optimizer adamw(lr 1e-4)\n  batch ${n('batch')}\n  steps ${n('steps')}\n}\n`;
  writeFileSync(join(dir, 'bench.lor2c'), spec);
  const artifacts = join(dir, 'artifacts');
  const compiled = timed('compile', ['node', 'bin/lor2c.js', 'compile', join(dir, 'bench.lor2c'), '--out', artifacts]);
  const weights = execFileSync('du', ['-sb', '--apparent-size', join(artifacts, 'weights.bin')], { encoding: 'utf8' }).split('\t')[0];
  console.log(`compile   ${compiled.seconds.toFixed(1)} s (${compiled.cpu.toFixed(1)} s CPU), peak RSS ${gib(compiled.rss)} (lor2c compile; weights.bin ${gib(Number(weights))}, the base's data linked)`);

  if (!values['no-train']) {
    const seq = n('seq'), batch = n('batch'), steps = n('steps');
    const rows = Array.from({ length: batch * steps }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: seq }, (_, j) => (i * 131 + j * 17) % vocab) }));
    writeFileSync(join(dir, 'data.jsonl'), rows.join('\n'));
    const log = join(dir, 'log.jsonl');
    rmSync(log, { force: true });
    const trained = timed('train', ['node', 'bin/lor2c.js', 'train', artifacts, '--data', join(dir, 'data.jsonl'), '--steps', `${steps}`, '--log', log]);
    const stepSeconds = loggedStepSeconds(log);
    // The first steps grow ORT's arena and plan memory: time the later ones when there are any.
    const timedSteps = stepSeconds.length > 2 ? stepSeconds.slice(2) : stepSeconds.slice(-1);
    const step = median(timedSteps);
    console.log(`train     ${stepSeconds.length} steps of ${batch} x ${seq}: ${stepSeconds.map((s) => s.toFixed(1)).join(', ')} s; ${step.toFixed(2)} s/step, ${((batch * seq) / step).toFixed(0)} tokens/s; process ${trained.seconds.toFixed(1)} s (${trained.cpu.toFixed(1)} s CPU), peak RSS ${gib(trained.rss)}`);
    if (!values['no-torch']) {
      if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) console.log('torch     skipped: /usr/bin/python3 has no torch (Debian: python3-torch, libopenblas0-pthread)');
      else {
        // Same shape, same step, after lor2c's run; torch-step.py adds two warm-up steps.
        const torch = timed('torch', ['/usr/bin/python3', 'bench/torch-step.py', '--arch', 'llama', '--layers', `${layers}`, '--d', `${d}`, '--ffn', `${ffn}`, '--heads', `${heads}`, '--kv-heads', `${kv}`, '--vocab', `${vocab}`, '--seq', `${seq}`, '--batch', `${batch}`, '--steps', `${Math.max(1, steps - 2)}`, '--rank', `${n('rank')}`, '--threads', `${availableParallelism()}`]);
        const torchStep = Number(torch.stdout.match(/^torch step ([0-9.]+)/m)?.[1]);
        console.log(`torch     ${torchStep.toFixed(2)} s/step, ${((batch * seq) / torchStep).toFixed(0)} tokens/s; process ${torch.seconds.toFixed(1)} s (${torch.cpu.toFixed(1)} s CPU), peak RSS ${gib(torch.rss)}`);
        console.log(`ratio     lor2c / torch: peak RSS ${(trained.rss / torch.rss).toFixed(2)}, step time ${(step / torchStep).toFixed(2)}`);
      }
    }
  }
  if (values['7b']) {
    const big = join(dir, '7b');
    mkdirSync(big, { recursive: true });
    const halfBytes = 2 * (2 * 32000 * 4096 + 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096) + 4096);
    const free = statfsSync(big).bavail * statfsSync(big).bsize;
    if (free < halfBytes * 1.1) throw new Error(`${big} has ${gib(free)} free; the 7B-shaped float16 base needs ${gib(halfBytes)} (pass --dir elsewhere)`);
    const written = timed('7b build', ['node', '--import', 'tsx', 'bench/write-half-llama.ts', '--out', join(big, 'base.onnx')]);
    console.log(`7b build  ${written.seconds.toFixed(1)} s, peak RSS ${gib(written.rss)}: LLaMA-2-7B's shape (32 layers, d 4096, ffn 11008, 32 heads, vocab 32000), float16, ${gib(halfBytes)} (bench/write-half-llama.ts; not lor2c's cost)`);
    writeFileSync(join(big, 'bench.lor2c'), spec);
    const compiled7b = timed('7b compile', ['node', 'bin/lor2c.js', 'compile', join(big, 'bench.lor2c'), '--out', join(big, 'artifacts')]);
    const precision = compiled7b.stdout.split('\n').find((l) => l.startsWith('precision'))?.trim();
    console.log(`7b compile ${compiled7b.seconds.toFixed(1)} s (${compiled7b.cpu.toFixed(1)} s CPU), peak RSS ${gib(compiled7b.rss)} (lor2c compile${precision ? `; ${precision}` : ''})`);
    if (!values.keep) rmSync(big, { recursive: true, force: true });
  }
} finally {
  if (!values.keep && !reuse) rmSync(dir, { recursive: true, force: true });
}
