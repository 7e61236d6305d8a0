/**
 * lor2c against the PyTorch reference of docs/method.md (scripts/reference/lor2c_torch.py, fixtures in
 * spec/fixtures/reference/, conventions in the README there). What is checked here needs no
 * training pipeline:
 * - the exported ONNX models run in onnxruntime-node and give the logits torch recorded for the
 *   probe batch (both opsets of each model);
 * - the hand-written safetensors files read with lor2c's strict reader and hold the recorded values;
 * - sfs() gives the SFS torch recorded, from the recorded A and B (final values and the values at
 *   every Merge/Inject point), in both modes;
 * - chooseMerge / chooseInject make the recorded decisions from the recorded SFS (and from
 *   lor2c's own SFS of the recorded values);
 * - the injected LoRA's A' is lor2c's own seeded draw (initDown), which the script ported;
 * - compiler/adapters' rewrite of the exported model (blocks found by locate), with torch's final
 *   trained values put in, gives torch's final logits: outputs of LoR2C, ShareLoR2C, merged
 *   spans, injected LoRA and the LoRA baseline on the same weights.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sfs } from '../../compiler/adapters/sfs.ts';
import { chooseInject, chooseMerge } from '../../compiler/adapters/merge.ts';
import { initDown } from '../../compiler/adapters/init.ts';
import { applyAdapters, type AdapterStructure } from '../../compiler/adapters/apply.ts';
import { copyStructure, injectLora, mergeModules, moduleFactorValues, moduleParameterNames, pruneShareGroups } from '../../compiler/adapters/index.ts';
import { sitesFromBlocks } from '../../compiler/adapters/sites-from-blocks.ts';
import { float32Values } from '../../contract/safetensors.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';
import { modelFromProto, modelToProto } from '../../compiler/graph/index.ts';
import { locateBlocks } from '../../compiler/locate/index.ts';
import { DataType, encodeModel, makeTensor, readModel } from '../../compiler/onnx/index.ts';
import type { Lor2cModule, SfsMetric } from '../../contract/plan.ts';

ort.env.logLevel = 'error';

const DIR = fileURLToPath(new URL('../fixtures/reference/', import.meta.url));
const D = 32;

interface TensorJson { shape: number[]; values: number[] }
/** Each module's A and B parameter names at a point (shared tensors named by their group). */
type Names = Record<string, { A: string; B: string }>;
interface MergeEvent { step: number; type: 'merge'; names: Names; created: string[]; shared_kept: Record<string, string>; pair: [string, string]; merged: string; span: [number, number]; score: number; metric: SfsMetric; sfs: Record<string, number>; init_from: string[] }
interface InjectEvent { step: number; type: 'inject'; names: Names; removed: string; block: number; rank: number; metric: SfsMetric; sfs: Record<string, number>; seed: number; init: Record<string, TensorJson> }
type Event = MergeEvent | InjectEvent;
interface Scenario {
  scenario: string;
  model: string;
  also_matches: string;
  data: string;
  task: { kind: 'classify' | 'lm' };
  init: string;
  init_values: Record<string, TensorJson>;
  base_logits: TensorJson;
  adapters: { lor2c?: Array<{ id: string; span: [number, number]; rank: number; alpha: number }>; share?: { matrix: 'A' | 'B' | 'both'; members: string[]; names: string[] } | null };
  results: {
    loss: number[];
    events: Event[];
    sfs_per_step: Array<{ step: number; merge_sfs?: Record<string, number>; inject_sfs?: Record<string, number> }>;
    final: string;
    final_structure: {
      modules: Array<{ id: string; span: [number, number]; rank: number; alpha: number; merged: boolean; A: string; B: string }>;
      share: Array<{ share: 'A' | 'B' | 'both'; modules: string[] }>;
      lora: Array<{ id: string; block: number; role: 'q' | 'v'; rank: number; alpha: number }>;
    };
    final_logits: TensorJson;
    final_sfs: { mean: Record<string, number>; topk2: Record<string, number> };
    points?: string;
  };
}

const scenarios: Scenario[] = readdirSync(DIR)
  .filter((f) => /^[a-z]-[a-z0-9-]+\.json$/.test(f))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Scenario);

