/**
 * Structure edits of MergeLoR2C and InjectLoR2C (docs/method.md sections 4 and 5) as pure functions
 * of an adapter structure and the current values of its modules: which modules, share groups
 * and LoRA sites the new structure has, and the values of the tensors an edit creates. The
 * runtime decides when (its schedule), recompiles the new structure and carries values; the
 * facts of what an edit does to adapters live here.
 */
import type { InjectPlan, MergeInit } from '../../dsl/index.ts';
import type { AdapterStructure } from './apply.ts';
import type { MergeChoice, ModuleValues } from './merge.ts';
import { mergedValues } from './merge.ts';
import { FACTORS, moduleParameterName, moduleParameterNames, shareGroupOf, sharedParameterName, sharesFactor, type Factor } from './naming.ts';

/** A copy of a structure that edits may change freely. */
export function copyStructure(s: AdapterStructure): AdapterStructure & { merged: string[] } {
  return { modules: [...s.modules], share: s.share.map((g) => ({ ...g, modules: [...g.modules] })), lora: [...s.lora], merged: [...(s.merged ?? [])] };
}

/** Current A [r, d] and B [d, r] of every module, read through the structure's parameter names (shared tensors included). */
export function moduleFactorValues(structure: AdapterStructure, value: (parameter: string) => Float32Array | undefined): Map<string, ModuleValues> {
  const out = new Map<string, ModuleValues>();
  for (const [id, names] of moduleParameterNames(structure)) {
    const A = value(names.A), B = value(names.B);
    if (!A || !B) throw new Error(`internal error: no parameters ${names.A} / ${names.B} for module ${id}`);
    out.set(id, { A, B });
  }
  return out;
}

export interface Edited {
  structure: AdapterStructure & { merged: string[] };
  /** Values of the parameters the edit created, by their name in the new structure (fresh optimizer state). */
  created: Map<string, Float32Array>;
}

/**
 * Replaces the chosen pair by the merged module (spec/language.md, `merge`). Share groups: the
 * merged module takes the place of its parts in a group only when BOTH parts were in it; a
 * group holding one part loses it. A factor the merged module shares is the group's tensor
 * itself, neither created nor removed (its values and optimizer state go on); every other
 * factor is created: with `first`, a copy of the first part's current factor (the group's
 * value when that part shared it); with `svd`, the best rank-r approximation of the parts'
 * combined delta, or, when one factor stays shared, the other one solved exactly.
 */
export function mergeModules(structure: AdapterStructure, choice: MergeChoice, values: ReadonlyMap<string, ModuleValues>, init: MergeInit, d: number): Edited {
  const next = copyStructure(structure);
  const { first, second, merged } = choice;
  next.modules = next.modules.filter((m) => m.id !== first.id && m.id !== second.id).concat(merged).sort((a, b) => a.span[0] - b.span[0]);
  for (const g of next.share) {
    const both = g.modules.includes(first.id) && g.modules.includes(second.id);
    g.modules = g.modules.filter((id) => id !== first.id && id !== second.id).concat(both ? [merged.id] : []);
  }
  next.merged.push(merged.id);
  const keeps = (factor: Factor) => {
    const g = shareGroupOf(structure, first.id, factor);
    return g !== undefined && g === shareGroupOf(structure, second.id, factor);
  };
  const keepA = keeps('A'), keepB = keeps('B');
  const v1 = values.get(first.id)!, v2 = values.get(second.id)!;
  const s1 = first.alpha / first.rank, s2 = second.alpha / second.rank, s = merged.alpha / merged.rank;
  const combined = (x: Float32Array, y: Float32Array) => x.map((xi, i) => (s1 * xi + s2 * y[i]!) / s);
  let start: Partial<ModuleValues>;
  if (keepA && keepB) start = {};
  // With one A for both, s1 B1 A + s2 B2 A = s B A exactly for B = (s1 B1 + s2 B2) / s (and so for one B).
  else if (keepA) start = { B: init === 'svd' ? combined(v1.B, v2.B) : Float32Array.from(v1.B) };
  else if (keepB) start = { A: init === 'svd' ? combined(v1.A, v2.A) : Float32Array.from(v1.A) };
  else start = mergedValues(init, first, v1, second, v2, d);
  const created = new Map<string, Float32Array>();
  for (const factor of FACTORS) {
    const value = start[factor];
    if (value) created.set(moduleParameterName(merged.id, factor), value);
  }
  return { structure: next, created };
}

/** Removes `victim` and enables LoRA on the plan's targets of its first block. */
export function injectLora(structure: AdapterStructure, victim: AdapterStructure['modules'][number], plan: InjectPlan): Edited & { rank: number } {
  const next = copyStructure(structure);
  const rank = plan.rank ?? victim.rank / 2;
  next.modules = next.modules.filter((m) => m.id !== victim.id);
  for (const g of next.share) g.modules = g.modules.filter((id) => id !== victim.id);
  for (const target of plan.targets) {
    next.lora.push({ section: 'inject', block: victim.span[0], target, rank, alpha: plan.alpha ?? victim.alpha, dropout: plan.dropout ?? victim.dropout, init: victim.init });
  }
  return { structure: next, created: new Map(), rank };
}

/**
 * Share groups left without modules are dropped; `origin[j]` is the index group j had before
 * (it names that group's tensors there, so their values and state carry over under the new name).
 */
export function pruneShareGroups(structure: AdapterStructure & { merged: string[] }): { structure: AdapterStructure & { merged: string[] }; origin: number[] } {
  const origin = structure.share.flatMap((g, i) => (g.modules.length > 0 ? [i] : []));
  return { structure: { ...structure, share: origin.map((i) => structure.share[i]!) }, origin };
}

/**
 * The parameters of `after` that continue a parameter of `before` under another name (new ->
 * old): the tensors of share groups renumbered by pruneShareGroups. Every other parameter of
 * `after` continues the one of the same name, unless an edit created it.
 */
export function renamedParameters(after: AdapterStructure, origin: readonly number[]): Map<string, string> {
  const renamed = new Map<string, string>();
  after.share.forEach((g, j) => {
    if (origin[j] === j) return;
    for (const factor of FACTORS) if (sharesFactor(g.share, factor)) renamed.set(sharedParameterName(j, factor), sharedParameterName(origin[j]!, factor));
  });
  return renamed;
}
