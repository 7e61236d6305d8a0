/**
 * Dynamic MergeLoR2C / InjectLoR2C / IMLoR2C (docs/method.md sections 3 to 6) as the trainer's
 * structural hook: when the points fire, and the values carried across them. At each point:
 * SFS of every module from its current A and B (the O(d r^2) way), the decision and the
 * structure edit (compiler/adapters), a recompile of the new structure from the prepared base
 * model, and the parameters carried over. Surviving parameters keep their optimizer state;
 * tensors the edit creates start with fresh state, and are trained from then on. No Node
 * module: the host stores the recompiled artifacts (node-host.ts: files; memory-host.ts: bytes).
 */
import type { Plan, SfsMetric, Lor2cModule, Interval } from '../contract/plan.ts';
import { PLAN_VERSION } from '../contract/plan.ts';
import { UserError } from '../contract/errors.ts';
import { compileStructure, type ArtifactContents, type PreparedBase, chooseInject, chooseMerge, copyStructure, injectLora, mergeModules, moduleFactorValues, pruneShareGroups, renamedParameters, sfs, type ModuleValues } from '../compiler/portable.ts';
import type { Float32Tensor } from './checkpoint.ts';
import type { StructuralContext, StructuralChange, StructuralHook } from './trainer.ts';

export interface DynamicOptions {
  /** Reads and prepares the base model (once, after the plan's version is checked). */
  prepare(): PreparedBase;
  plan: Plan;
  /** Optimizer updates of the whole run. */
  totalSteps: number;
  stepsPerEpoch: number;
  /** The artifacts trained (names them in messages). */
  artifacts: string;
  /** Stores the artifacts recompiled after step `step` and returns their location (the host's `<artifacts>/structure/step-<n>`). */
  store(step: number, contents: ArtifactContents): string;
}

/** A run's options with its prepared base. */
type Run = DynamicOptions & { base: PreparedBase };

/** Where a recompile after `step` goes, under the artifacts trained. */
export function structureFolder(step: number): string {
  return `structure/step-${String(step).padStart(8, '0')}`;
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
  // Merge / Inject re-read the base with the plan's block discovery, whose shape is versioned.
  if (plan.planVersion !== PLAN_VERSION) throw new UserError(`${opts.artifacts} was compiled by another lor2c version (plan version ${plan.planVersion}, this one reads ${PLAN_VERSION})`, `compile the spec again: lor2c compile SPEC.lor2c --out ${opts.artifacts}`);
  const points = (s: { every: Interval; everyDerived: boolean; until: number; max?: number }) =>
    new Set(schedulePoints(s.everyDerived ? derivedInterval(s.every, s.max, opts.totalSteps, opts.stepsPerEpoch) : s.every, s.until, s.max, opts.totalSteps, opts.stepsPerEpoch));
  const mergeAt = plan.merge?.schedule ? points(plan.merge.schedule) : new Set<number>();
  const injectAt = plan.inject ? points(plan.inject) : new Set<number>();
  if (mergeAt.size === 0 && injectAt.size === 0) return undefined;
  const run: Run = { ...opts, base: opts.prepare() };
  return (ctx) => {
    const merge = mergeAt.has(ctx.step);
    const inject = injectAt.has(ctx.step);
    if (!merge && !inject) return undefined;
    return restructure(run, ctx, merge, inject);
  };
}

function scoresOf(values: Map<string, ModuleValues>, modules: Lor2cModule[], d: number, metric: SfsMetric): Map<string, number> {
  return new Map(modules.map((m) => [m.id, sfs(values.get(m.id)!.A, values.get(m.id)!.B, m.rank, d, metric)]));
}

/**
 * One structural point, phase by phase: score every module (SFS), edit the structure (merge,
 * then inject), recompile it, and carry the parameters over.
 */
function restructure(opts: Run, ctx: StructuralContext, merge: boolean, inject: boolean): StructuralChange | undefined {
  const snapshot = scoreModules(opts, ctx);
  const event: StructuralEvent = { type: merge && inject ? 'merge+inject' : merge ? 'merge' : 'inject', sfs: Object.fromEntries(snapshot.scores) };
  const edited = editStructure(opts, snapshot, merge, inject, event);
  const recompiled = recompile(opts, ctx, edited.structure, event);
  return { artifacts: recompiled.dir, ...carryParameters(ctx, recompiled.compiled, edited, event), event };
}

type StructuralEvent = StructuralChange['event'] & { type: string };
type Structure = ReturnType<typeof copyStructure>;

/** The modules' current factors and their SFS scores (one snapshot decides both merge and inject: IMLoR2C, docs/method.md section 6). */
interface ScoreSnapshot {
  /** A copy of the structure before the point, for the edits to change. */
  before: Structure;
  values: Map<string, ModuleValues>;
  scores: Map<string, number>;
  /** Scores by the inject schedule's own metric when it has another one; else `scores`. */
  injectScores: Map<string, number>;
}