function tensors(file: string): Map<string, Float32Array> {
  const contents = readSafetensors(join(DIR, file));
  return new Map([...contents.tensors].map(([name, t]) => [name, float32Values(t, name)]));
}

/** The probe batch: the first 8 examples, right-padded as runtime/data/collate.ts does. */
function probeFeeds(dataFile: string, inputNames: readonly string[]): Record<string, ort.Tensor> {
  const rows = readFileSync(join(DIR, dataFile), 'utf8').trim().split('\n').slice(0, 8).map((l) => JSON.parse(l) as Record<string, number[]>);
  const width = Math.max(...rows.map((r) => r.input_ids!.length));
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of inputNames) {
    const data = new BigInt64Array(rows.length * width);
    rows.forEach((r, i) => r[name]!.forEach((v, j) => (data[i * width + j] = BigInt(v))));
    feeds[name] = new ort.Tensor('int64', data, [rows.length, width]);
  }
  return feeds;
}

function moduleOf(id: string, rank: number, alpha: number): Lor2cModule {
  const m = /^b(\d+)(?:_(\d+))?$/.exec(id);
  if (!m) throw new Error(`not a module id: ${id}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return { id, section: 'lor2c', span: [start, end], rank, alpha, dropout: 0, init: 'kaiming' };
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-30);
}

test('ten scenarios are recorded, every file they name exists, losses are float32 values', (t) => {
  t.deepEqual(scenarios.map((s) => s.scenario), ['a-lor2c', 'b-share', 'c-gpt2-lm', 'd-merge', 'e-imlor2c', 'f-lora', 'g-share-merge', 'h-share-b-merge', 'i-share-group-merge', 'j-share-both-merge']);
  const files = new Set(readdirSync(DIR));
  for (const s of scenarios) {
    for (const f of [s.model, s.data, s.init, s.results.final, s.results.points].filter((x): x is string => x !== undefined)) t.true(files.has(f), `${s.scenario}: ${f}`);
    for (const l of s.results.loss) t.is(Math.fround(l), l, `${s.scenario}: loss ${l} is a float32 value`);
  }
});

const models = [...new Set(scenarios.flatMap((s) => [s.model, s.also_matches.split(' ')[0]!]))].sort();
for (const model of models) {
  test(`${model} in onnxruntime-node gives the base logits torch recorded`, async (t) => {
    const s = scenarios.find((x) => x.model === model || x.also_matches.startsWith(model + ' '))!;
    const session = await ort.InferenceSession.create(join(DIR, model));
    try {
      const out = await session.run(probeFeeds(s.data, session.inputNames));
      const logits = out.logits!;
      t.deepEqual([...logits.dims], s.base_logits.shape);
      const got = logits.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - s.base_logits.values[i]!));
      t.log(`${model}: max |ORT - torch| = ${worst.toExponential(2)} over ${got.length} logits`);
      t.true(worst < 2e-5, `max abs difference ${worst}`);
    } finally {
      await session.release();
    }
  });
}

for (const s of scenarios) {
  test(`${s.scenario}: the init file reads with lor2c's reader and holds the recorded initial values`, (t) => {
    const init = tensors(s.init);
    t.deepEqual([...init.keys()].sort(), Object.keys(s.init_values).sort());
    for (const [name, v] of Object.entries(s.init_values)) t.deepEqual([...init.get(name)!], v.values.map(Math.fround), name);
    // docs/method.md §1: B starts at zero, A in U(-1/sqrt(d), 1/sqrt(d)).
    for (const [name, v] of init) {
      if (/^lor2c\..*\.B$|^lora\..*\.B$/.test(name)) t.true(v.every((x) => x === 0), `${name} is zero`);
      if (/^lor2c\..*\.A$|^lora\..*\.A$/.test(name)) t.true(v.every((x) => Math.abs(x) <= 1 / Math.sqrt(D)), `${name} within the kaiming bound`);
    }
  });

  if (s.results.final_structure.modules.length > 0) test(`${s.scenario}: sfs() of the final A and B equals torch's, mean and top-2`, (t) => {
    const final = tensors(s.results.final);
    let worst = 0;
    for (const m of s.results.final_structure.modules) {
      const A = final.get(m.A)!;
      const B = final.get(m.B)!;
      const mean = sfs(A, B, m.rank, D, { kind: 'mean' });
      const top2 = sfs(A, B, m.rank, D, { kind: 'topk', k: 2 });
      worst = Math.max(worst, relErr(mean, s.results.final_sfs.mean[m.id]!), relErr(top2, s.results.final_sfs.topk2[m.id]!));
    }
    t.log(`${s.scenario}: worst relative SFS difference ${worst.toExponential(2)} over ${s.results.final_structure.modules.length} modules`);
    t.true(worst < 1e-7, `relative difference ${worst}`);
  });
}

