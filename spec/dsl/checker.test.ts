/** Plan contents for good specs: defaults, expansion, symbolic selections and their resolution. */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, hasErrors, readSpec, resolveBlocks, resolvePlan, type Plan } from '../../dsl/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const examplesDir = path.join(here, '..', '..', 'examples', 'specs');

function planOf(text: string, file = 'specs/x.lor2c', facts?: Parameters<typeof checkSpec>[2]): Plan {
  const r = checkSpec(text, file, facts);
  if (!r.plan) throw new Error(r.diagnostics.map((d) => `${d.range.line}:${d.range.col} ${d.message}`).join('\n'));
  return r.plan;
}

for (const name of readdirSync(examplesDir).filter((f) => f.endsWith('.lor2c'))) {
  test(`example ${name} checks clean, also against a 12-block model`, (t) => {
    const text = readFileSync(path.join(examplesDir, name), 'utf8');
    const r = checkSpec(text, name);
    t.deepEqual(r.diagnostics, []);
    t.truthy(r.plan);
    const withModel = checkSpec(text, name, { blockCount: 12, hidden: Array(13).fill(768), projections: ['q', 'k', 'v', 'o', 'up', 'down'] });
    t.deepEqual(withModel.diagnostics, []);
    t.is(withModel.plan?.modules?.length !== undefined, true);
  });
}

