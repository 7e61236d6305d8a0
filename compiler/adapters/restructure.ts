/**
 * Structure edits of MergeLoR2C and InjectLoR2C (docs/method.md sections 4 and 5) as pure functions
 * of an adapter structure and the current values of its modules: which modules, share groups
 * and LoRA sites the new structure has, and the values of the tensors an edit creates. The
 * runtime decides when (its schedule), recompiles the new structure and carries values; the
 * facts of what an edit does to adapters live here.
 */
import type { InjectPlan, MergeInit } from '../../dsl/plan.ts';
import type { AdapterStructure } from './apply.ts';
import type { MergeChoice, ModuleValues } from './merge.ts';
import { mergedValues } from './merge.ts';
import { moduleParameterName, moduleParameterNames } from './naming.ts';

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
 * Replaces the chosen pair by the merged module, with the initial values `init` says. Modules
 * of a share group stay in it through the merge.
 */
export function mergeModules(structure: AdapterStructure, choice: MergeChoice, values: ReadonlyMap<string, ModuleValues>, init: MergeInit, d: number): Edited {
  const next = copyStructure(structure);
  const { first, second, merged } = choice;
  const before = moduleParameterNames(structure);
  next.modules = next.modules.filter((m) => m.id !== first.id && m.id !== second.id).concat(merged).sort((a, b) => a.span[0] - b.span[0]);
  for (const g of next.share) {
    if (!g.modules.includes(first.id)) continue;
    g.modules = g.modules.filter((id) => id !== first.id && id !== second.id).concat(merged.id);
  }
  next.merged.push(merged.id);
  const n1 = before.get(first.id)!, n2 = before.get(second.id)!;
  const v1 = values.get(first.id)!, v2 = values.get(second.id)!;
  const sharedA = n1.A === n2.A && n1.A.includes('.shared');
  let start: ModuleValues;
  if (sharedA && init === 'svd') {
    // With one A for both, s1 B1 A + s2 B2 A = s (B) A exactly: B = (s1 B1 + s2 B2) / s.
    const s1 = first.alpha / first.rank, s2 = second.alpha / second.rank, s = merged.alpha / merged.rank;
    start = { A: v1.A, B: v1.B.map((b1, i) => (s1 * b1 + s2 * v2.B[i]!) / s) };
  } else {
    start = mergedValues(init, first, v1, second, v2, d);
  }
  const created = new Map<string, Float32Array>();
  if (!sharedA) created.set(moduleParameterName(merged.id, 'A'), start.A);
  created.set(n1.B.includes('.shared') ? n1.B : moduleParameterName(merged.id, 'B'), start.B);
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

/** Share groups left without modules are dropped. */
export function pruneShareGroups(structure: AdapterStructure & { merged: string[] }): AdapterStructure & { merged: string[] } {
  return { ...structure, share: structure.share.filter((g) => g.modules.length > 0) };
}
