/**
 * What an exported adapter config says about its adapters (runtime/export.ts writes it):
 * LoR2C modules with their spans, rank, alpha, dropout and parameter names, share groups, LoRA
 * targets with their settings, and the base-model weights trained too. Read from the manifest's
 * parameter table and the compiled structure (which follows Merge / Inject), never from names.
 */
import type { ParameterInfo } from '../../contract/manifest.ts';
import type { AdapterStructure } from './apply.ts';
import { loraTargetId } from './naming.ts';

export interface ModuleDescription {
  id: string;
  span?: [number, number];
  rank?: number;
  alpha?: number;
  dropout?: number;
  A?: string;
  B?: string;
}

export interface LoraDescription {
  target: string;
  rank: number;
  alpha?: number;
  dropout?: number;
  A: string;
  B: string;
}

export interface AdapterDescription {
  modules: ModuleDescription[];
  shareGroups: AdapterStructure['share'];
  lora: LoraDescription[];
  /** Original weights trained too (the task head): PEFT's modules_to_save. */
  modulesToSave: string[];
}

/** `structure` is absent only for artifacts written before manifests carried it: spans and settings are then left out. */
export function describeAdapters(parameters: readonly ParameterInfo[], structure: AdapterStructure | undefined): AdapterDescription {
  const structureModules = new Map((structure?.modules ?? []).map((m) => [m.id, m]));
  const modules = new Map<string, ModuleDescription>();
  const lora = new Map<string, { A?: string; B?: string; rank: number }>();
  const modulesToSave: string[] = [];
  // A shared matrix names the first module of its group; each module's own B (or, for a shared
  // B, the structure's modules) lists the rest.
  for (const p of parameters) {
    if (p.role === 'extra') {
      modulesToSave.push(p.name);
    } else if (p.role === 'lora.A' || p.role === 'lora.B') {
      const t = lora.get(p.module) ?? { rank: p.role === 'lora.A' ? p.shape[0]! : p.shape[1]! };
      t[p.role === 'lora.A' ? 'A' : 'B'] = p.name;
      lora.set(p.module, t);
    } else {
      const m = modules.get(p.module) ?? moduleEntry(p.module, structureModules.get(p.module));
      m[p.role === 'lor2c.A' ? 'A' : 'B'] = p.name;
      m.rank ??= p.role === 'lor2c.A' ? p.shape[0] : p.shape[1];
      modules.set(p.module, m);
    }
  }
  for (const [id, m] of structureModules) if (!modules.has(id)) modules.set(id, moduleEntry(id, m));
  const settings = loraSettings(structure?.lora ?? []);
  return {
    modules: [...modules.values()],
    shareGroups: structure?.share ?? [],
    lora: [...lora].map(([target, t]) => ({ target, rank: t.rank, ...settings(target), A: t.A ?? '', B: t.B ?? '' })),
    modulesToSave,
  };
}

function moduleEntry(id: string, m: AdapterStructure['modules'][number] | undefined): ModuleDescription {
  if (!m) return { id };
  return { id, span: [m.span[0], m.span[1]], rank: m.rank, alpha: m.alpha, dropout: m.dropout };
}

/** alpha and dropout of a LoRA target from the structure's site that put it there (role targets; pattern targets are left without). */
function loraSettings(sites: AdapterStructure['lora']): (target: string) => { alpha?: number; dropout?: number } {
  return (target) => {
    const site = sites.find((s) => s.target.kind === 'role' && s.block !== undefined && loraTargetId(s.block, s.target.role) === target);
    return site ? { alpha: site.alpha, dropout: site.dropout } : {};
  };
}
