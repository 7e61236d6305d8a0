/** `lora [name] { ... }`: a LoRA section (adapters on projections inside blocks). */
import type { LoraSection } from '../../../contract/plan.ts';
import { ALL_BLOCKS } from '../../resolve.ts';
import { DEFAULTS } from '../defaults.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';
import { adapterKeys, sectionName, type SectionNames } from './adapter.ts';

/** `taken`: names of the sections read before, so each gets its own. */
export function readLora(r: SpecReader, e: Entry, taken: SectionNames): LoraSection {
  const section: LoraSection = {
    name: sectionName(r, e, taken),
    targets: [
      { kind: 'role', role: 'q' },
      { kind: 'role', role: 'v' },
    ],
    blocks: ALL_BLOCKS,
    rank: DEFAULTS.rank,
    alpha: DEFAULTS.alpha,
    dropout: DEFAULTS.loraDropout,
    init: DEFAULTS.init,
    overrides: [],
  };
  const schema: Schema = {
    ...adapterKeys(r, section, () => Object.keys(schema)),
    on: {
      read: (x) =>
        assign(r.targets(x), (v) => {
          section.targets = v;
          r.at.set(v, x.range);
        }),
    },
  };
  if (e.body) r.readItems(e.body.items, schema, `\`${section.name} { }\``);
  r.at.set(section, e.key.range);
  return section;
}
