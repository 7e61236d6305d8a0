/**
 * Which structural changes a plan schedules during training (MergeLoR2C merges, InjectLoR2C
 * injections): each recompiles the graphs mid-run, so only a host that can run the compiler
 * trains such artifacts. One predicate for the Trainer and the hosts that refuse them.
 */
import type { Plan } from '../dsl/index.ts';

export function scheduledChanges(plan: Plan | undefined): string[] {
  return [plan?.merge?.schedule ? 'MergeLoR2C merges' : '', plan?.inject ? 'InjectLoR2C injections' : ''].filter(Boolean);
}
