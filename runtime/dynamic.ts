/**
 * Dynamic MergeLoR2C / InjectLoR2C / IMLoR2C (docs/method.md sections 3 to 6) as the trainer's
 * structural hook. At each scheduled point: SFS of every module from its current A and B
 * (the O(d r^2) way), the decision, a recompile of the new structure from the prepared base
 * model, and the parameters carried over. Surviving parameters keep their optimizer state;
 * a merged module and injected LoRA start with fresh state, and are trained from then on.
 */
import { join } from 'node:path';
import type { Plan, SfsMetric, Lor2cModule, Interval } from '../dsl/plan.ts';
import { compileStructure, type PreparedBase } from '../compiler/compile.ts';
import { writeArtifacts, type WeightsCache } from '../compiler/emit/artifacts.ts';
import type { Manifest } from '../compiler/emit/manifest.ts';
import type { AdapterStructure } from '../compiler/adapters/apply.ts';
import { sfs } from '../compiler/adapters/sfs.ts';
import { chooseInject, chooseMerge, mergedValues, type ModuleValues } from '../compiler/adapters/merge.ts';
import type { Float32Tensor } from './checkpoint.ts';
import type { StructuralContext, StructuralChange, StructuralHook } from './trainer.ts';

export interface DynamicOptions {
  base: PreparedBase;
  plan: Plan;
  /** Optimizer updates of the whole run. */
  totalSteps: number;
  stepsPerEpoch: number;
  /** Where recompiled artifacts go: `<root>/step-<n>`. */
  root: string;
}

/** Steps after which a schedule fires: every, 2*every, ... up to `until` of the run, at most `max`. */
export function schedulePoints(every: Interval, until: number, max: number | undefined, totalSteps: number, stepsPerEpoch: number): number[] {
  const interval = every.unit === 'steps' ? every.count : every.count * stepsPerEpoch;
  const points: number[] = [];
  if (interval <= 0) return points;
  for (let s = interval; s <= until * totalSteps + 1e-9 && s < totalSteps; s += interval) {
    if (max !== undefined && points.length >= max) break;
    points.push(s);
  }
  return points;
}

/**
 * The GLUE script's interval, floor(E / 4 / M) + 1 (in the schedule's unit), recomputed from
 * this run's real length E, since --steps / --epochs may differ from the spec's.
 */
export function derivedInterval(every: Interval, max: number | undefined, totalSteps: number, stepsPerEpoch: number): Interval {
  if (max === undefined || max <= 0) return every;
  const length = every.unit === 'epochs' ? Math.floor(totalSteps / Math.max(1, stepsPerEpoch)) : totalSteps;
  return { unit: every.unit, count: Math.floor(length / 4 / max) + 1 };
}

/** The hook, or undefined when the plan schedules neither merges nor injections. */
export function dynamicAdapters(opts: DynamicOptions): StructuralHook | undefined {
  const { plan } = opts;
  const points = (s: { every: Interval; everyDerived: boolean; until: number; max?: number }) =>
    new Set(schedulePoints(s.everyDerived ? derivedInterval(s.every, s.max, opts.totalSteps, opts.stepsPerEpoch) : s.every, s.until, s.max, opts.totalSteps, opts.stepsPerEpoch));
  const mergeAt = plan.merge?.schedule ? points(plan.merge.schedule) : new Set<number>();
  // Every recompile holds the same frozen weights: the first writes them, the rest link that file.
  const weights: WeightsCache = {};
  const injectAt = plan.inject ? points(plan.inject) : new Set<number>();
  if (mergeAt.size === 0 && injectAt.size === 0) return undefined;
  return (ctx) => {
    const merge = mergeAt.has(ctx.step);
    const inject = injectAt.has(ctx.step);
    if (!merge && !inject) return undefined;
    return restructure(opts, ctx, merge, inject, weights);
  };
}

/** Current A [r, d] and B [d, r] of each module, through the manifest's parameter table (shared tensors included). */
function moduleValues(manifest: Manifest, structure: AdapterStructure, params: ReadonlyMap<string, Float32Tensor>): Map<string, ModuleValues & { aName: string; bName: string }> {
  const out = new Map<string, ModuleValues & { aName: string; bName: string }>();
  const shared = new Map<string, string>();
  structure.share.forEach((g, i) => {
    for (const m of ['A', 'B']) if (g.share === 'both' || g.share === m) for (const id of g.modules) shared.set(`${id}.${m}`, `lor2c.shared${i}.${m}`);
  });
  for (const m of structure.modules) {
    const aName = shared.get(`${m.id}.A`) ?? `lor2c.${m.id}.A`;
    const bName = shared.get(`${m.id}.B`) ?? `lor2c.${m.id}.B`;
    const A = params.get(aName), B = params.get(bName);
    if (!A || !B) throw new Error(`internal error: no parameters ${aName} / ${bName} for module ${m.id} in ${manifest.parameters.length} parameters`);
    out.set(m.id, { A: A.data, B: B.data, aName, bName });
  }
  return out;
}

function scoresOf(values: Map<string, ModuleValues>, modules: Lor2cModule[], d: number, metric: SfsMetric): Map<string, number> {
  return new Map(modules.map((m) => [m.id, sfs(values.get(m.id)!.A, values.get(m.id)!.B, m.rank, d, metric)]));
}

