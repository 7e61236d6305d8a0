/**
 * The LoR2C pipeline as a user runs it, on a model of chosen size (default: BERT-base-sized,
 * 12 blocks, d 768): compile time, training step time, tokens/s and peak memory, and the time
 * a Merge recompile takes (what the runtime does at a scheduled MergeLoR2C point).
 *
 *   npx tsx bench/lor2c.ts [--arch bert|gpt2] [--layers 12] [--d 768] [--heads 12] [--ffn 3072]
 *                          [--vocab 30522] [--batch 8] [--seq 128] [--steps 5] [--rank 8] [--threads N]
 *                          [--target cpu|cuda] [--keep DIR] [--half] [--precision fp32|fp16|bf16]
 *
 * --target cuda compiles for and trains on ORT's CUDA provider; --keep DIR leaves the run's
 * files (base model, spec, artifacts) in DIR instead of a temporary folder removed at the end;
 * --half writes the base as its float16 export (weights stored half: docs/performance.md);
 * --precision trains at that `precision` (fp16 with dynamic loss scaling: skipped steps are counted).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel, toHalfExport } from '../examples/models/index.ts';
import { writeModel } from '../compiler/onnx/index.ts';
import { compileSpecFile, compileStructure, initialStructure } from '../compiler/compile.ts';
import { writeArtifacts, type WeightsCache } from '../compiler/emit/artifacts.ts';
import { mergedModule } from '../compiler/adapters/merge.ts';
import { Trainer } from '../runtime/trainer.ts';
import { nodeHost } from '../runtime/node-host.ts';
import { median, stepSeconds } from './measure.ts';
import { readTrainingLog } from '../runtime/log.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'bert' }, layers: { type: 'string', default: '12' }, d: { type: 'string', default: '768' },
    heads: { type: 'string', default: '12' }, ffn: { type: 'string', default: '3072' }, vocab: { type: 'string', default: '30522' },
    batch: { type: 'string', default: '8' }, seq: { type: 'string', default: '128' }, steps: { type: 'string', default: '5' },
    rank: { type: 'string', default: '8' }, threads: { type: 'string' }, target: { type: 'string', default: 'cpu' }, keep: { type: 'string' }, half: { type: 'boolean' }, precision: { type: 'string', default: 'fp32' },
  },
});
const n = (k: keyof typeof values) => Number(values[k]);
const arch = values.arch as 'bert' | 'gpt2';
if (!['fp32', 'fp16', 'bf16'].includes(values.precision!)) throw new Error(`--precision must be fp32, fp16 or bf16, got '${values.precision}'`);
if (values.target !== 'cpu' && values.target !== 'cuda') throw new Error(`--target must be cpu or cuda, got '${values.target}'`);
const target = values.target;
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'lor2c-bench-'));
mkdirSync(dir, { recursive: true });
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

try {
  let t0 = performance.now();
  const built = buildModel(arch, { layers: n('layers'), dModel: n('d'), heads: n('heads'), ffn: n('ffn'), vocabSize: n('vocab'), maxPositions: Math.max(n('seq'), 128) });
  writeModel(values.half ? toHalfExport(built.model) : built.model, join(dir, 'base.onnx'));
  console.log(`model     ${arch}, ${n('layers')} blocks, d ${n('d')}, vocab ${n('vocab')}: built and written in ${seconds(t0).toFixed(1)} s`);

  const task = arch === 'bert' ? 'classify(logits "logits", labels "label")' : 'lm(logits "logits", labels "input_ids")';
  writeFileSync(join(dir, 'bench.lor2c'), `model "base.onnx"\nlor2c {\n  rank ${n('rank')}\n  alpha ${2 * n('rank')}\n  dropout 0.1\n}\ntrain {\n  task ${task}\n  optimizer adamw(lr 4e-4)\n  schedule linear(warmup 6%)\n  batch ${n('batch')}\n  steps ${n('steps')}\n  precision ${values.precision}\n}\n`);
  t0 = performance.now();
  const result = compileSpecFile(join(dir, 'bench.lor2c'), { out: join(dir, 'artifacts'), target, force: values.keep !== undefined });
  const s = result.seconds;
  console.log(`compile   ${seconds(t0).toFixed(2)} s (read + locate ${s.prepare.toFixed(2)} s, adapters + autodiff + optimizer ${s.compile.toFixed(2)} s, write ${s.write.toFixed(2)} s); ${result.compiled.report.trainable.toLocaleString('en-US')} trainable parameters (${result.compiled.report.percent.toFixed(3)}%)`);
  const half = result.base.half;
  if (half.type) console.log(`precision base stored in ${half.type}: ${half.kept} weights (${mib(half.keptBytes)}) stay ${half.type}, cast by ORT at load; computed in float32`);
  console.log(`graphs    train ${result.compiled.graphs.stats.trainNodes} nodes (backward ${result.compiled.graphs.stats.backwardNodes})`);

  const rows = Array.from({ length: n('batch') * (n('steps') + 1) }, (_, i) => {
    const ids = Array.from({ length: n('seq') }, (_, j) => (i * 131 + j * 17) % n('vocab'));
    return arch === 'bert' ? { input_ids: ids, attention_mask: ids.map(() => 1), label: i % 2 } : { input_ids: ids };
  });
  writeFileSync(join(dir, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  const threads = values.threads ? Number(values.threads) : undefined;
  const trainer = await Trainer.open({ artifacts: join(dir, 'artifacts'), data: join(dir, 'data.jsonl'), steps: n('steps'), batchSize: n('batch'), progress: false, log: join(dir, 'log.jsonl'), session: { intraOpThreads: threads, target } }, nodeHost);
  t0 = performance.now();
  await trainer.run();
  const total = seconds(t0);
  const log = readTrainingLog(join(dir, 'log.jsonl'));
  const steps = stepSeconds(log);
  const step = median(steps);
  const tokens = n('batch') * n('seq');
  const skipped = log.filter((r) => r.type === 'skipped');
  if (values.precision !== 'fp32') console.log(`precision ${values.precision} training: ${skipped.length} steps skipped for fp16 overflow${skipped.length ? ` (loss scale now ${String(skipped.at(-1)!.loss_scale)})` : ''}`);
  console.log(`train     ${steps.length} steps of batch ${n('batch')} x seq ${n('seq')}: median ${(step * 1000).toFixed(0)} ms/step in ORT (first ${(steps[0]! * 1000).toFixed(0)} ms), ${(tokens / step).toFixed(0)} tokens/s; ${total.toFixed(2)} s with data and bookkeeping`);

  // A Merge at a scheduled point: the runtime recompiles the new structure from the prepared base.
  const plan = result.compiled.manifest.plan;
  const structure = initialStructure(plan, result.base);
  const [first, second] = structure.modules;
  if (!first || !second) console.log(`recompile not timed: a merge needs two LoR2C modules, this model has ${structure.modules.length}`);
  const merged = first && second ? { ...structure, modules: [mergedModule(first, second), ...structure.modules.slice(2)] } : undefined;
  // The runtime keeps one weights cache per run: the first recompile writes the frozen weights,
  // later ones link that file.
  const cache: WeightsCache = {};
  for (const which of ['first', 'second']) {
    if (!merged) break;
    t0 = performance.now();
    const recompiled = compileStructure(result.base, plan, merged);
    const compileSeconds = seconds(t0);
    t0 = performance.now();
    const { train, eval: evalModel, infer, update } = recompiled.graphs;
    writeArtifacts(join(dir, `merged-${which}`), { graphs: { train, eval: evalModel, infer, update }, manifest: recompiled.manifest, initial: recompiled.initial }, cache);
    console.log(`recompile ${(compileSeconds + seconds(t0)).toFixed(2)} s for a merge on ${n('layers')} blocks, ${which} of the run (compile ${compileSeconds.toFixed(2)} s, write ${seconds(t0).toFixed(2)} s)`);
  }
  console.log(`memory    peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
} finally {
  if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
}
