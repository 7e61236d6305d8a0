/**
 * The methods compared on the quickstart's task: head-only, LoRA (q, v), LoR2C, ShareLoR2C,
 * MergeLoR2C, InjectLoR2C, IMLoR2C and full fine-tuning, each over three seeds, on the same base
 * model, data and training length. Every run is plain `lor2c` commands (compile, train, eval);
 * the table of trainable parameters, test accuracy and F1 (mean +- sd over the seeds), step time
 * and wall time is written between the markers of examples/spam/README.md.
 *
 *   npx tsx examples/spam/methods.ts [--out DIR] [--seeds 1,2,3] [--methods lora,lor2c,...] [--no-readme]
 *
 * DIR defaults to out/quickstart: the base model (the pretrained encoder under a new head) and
 * the data come from the quickstart (run first when DIR lacks them); the text is read with the
 * encoder's tokenizer. The held-out split (eval.jsonl) is used once per run, after training,
 * on the last checkpoint: no run selects anything on it, so it serves as the test set.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readTrainingLog } from '../../runtime/index.ts';

/** One method: its spec sections (besides `train`), and the training settings it changes. */
interface Method {
  id: string;
  name: string;
  sections: string;
  trainable: string;
  lr: string;
}

const LOR2C = 'lor2c {\n  rank 8\n  alpha 16\n  dropout 0.1\n}';
const MERGE = 'merge {\n  metric mean\n  every 1 epoch\n  max 2\n  until 70%\n  init first\n}';
const INJECT = 'inject {\n  metric topk 1\n  every 1 epoch\n  max 1\n  until 70%\n  on q, v\n}';
// The base's head (pooler and classifier) is new: every method but full fine-tuning trains it.
const HEAD = 'trainable "pooler.*" lr_scale 0.5\n  trainable "classifier.*" lr_scale 0.5';

// One recipe for every parameter-efficient method (the quickstart's LoR2C settings); full
// fine-tuning trains every weight at the base model's own learning rate.
const METHODS: Method[] = [
  { id: 'head', name: 'head only', sections: '', trainable: 'trainable "pooler.*"\n  trainable "classifier.*"', lr: '1e-2' },
  { id: 'lora', name: 'LoRA (q, v), r 8', sections: 'lora {\n  on q, v\n  rank 8\n  alpha 16\n  dropout 0.1\n}', trainable: HEAD, lr: '1e-2' },
  { id: 'lor2c', name: 'LoR2C, r 8', sections: LOR2C, trainable: HEAD, lr: '1e-2' },
  { id: 'share', name: 'ShareLoR2C (A shared)', sections: `${LOR2C}\nshare A across all`, trainable: HEAD, lr: '1e-2' },
  { id: 'merge', name: 'MergeLoR2C', sections: `${LOR2C}\n${MERGE}`, trainable: HEAD, lr: '1e-2' },
  { id: 'inject', name: 'InjectLoR2C', sections: `${LOR2C}\n${INJECT}`, trainable: HEAD, lr: '1e-2' },
  { id: 'imlor2c', name: 'IMLoR2C', sections: `${LOR2C}\n${MERGE}\n${INJECT}`, trainable: HEAD, lr: '1e-2' },
  { id: 'full', name: 'full fine-tuning', sections: '', trainable: 'trainable "*"', lr: '1e-3' },
];

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'out/quickstart' },
    seeds: { type: 'string', default: '1,2,3' },
    methods: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const out = values.out!;
const seeds = values.seeds!.split(',').map(Number);
const chosen = values.methods ? values.methods.split(',') : METHODS.map((m) => m.id);
const unknown = chosen.filter((id) => !METHODS.some((m) => m.id === id));
if (unknown.length) throw new Error(`unknown method ${unknown.join(', ')}: one of ${METHODS.map((m) => m.id).join(', ')}`);

