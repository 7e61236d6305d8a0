/**
 * The adapter structure of one compilation, as the manifest records it: the plan's LoR2C
 * modules, share groups and LoRA sites resolved against the model (the dsl's ResolvedPlan),
 * and what Merge / Inject changed since. The compiler applies it to the model; the runtime
 * schedules changes to it and follows it into checkpoints.
 */
import type { Lor2cModule, ResolvedLoraSite, ShareMatrix } from './plan.ts';

export interface AdapterStructure {
  modules: Lor2cModule[];
  share: { share: ShareMatrix; modules: string[] }[];
  lora: ResolvedLoraSite[];
  /** Ids of modules created by a scheduled merge (never candidates for injection). */
  merged?: string[];
}
