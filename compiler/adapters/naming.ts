/**
 * The names of adapter parameters, the one home of that convention (the manifest, checkpoints,
 * exported adapters and the PyTorch reference all use it):
 *
 *     lor2c.<module>.A / .B        a LoR2C module's own down / up projection ('b3', 'b3_5')
 *     lor2c.shared<g>.A / .B       the factor shared by share group g (its index in the structure)
 *     lora.<target>.A / .B         LoRA on a projection ('b3.q', or the node's name)
 */
import type { ShareMatrix } from '../../dsl/index.ts';
import type { AdapterStructure } from './apply.ts';

export type Factor = 'A' | 'B';

export const FACTORS: readonly Factor[] = ['A', 'B'];

/** A module's own (unshared) factor. */
export function moduleParameterName(moduleId: string, factor: Factor): string {
  return `lor2c.${moduleId}.${factor}`;
}

/** The factor share group `group` (its index in the structure's `share`) holds. */
export function sharedParameterName(group: number, factor: Factor): string {
  return `lor2c.shared${group}.${factor}`;
}

/** The id of LoRA on the projection of `role` in block `block` ('b3.q'). */
export function loraTargetId(block: number, role: string): string {
  return `b${block}.${role}`;
}

/** LoRA on a projection known only by its node's name: the name, made a dotted id. */
export function loraNodeId(node: string): string {
  return node.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.]+/g, '.');
}

/** A LoRA target's factor. */
export function loraParameterName(target: string, factor: Factor): string {
  return `lora.${target}.${factor}`;
}

/** Whether a share group of this kind shares `factor`. */
export function sharesFactor(share: ShareMatrix, factor: Factor): boolean {
  return share === 'both' || share === factor;
}

/** For each module and factor, the share group holding it, when one does. */
export function shareGroupOf(structure: Pick<AdapterStructure, 'share'>, moduleId: string, factor: Factor): number | undefined {
  const g = structure.share.findIndex((group) => sharesFactor(group.share, factor) && group.modules.includes(moduleId));
  return g < 0 ? undefined : g;
}

/** The parameter holding a module's factor in this structure: the group's when shared, else its own. */
export function factorParameterName(structure: Pick<AdapterStructure, 'share'>, moduleId: string, factor: Factor): string {
  const g = shareGroupOf(structure, moduleId, factor);
  return g === undefined ? moduleParameterName(moduleId, factor) : sharedParameterName(g, factor);
}

/** Every LoR2C module's A and B parameter names in this structure. */
export function moduleParameterNames(structure: Pick<AdapterStructure, 'modules' | 'share'>): Map<string, Record<Factor, string>> {
  return new Map(structure.modules.map((m) => [m.id, { A: factorParameterName(structure, m.id, 'A'), B: factorParameterName(structure, m.id, 'B') }]));
}
