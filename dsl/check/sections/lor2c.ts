/** `lor2c [name] { ... }`: a LoR2C section (residual adapters spanning blocks). */
import type { Lor2cSection } from '../../../contract/plan.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { defaultsOf, int, readSection, section, settingsOf } from '../schema.ts';
import { adapterSettings, sectionName, type SectionNames } from './adapter.ts';

const s = settingsOf<Lor2cSection>();

export const LOR2C = section<Lor2cSection>('`lor2c { }`', {
  // docs/method.md §1: dropout 0.1.
  ...adapterSettings(0.1),
  span: s.value('span', int({ min: 1 }), { doc: 'blocks per module', default: 1 }),
});

/** `taken`: names of the sections read before, so each gets its own. */
export function readLor2c(r: SpecReader, e: Entry, taken: SectionNames): Lor2cSection {
  const name = sectionName(r, e, taken);
  const lor2c = { name, ...defaultsOf(LOR2C) } as Lor2cSection;
  if (e.body) readSection(r, LOR2C, lor2c, { items: e.body.items }, `\`${name} { }\``);
  r.at.set(lor2c, e.key.range);
  return lor2c;
}