/** Runs one lor2c command; its progress lines are kept out of the way unless it fails. */
function lor2c(args: string[]): string {
  try {
    return execFileSync(process.execPath, ['bin/lor2c.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`lor2c ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

if (!existsSync(join(out, 'base.onnx')) || !existsSync(join(out, 'data', 'train.jsonl'))) {
  console.log(`${out} lacks the quickstart's base model or data: running the quickstart first`);
  execFileSync('bash', ['examples/spam/quickstart.sh'], { stdio: 'inherit', env: { ...process.env, OUT: out } });
}

function spec(m: Method, seed: number): string {
  return `# ${m.name}, seed ${seed} (written by examples/spam/methods.ts)
model "${resolve(out, 'base.onnx')}"
blocks auto
${m.sections}
text {
  tokenizer "${join(process.cwd(), 'examples', 'pretrain', 'encoder', 'tokenizer.json')}"
  max_length 64
  labels ["ham", "spam"]
}
train {
  task classify(logits "logits", labels "label")
  ${m.trainable}
  optimizer adamw(lr ${m.lr}, weight_decay 0.01)
  schedule linear(warmup 6%)
  batch 32
  epochs 3
  seed ${seed}
}
`;
}

interface Run { trainable: number; trainableEnd: number; accuracy: number; f1: number; stepSeconds: number; wallSeconds: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function runOnce(m: Method, seed: number): Run {
  const dir = join(out, 'methods', `${m.id}-seed${seed}`);
  mkdirSync(dir, { recursive: true });
  const specPath = join(dir, 'spec.lor2c');
  writeFileSync(specPath, spec(m, seed));
  const started = performance.now();
  lor2c(['compile', specPath, '--out', join(dir, 'artifacts'), '--force']);
  const log = join(dir, 'train-log.jsonl');
  lor2c(['train', join(dir, 'artifacts'), '--data', join(out, 'data', 'train.jsonl'), '--checkpoint', join(dir, 'checkpoints'), '--log', log]);
  const wallSeconds = (performance.now() - started) / 1000;
  const metrics = JSON.parse(lor2c(['eval', join(dir, 'artifacts'), '--data', join(out, 'data', 'eval.jsonl'), '--checkpoint', join(dir, 'checkpoints'), '--json'])).metrics;
  const records = readTrainingLog(log);
  const trainable = Number(records.find((r) => r.type === 'header')?.trainable);
  const steps = records.filter((r) => r.type === 'step');
  // After a merge or an injection the trainable count changes: the last structural record has it.
  const changes = records.filter((r) => r.type !== 'header' && typeof r.parameters === 'number');
  return {
    trainable,
    trainableEnd: changes.length ? Number(changes[changes.length - 1]!.parameters) : trainable,
    accuracy: metrics.accuracy,
    f1: metrics.f1,
    stepSeconds: median(steps.map((s) => Number(s.seconds))),
    wallSeconds,
  };
}

const meanSd = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
};
const pct = (xs: number[]) => { const { mean, sd } = meanSd(xs.map((x) => 100 * x)); return `${mean.toFixed(1)} ± ${sd.toFixed(1)}`; };
const dec = (xs: number[]) => { const { mean, sd } = meanSd(xs); return `${mean.toFixed(3)} ± ${sd.toFixed(3)}`; };

const rows: string[] = [];
for (const id of chosen) {
  const m = METHODS.find((x) => x.id === id)!;
  const runs = seeds.map((seed) => {
    process.stdout.write(`${m.name}, seed ${seed}: `);
    const r = runOnce(m, seed);
    console.log(`accuracy ${r.accuracy.toFixed(4)}, f1 ${r.f1.toFixed(4)}, ${r.trainable} -> ${r.trainableEnd} trainable, ${(r.stepSeconds * 1000).toFixed(1)} ms/step, ${r.wallSeconds.toFixed(1)} s`);
    return r;
  });
  const start = runs[0]!.trainable, ends = [...new Set(runs.map((r) => r.trainableEnd))];
  const params = ends.length === 1 && ends[0] === start ? `${start}` : `${start} → ${ends.join(' / ')}`;
  rows.push(`| ${m.name} | ${params} | ${pct(runs.map((r) => r.accuracy))} | ${dec(runs.map((r) => r.f1))} | ${(1000 * median(runs.map((r) => r.stepSeconds))).toFixed(1)} | ${median(runs.map((r) => r.wallSeconds)).toFixed(1)} |`);
}

const table = [
  `Seeds ${seeds.join(', ')}; \`npx tsx examples/spam/methods.ts\` (${new Date().toISOString().slice(0, 10)}, ${process.platform}, Node ${process.version}).`,
  '',
  '| method | trainable parameters | test accuracy % | test F1 | step ms (median) | wall s (compile + train) |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(`\n${table}`);

if (!values['no-readme'] && !values.methods) {
  const readme = 'examples/spam/README.md';
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- methods:begin -->', end = '<!-- methods:end -->';
  const at = text.indexOf(begin), to = text.indexOf(end);
  if (at < 0 || to < at) throw new Error(`${readme} lacks the ${begin} ... ${end} markers`);
  writeFileSync(readme, `${text.slice(0, at + begin.length)}\n${table}\n${text.slice(to)}`);
  console.log(`\nwrote the table into ${readme}`);
}