for (const s of scenarios.filter((x) => x.results.events.length > 0)) {
  test(`${s.scenario}: SFS at each point and the Merge/Inject decisions match torch's`, (t) => {
    const points = tensors(s.results.points!);
    const base = s.adapters.lor2c![0]!;
    let modules = s.adapters.lor2c!.map((m) => moduleOf(m.id, m.rank, m.alpha));
    const merged = new Set<string>();
    for (const e of s.results.events) {
      // Every module's SFS at the point, from the values torch had then, under the event's metric.
      const lor2cScores = new Map<string, number>();
      const candidates = e.type === 'merge' ? modules : modules.filter((m) => e.sfs[m.id] !== undefined);
      for (const m of candidates) {
        const A = points.get(`step${e.step}:${e.names[m.id]?.A}`)!;
        const B = points.get(`step${e.step}:${e.names[m.id]?.B}`)!;
        t.truthy(A && B, `step ${e.step}: ${m.id}'s values are recorded`);
        const got = sfs(A, B, m.rank, D, e.metric);
        t.true(relErr(got, e.sfs[m.id]!) < 1e-7, `step ${e.step} ${m.id}: sfs ${got} vs torch ${e.sfs[m.id]}`);
        lor2cScores.set(m.id, got);
      }
      const recorded = new Map(Object.entries(e.sfs));
      if (e.type === 'merge') {
        for (const scores of [recorded, lor2cScores]) {
          const choice = chooseMerge(modules, scores);
          t.truthy(choice, `step ${e.step}: a pair to merge`);
          t.deepEqual([choice!.first.id, choice!.second.id], e.pair, `step ${e.step}: merged pair`);
          t.is(choice!.merged.id, e.merged);
          t.deepEqual(choice!.merged.span, e.span);
          t.true(relErr(choice!.score, e.score) < 1e-7);
        }
        modules = [...modules.filter((m) => m.id !== e.pair[0] && m.id !== e.pair[1]), moduleOf(e.merged, base.rank, base.alpha)];
        merged.add(e.merged);
      } else {
        for (const scores of [recorded, lor2cScores]) t.is(chooseInject(modules, scores, merged)?.id, e.removed, `step ${e.step}: injected module`);
        modules = modules.filter((m) => m.id !== e.removed);
        // The injected A' is lor2c's own seeded draw: the runtime can create it without extra input.
        for (const [name, v] of Object.entries(e.init)) {
          t.deepEqual([...initDown('kaiming', e.rank, D, e.seed, name)], v.values.map(Math.fround), `${name} = initDown('kaiming', ${e.rank}, ${D}, ${e.seed}, '${name}')`);
        }
      }
    }
    t.deepEqual(modules.map((m) => m.id).sort(), s.results.final_structure.modules.map((m) => m.id).sort(), 'the structure at the end');
  });

  test(`${s.scenario}: lor2c's structure edits over torch's decisions give torch's tensors: names, share groups, created ones and their values`, (t) => {
    const points = tensors(s.results.points!);
    const share = s.adapters.share;
    let structure = copyStructure({
      modules: s.adapters.lor2c!.map((m) => moduleOf(m.id, m.rank, m.alpha)),
      share: share ? [{ share: share.matrix, modules: share.members }] : [],
      lora: [],
    });
    let pointStep = -1;
    for (const e of s.results.events) {
      // Names at the point, before its changes (a merge and an injection at one step share them).
      if (e.step !== pointStep) t.deepEqual(Object.fromEntries(moduleParameterNames(structure)), e.names, `step ${e.step}: parameter names at the point`);
      pointStep = e.step;
      if (e.type !== 'merge') {
        const victim = structure.modules.find((m) => m.id === e.removed)!;
        structure = injectLora(structure, victim, { metric: e.metric, every: { count: 1, unit: 'steps' }, everyDerived: false, until: 1, targets: [{ kind: 'role', role: 'q' }, { kind: 'role', role: 'v' }] }).structure;
      } else {
        const values = moduleFactorValues(structure, (name) => points.get(`step${e.step}:${name}`));
        const first = structure.modules.find((m) => m.id === e.pair[0])!, second = structure.modules.find((m) => m.id === e.pair[1])!;
        const edited = mergeModules(structure, { first, second, merged: moduleOf(e.merged, first.rank, first.alpha), score: e.score }, values, 'first', D);
        t.deepEqual([...edited.created.keys()].sort(), [...(e.created ?? [])].sort(), `step ${e.step}: tensors the merge creates`);
        // torch's merged tensors start as copies of m1's factors (init_from names them at the point).
        for (const [name, v] of edited.created) t.deepEqual(v, points.get(`step${e.step}:${e.init_from[name.endsWith('.A') ? 0 : 1]}`), `${name} starts from m1's value`);
        structure = edited.structure;
      }
      structure = pruneShareGroups(structure).structure;
    }
    const fs = s.results.final_structure;
    t.deepEqual(structure.share, fs.share, 'share groups at the end');
    t.deepEqual(Object.fromEntries(moduleParameterNames(structure)), Object.fromEntries(fs.modules.map((m) => [m.id, { A: m.A, B: m.B }])), 'parameter names at the end');
  });

  test(`${s.scenario}: the SFS logged after every step is consistent with the decisions`, (t) => {
    for (const e of s.results.events) {
      const logged = s.results.sfs_per_step.find((x) => x.step === e.step)!;
      t.deepEqual(e.type === 'merge' ? logged.merge_sfs : logged.inject_sfs, e.sfs);
    }
  });
}