function scoreModules(opts: Run, ctx: StructuralContext): ScoreSnapshot {
  const { plan, base } = opts;
  const d = base.blocks.hidden;
  const before = copyStructure(ctx.manifest.structure);
  const values = moduleFactorValues(ctx.manifest.structure, (name) => ctx.parameters.get(name)?.data);
  const metric = plan.merge?.schedule?.metric ?? plan.inject?.metric ?? { kind: 'mean' };
  const scores = scoresOf(values, ctx.manifest.structure.modules, d, metric);
  const injectScores = plan.inject && plan.inject.metric !== metric ? scoresOf(values, ctx.manifest.structure.modules, d, plan.inject.metric) : scores;
  return { before, values, scores, injectScores };
}

/** The new structure and the tensors its edits created (by their new names); `renamed` maps a renumbered share group's tensors to their old names. */
interface EditedStructure {
  structure: Structure;
  fresh: Map<string, Float32Array>;
  renamed: Map<string, string>;
}

/** Merge the best adjacent pair, then inject LoRA in place of the weakest module, as the point asks; empty share groups dropped. */
function editStructure(opts: Run, snapshot: ScoreSnapshot, merge: boolean, inject: boolean, event: StructuralEvent): EditedStructure {
  const { plan, base } = opts;
  const d = base.blocks.hidden;
  const { values, scores, injectScores } = snapshot;
  let structure = snapshot.before;
  const fresh = new Map<string, Float32Array>();

  if (merge) {
    const stackOf = (i: number) => base.blocks.blocks[i]?.stack;
    const choice = chooseMerge(structure.modules, scores, plan.merge!.schedule!.maxSpan, (a, b) => stackOf(a) === stackOf(b));
    if (choice) {
      const edited = mergeModules(structure, choice, values, plan.merge!.init, d);
      structure = edited.structure;
      for (const [name, v] of edited.created) fresh.set(name, v);
      Object.assign(event, { merged: [choice.first.id, choice.second.id], into: choice.merged.id, score: choice.score, init: plan.merge!.init, created: [...edited.created.keys()] });
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
      const edited = injectLora(structure, victim, p);
      structure = edited.structure;
      Object.assign(event, { injected: victim.id, block: victim.span[0], rank: edited.rank, targets: p.targets.map((t) => (t.kind === 'role' ? t.role : t.pattern)) });
      if (injectScores !== scores) event.injectSfs = Object.fromEntries(injectScores);
    } else {
      Object.assign(event, { injected: null, reason: 'every module has been merged' });
    }
  }
  const pruned = pruneShareGroups(structure);
  return { structure: pruned.structure, fresh, renamed: renamedParameters(pruned.structure, pruned.origin) };
}

/** The new structure compiled from the prepared base model and stored by the host. */
function recompile(opts: Run, ctx: StructuralContext, structure: Structure, event: StructuralEvent): { dir: string; compiled: ReturnType<typeof compileStructure> } {
  const started = performance.now();
  // The running artifacts' way of updating goes on (a forced one included).
  const update = ctx.manifest.graphs.update ? 'split' : 'fused';
  const compiled = compileStructure(opts.base, opts.plan, structure, { totalSteps: opts.totalSteps, target: ctx.manifest.target, update });
  const { train, eval: evalModel, infer, update: updateModel } = compiled.graphs;
  const dir = opts.store(ctx.step, { graphs: { train, eval: evalModel, infer, update: updateModel }, manifest: compiled.manifest, initial: compiled.initial });
  event.recompileSeconds = Number(((performance.now() - started) / 1000).toFixed(3));
  return { dir, compiled };
}

/** Every parameter of the recompiled artifacts: created by the edit, carried over (with its optimizer state), or LoRA an injection enabled. */
function carryParameters(ctx: StructuralContext, compiled: ReturnType<typeof compileStructure>, edited: EditedStructure, event: StructuralEvent): Pick<StructuralChange, 'parameters' | 'optimizer'> {
  const { fresh, renamed } = edited;
  const parameters = new Map<string, Float32Tensor>();
  const optimizer = new Map<string, Float32Tensor>();
  for (const p of compiled.manifest.parameters) {
    // Created by the edit: fresh values and state. Otherwise the tensor goes on (under its old
    // name, which differs only for a renumbered share group), with its optimizer state.
    const from = renamed.get(p.name) ?? p.name;
    const carried = fresh.has(p.name) ? undefined : ctx.parameters.get(from);
    // LoRA an injection enabled starts from its compiled initial values (seeded by its name).
    const injected = !carried && (p.role === 'lora.A' || p.role === 'lora.B') && typeof event.injected === 'string' ? compiled.initial.get(p.name)?.values : undefined;
    const data = fresh.get(p.name) ?? carried?.data ?? injected;
    if (!data) throw new Error(`internal error: after '${event.type}' at step ${ctx.step}, parameter '${p.name}' is neither created nor carried over`);
    parameters.set(p.name, { shape: p.shape, data });
    if (carried) for (const [key, value] of ctx.optimizer) if (key.startsWith(`${from}:`)) optimizer.set(`${p.name}:${key.slice(from.length + 1)}`, value);
  }
  event.parameters = compiled.report.trainable;
  return { parameters, optimizer };
}