test('an empty lor2c section means the paper defaults on every block', (t) => {
  const plan = planOf('lor2c\n');
  t.deepEqual(plan.lor2c, [{ name: 'lor2c', blocks: { every: 1 }, span: 1, rank: 8, alpha: 16, dropout: 0.1, init: 'kaiming', overrides: [] }]);
  t.is(plan.modules, undefined, 'all blocks: unknown without a model');
  t.deepEqual(plan.train.optimizer, { kind: 'adamw', lr: 4e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  t.deepEqual(plan.train.schedule, { kind: 'linear', warmup: { unit: 'fraction', fraction: 0.06 } });
  t.deepEqual(plan.target, { device: 'cpu' });
  t.deepEqual(plan.blocks, { kind: 'auto' });
});

test('ModelFacts expand modules with overrides; ids name the span', (t) => {
  const plan = planOf('lor2c {\n  span 2\n  override blocks -2..-1 { rank 16; alpha 32 }\n}\n', 's.lor2c', { blockCount: 6 });
  t.deepEqual(
    plan.modules?.map((m) => [m.id, m.span, m.rank, m.alpha]),
    [
      ['b0_1', [0, 1], 8, 16],
      ['b2_3', [2, 3], 8, 16],
      ['b4_5', [4, 5], 16, 32],
    ],
  );
});

test('explicit indices expand without a model; static merges are applied', (t) => {
  const plan = planOf('lor2c { blocks 0..5 }\nmerge { static 0..1, 3..5; init svd }\n');
  t.deepEqual(
    plan.modules?.map((m) => m.id),
    ['b0_1', 'b2', 'b3_5'],
  );
  t.deepEqual(plan.merge, { static: [{ from: 0, to: 1 }, { from: 3, to: 5 }], init: 'svd' });
});

test('resolveBlocks: all, every, negatives, lists', (t) => {
  t.deepEqual(resolveBlocks({ every: 1 }, 4), [0, 1, 2, 3]);
  t.deepEqual(resolveBlocks({ every: 2 }, 5), [0, 2, 4]);
  t.deepEqual(resolveBlocks({ ranges: [{ from: -3, to: -1 }], every: 1 }, 12), [9, 10, 11]);
  t.deepEqual(resolveBlocks({ ranges: [{ from: 1, to: 7 }], every: 3 }, 12), [1, 4, 7]);
  t.deepEqual(resolveBlocks({ ranges: [{ from: 0, to: 2 }, { from: 1, to: 1 }, { from: 20, to: 20 }], every: 1 }, 12), [0, 1, 2]);
});

test('resolvePlan: LoRA sites per block and share groups by module id', (t) => {
  const plan = planOf('lor2c a { blocks every 2 }\nlora { on q, "h.{i}.mlp.c_fc", "lm_head"; blocks -1; override blocks -1 { rank 4 } }\nshare both across a\n');
  const { resolved, problems } = resolvePlan(plan, 4);
  t.deepEqual(problems, []);
  t.deepEqual(
    resolved.modules.map((m) => m.id),
    ['b0', 'b2'],
  );
  t.deepEqual(resolved.share, [{ share: 'both', modules: ['b0', 'b2'] }]);
  t.deepEqual(
    resolved.lora.map((s) => [s.block, s.target.kind === 'role' ? s.target.role : s.target.pattern, s.rank]),
    [
      [3, 'q', 4],
      [3, 'h.{i}.mlp.c_fc', 4],
      [undefined, 'lm_head', 8],
    ],
  );
});

test('train settings: task, trainable, optimizer, schedule, loop', (t) => {
  const plan = planOf(`lor2c
train {
  task lm(logits "out", labels "ids", ignore_index 0, shift false)
  trainable "lm_head.*" lr_scale 0.1
  optimizer sgd(lr 0.1, momentum 0.9, nesterov true, weight_decay 1e-4)
  schedule cosine(warmup 200 steps)
  clip 1.0
  batch 4
  accumulate 8
  steps 2000
  eval every 100 steps
  seed 7
  precision fp16
}
target cuda`);
  t.deepEqual(plan.train, {
    task: { kind: 'lm', logits: 'out', labels: 'ids', ignoreIndex: 0, shift: false },
    trainable: [{ pattern: 'lm_head.*', lrScale: 0.1 }],
    optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 },
    schedule: { kind: 'cosine', warmup: { unit: 'steps', count: 200 } },
    clipNorm: 1,
    batch: 4,
    accumulate: 8,
    length: { count: 2000, unit: 'steps' },
    evalEvery: { count: 100, unit: 'steps' },
    seed: 7,
    precision: 'fp16',
    lossScale: { initial: 65536, growthInterval: 2000 },
  });
  t.deepEqual(plan.target, { device: 'cuda' });
});

test('precision: bf16 without scaling; fp16 loss scaling settings; settings on bf16 refused', (t) => {
  t.is(planOf('lor2c\ntrain { precision bf16 }\n').train.precision, 'bf16');
  t.is(planOf('lor2c\ntrain { precision bf16 }\n').train.lossScale, undefined);
  t.is(planOf('lor2c\ntrain { precision fp32 }\n').train.lossScale, undefined);
  t.deepEqual(planOf('lor2c\ntrain { precision fp16(loss_scale 1024, growth 100) }\n').train.lossScale, { initial: 1024, growthInterval: 100 });
  const bad = checkSpec('lor2c\ntrain { precision bf16(loss_scale 1024) }\n', 'x.lor2c');
  t.true(hasErrors(bad.diagnostics));
  t.regex(bad.diagnostics.map((d) => `${d.message} ${d.hint ?? ''}`).join('\n'), /takes no settings.*needs no loss scaling/);
  const zero = checkSpec('lor2c\ntrain { precision fp16(growth 0) }\n', 'x.lor2c');
  t.true(hasErrors(zero.diagnostics));
});

test('merge schedule derives its interval from max as the GLUE script does', (t) => {
  const plan = planOf('lor2c\nmerge { max 4 }\ntrain { epochs 30 }\n');
  t.deepEqual(plan.merge?.schedule, { metric: { kind: 'mean' }, every: { count: 2, unit: 'epochs' }, everyDerived: true, until: 1, max: 4 });
});

test('inject defaults: q and v, rank absent (half the module rank)', (t) => {
  const plan = planOf('lor2c\ninject { every 1 epoch; metric topk 2 }\ntrain { epochs 4 }\n');
  t.deepEqual(plan.inject, {
    metric: { kind: 'topk', k: 2 },
    every: { count: 1, unit: 'epochs' },
    everyDerived: false,
    until: 1,
    targets: [
      { kind: 'role', role: 'q' },
      { kind: 'role', role: 'v' },
    ],
  });
});

test('lets are substituted, including words and lists', (t) => {
  const plan = planOf('let r = 16\nlet deep = -4..-1\nlet mode = mean\nlor2c { rank r; alpha r; blocks deep }\nmerge { metric mode; every 1 epoch }\ntrain { epochs 4 }\n');
  t.is(plan.lor2c[0]!.rank, 16);
  t.deepEqual(plan.lor2c[0]!.blocks, { ranges: [{ from: -4, to: -1 }], every: 1 });
  t.deepEqual(plan.merge?.schedule?.metric, { kind: 'mean' });
});

test('model path is resolved against the spec folder', (t) => {
  t.is(planOf('model "m.onnx"\nlor2c', 'a/b/spec.lor2c').model, path.join('a/b', 'm.onnx'));
  t.is(planOf('model "/abs/m.onnx"\nlor2c', 'a/spec.lor2c').model, '/abs/m.onnx');
});

test('the plan is plain JSON', (t) => {
  const plan = planOf(readFileSync(path.join(examplesDir, 'imlor2c.lor2c'), 'utf8'));
  t.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
});

test('warnings do not withhold the plan; errors do', (t) => {
  const warn = checkSpec('let unused = 1\nlor2c\n', 'w.lor2c');
  t.false(hasErrors(warn.diagnostics));
  t.is(warn.diagnostics.length, 1);
  t.truthy(warn.plan);
  const err = checkSpec('lor2c { rank 0 }\n', 'e.lor2c');
  t.is(err.plan, undefined);
});

test('a spec read once checks with and without facts as checkSpec does; checking leaves the reading unchanged', (t) => {
  const text = 'lor2c { blocks 0..3 }\nmerge { static 0..1 }\n';
  const facts = { blockCount: 6, hidden: Array(7).fill(16), projections: ['q', 'v'] };
  const spec = readSpec(text, 'specs/x.lor2c');
  const before = JSON.stringify(spec.plan);
  t.is(spec.plan?.modules, undefined, 'the plan as read has no layout yet');
  const withFacts = spec.check(facts);
  t.deepEqual(withFacts, checkSpec(text, 'specs/x.lor2c', facts));
  t.deepEqual(spec.check(), checkSpec(text, 'specs/x.lor2c'));
  t.is(JSON.stringify(spec.plan), before);
  // The layout the rules checked is the one the plan holds and the one resolvePlan gives.
  t.deepEqual(withFacts.layout?.modules, withFacts.plan?.modules);
  t.deepEqual(withFacts.plan?.modules?.map((m) => m.id), ['b0_1', 'b2', 'b3']);
  t.deepEqual(resolvePlan(withFacts.plan!, 6, undefined, withFacts.layout).resolved, resolvePlan(withFacts.plan!, 6).resolved);
});

test('task classify(positive ...): a label name or a class id; absent, the plan names none (class id 1)', (t) => {
  t.deepEqual(planOf('lor2c\ntrain { task classify(logits "logits", labels "label", positive "spam") }\n').train.task, { kind: 'classify', logits: 'logits', labels: 'label', positive: 'spam' });
  t.deepEqual(planOf('lor2c\ntrain { task classify(positive 0) }\n').train.task, { kind: 'classify', logits: 'logits', labels: 'labels', positive: 0 });
  t.deepEqual(planOf('lor2c\nlet p = "junk"\ntrain { task classify(positive p) }\n').train.task, { kind: 'classify', logits: 'logits', labels: 'labels', positive: 'junk' });
  t.deepEqual(planOf('lor2c\ntrain { task classify(labels "label") }\n').train.task, { kind: 'classify', logits: 'logits', labels: 'label' });
});

test('task classify(positive ...) refuses a value that is no class, at the value', (t) => {
  const cases: [string, RegExp][] = [
    ['positive -1', /positive must be at least 0, got -1/],
    ['positive 1.5', /positive must be a whole number, got 1\.5/],
    ['positive ""', /positive is empty/],
    ['positive spam', /`spam` is not defined|positive must be a string in double quotes/],
    ['positive', /`positive` needs a value: a label name in quotes or a class id/],
  ];
  for (const [arg, message] of cases) {
    const r = checkSpec(`lor2c\ntrain {\n  task classify(labels "label", ${arg})\n}\n`, 's.lor2c');
    t.true(hasErrors(r.diagnostics), arg);
    const d = r.diagnostics.find((x) => message.test(x.message));
    t.truthy(d, `${arg}: ${r.diagnostics.map((x) => x.message).join(' | ')}`);
    t.is(d?.range.line, 3, arg);
    // The value starts at column 42 (`positive` at 33): a missing value is reported at the key.
    t.is(d?.range.col, arg === 'positive' ? 33 : 42, arg);
  }
});