for (const s of scenarios) {
  for (const model of [s.model, s.also_matches.split(' ')[0]!]) {
    test(`${s.scenario}: lor2c's adapter rewrite of ${model} with torch's final values gives torch's final logits`, async (t) => {
      const m = modelFromProto(readModel(join(DIR, model)));
      const sites = sitesFromBlocks(locateBlocks(m));
      const fs = s.results.final_structure;
      const structure: AdapterStructure = {
        modules: fs.modules.map((x) => ({ ...moduleOf(x.id, x.rank, x.alpha), span: x.span })),
        share: fs.share,
        lora: fs.lora.map((x) => ({ section: 'lora', block: x.block, target: { kind: 'role', role: x.role }, rank: x.rank, alpha: x.alpha, dropout: 0, init: 'kaiming' })),
      };
      const applied = applyAdapters(m, sites, structure, { seed: 42 });
      const final = tensors(s.results.final);
      const adapterNames = applied.parameters.map((p) => p.name).sort();
      t.deepEqual(adapterNames, [...final.keys()].filter((n) => n.startsWith('lor2c.') || n.startsWith('lora.')).sort(), 'parameter names');
      for (const [name, values] of final) {
        const known = m.graph.initializers.get(name);
        t.truthy(known, `'${name}' is an initializer of the adapted model`);
        m.graph.initializers.set(name, makeTensor(name, DataType.FLOAT, known!.dims.map(Number), values));
      }
      const session = await ort.InferenceSession.create(encodeModel(modelToProto(m)));
      try {
        const out = await session.run(probeFeeds(s.data, session.inputNames));
        const got = out.logits!.data as Float32Array;
        t.deepEqual([...out.logits!.dims], s.results.final_logits.shape);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - s.results.final_logits.values[i]!));
        t.log(`${s.scenario} on ${model}: max |lor2c - torch| = ${worst.toExponential(2)} over ${got.length} logits`);
        t.true(worst < 2e-5, `max abs difference ${worst}`);
        // The comparison can fail: the trained adapters moved the logits far beyond the tolerance.
        let moved = 0;
        for (let i = 0; i < got.length; i++) moved = Math.max(moved, Math.abs(s.results.final_logits.values[i]! - s.base_logits.values[i]!));
        t.true(moved > 1e-3, `training moved the logits by ${moved} only`);
      } finally {
        await session.release();
      }
    });
  }
}
