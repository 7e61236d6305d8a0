/** `lora [name] { ... }`: a LoRA section (adapters on projections inside blocks). */
import type { LoraSection } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { defaultsOf, readSection, section, settingsOf, targets } from '../schema.ts';
import { adapterSettings, QV, sectionName, type SectionNames } from './adapter.ts';

const s = settingsOf<LoraSection>();

export const LORA = section<LoraSection>('`lora { }`', {
  // PEFT's lora_dropout default.
  ...adapterSettings(0),
  on: s.value('targets', targets(), {
    doc: 'the projections it adapts: roles, or name patterns in quotes',
    default: QV,
    located: true,
  }),
});

/** `taken`: names of the sections read before, so each gets its own. */
export function readLora(r: SpecReader, e: Entry, taken: SectionNames): LoraSection {
  const name = sectionName(r, e, taken);
  const lora = { name, ...defaultsOf(LORA) } as LoraSection;
  if (e.body) readSection(r, LORA, lora, { items: e.body.items }, `\`${name} { }\``);
  r.at.set(lora, e.key.range);
  return lora;
}