function restructure(opts: DynamicOptions, ctx: StructuralContext, merge: boolean, inject: boolean, weights: WeightsCache): StructuralChange | undefined {
  const { plan, base } = opts;
  const d = base.blocks.hidden;
  const before = ctx.manifest.structure as AdapterStructure & { merged?: string[] };
  const values = moduleValues(ctx.manifest, before, ctx.parameters);
  // IMLoR2C: one SFS snapshot decides both (docs/method.md section 6).
  const metric = plan.merge?.schedule?.metric ?? plan.inject?.metric ?? { kind: 'mean' };
  const scores = scoresOf(values, before.modules, d, metric);
  const injectScores = plan.inject && plan.inject.metric !== metric ? scoresOf(values, before.modules, d, plan.inject.metric) : scores;
  const structure: AdapterStructure & { merged: string[] } = { modules: [...before.modules], share: before.share.map((g) => ({ ...g, modules: [...g.modules] })), lora: [...before.lora], merged: [...(before.merged ?? [])] };
  const fresh = new Map<string, Float32Array>();
  const event: StructuralChange['event'] & { type: string } = { type: merge && inject ? 'merge+inject' : merge ? 'merge' : 'inject', sfs: Object.fromEntries(scores) };

  if (merge) {
    const choice = chooseMerge(structure.modules, scores, plan.merge!.schedule!.maxSpan);
    if (choice) {
      const { first, second, merged } = choice;
      structure.modules = structure.modules.filter((m) => m !== first && m !== second).concat(merged).sort((a, b) => a.span[0] - b.span[0]);
      for (const g of structure.share) {
        if (!g.modules.includes(first.id)) continue;
        g.modules = g.modules.filter((id) => id !== first.id && id !== second.id).concat(merged.id);
      }
      structure.merged.push(merged.id);
      const v1 = values.get(first.id)!, v2 = values.get(second.id)!;
      const sharedA = v1.aName === v2.aName && v1.aName.includes('.shared');
      let init: ModuleValues;
      if (sharedA && plan.merge!.init === 'svd') {
        // With one A for both, s1 B1 A + s2 B2 A = s (B) A exactly: B = (s1 B1 + s2 B2) / s.
        const s1 = first.alpha / first.rank, s2 = second.alpha / second.rank, s = merged.alpha / merged.rank;
        init = { A: v1.A, B: v1.B.map((b1, i) => (s1 * b1 + s2 * v2.B[i]!) / s) };
      } else {
        init = mergedValues(plan.merge!.init, first, v1, second, v2, d);
      }
      if (!sharedA) fresh.set(`lor2c.${merged.id}.A`, init.A);
      fresh.set(v1.bName.includes('.shared') ? v1.bName : `lor2c.${merged.id}.B`, init.B);
      Object.assign(event, { merged: [first.id, second.id], into: merged.id, score: choice.score, init: plan.merge!.init });
    } else {
      Object.assign(event, { merged: null, reason: 'no adjacent pair within the span limit' });
    }
  }

  if (inject) {
    const mergedIds = new Set(structure.merged);
    const candidates = structure.modules.filter((m) => scores.has(m.id));
    const victim = chooseInject(candidates, injectScores, mergedIds);
    if (victim) {
      const p = plan.inject!;
      const rank = p.rank ?? victim.rank / 2;
      structure.modules = structure.modules.filter((m) => m !== victim);
      for (const g of structure.share) g.modules = g.modules.filter((id) => id !== victim.id);
      for (const target of p.targets) {
        structure.lora.push({ section: 'inject', block: victim.span[0], target, rank, alpha: p.alpha ?? victim.alpha, dropout: p.dropout ?? victim.dropout, init: victim.init });
      }
      Object.assign(event, { injected: victim.id, block: victim.span[0], rank, targets: p.targets.map((t) => (t.kind === 'role' ? t.role : t.pattern)) });
      if (injectScores !== scores) event.injectSfs = Object.fromEntries(injectScores);
    } else {
      Object.assign(event, { injected: null, reason: 'every module has been merged' });
    }
  }
  structure.share = structure.share.filter((g) => g.modules.length > 0);

  const started = performance.now();
  const compiled = compileStructure(base, plan, structure, { totalSteps: opts.totalSteps, target: ctx.manifest.target });
  const dir = join(opts.root, `step-${String(ctx.step).padStart(8, '0')}`);
  const { train, eval: evalModel, infer } = compiled.graphs;
  writeArtifacts(dir, { graphs: { train, eval: evalModel, infer }, manifest: compiled.manifest, initial: compiled.initial }, weights);
  event.recompileSeconds = Number(((performance.now() - started) / 1000).toFixed(3));

  const parameters = new Map<string, Float32Tensor>();
  const optimizer = new Map<string, Float32Tensor>();
  for (const p of compiled.manifest.parameters) {
    const carried = fresh.has(p.name) ? undefined : ctx.parameters.get(p.name);
    const data = fresh.get(p.name) ?? carried?.data ?? compiled.initial.get(p.name)!.values;
    parameters.set(p.name, { shape: p.shape, data });
    if (carried) for (const [key, value] of ctx.optimizer) if (key.startsWith(`${p.name}:`)) optimizer.set(key, value);
  }
  event.parameters = compiled.report.trainable;
  return { artifacts: dir, parameters, optimizer, event };
}
