/** `target cpu | cuda [fallback cpu]`: where training runs. */
import type { TargetPlan } from '../../../contract/plan.ts';
import { didYouMean } from '../../suggest.ts';
import type { Entry, SpecReader } from '../reader.ts';

export function readTarget(r: SpecReader, e: Entry): TargetPlan | undefined {
  const device = r.choice(r.one({ ...e, values: e.values.slice(0, 1) }, '`cpu` or `cuda`'), 'target', ['cpu', 'cuda'] as const);
  const rest = e.values.slice(1);
  let fallback: 'cpu' | undefined;
  if (rest.length > 0) {
    const word = rest[0]!;
    if (word.kind === 'word' && word.name === 'fallback') {
      fallback = r.choice(rest[1], 'fallback', ['cpu'] as const);
      if (!rest[1]) r.error('missing-value', word.range, '`fallback` needs a device: `fallback cpu`');
      if (rest.length > 2) r.error('extra-value', rest[2]!.range, 'unexpected value after `fallback cpu`');
    } else {
      r.error('bad-value', word.range, `unexpected \`${r.describe(word)}\` after the device`, didYouMean(word.kind === 'word' ? word.name : '', ['fallback']) ?? 'write `target cuda fallback cpu`');
    }
  }
  if (!device) return undefined;
  if (device === 'cpu' && fallback) r.report('warning', 'useless-fallback', e.range, '`fallback cpu` does nothing when the target is already cpu');
  return device === 'cuda' && fallback ? { device, fallback } : { device };
}
