/** `lor2c [name] { ... }`: a LoR2C section (residual adapters spanning blocks). */
import type { Lor2cSection } from '../../../contract/plan.ts';
import { ALL_BLOCKS } from '../../resolve.ts';
import { DEFAULTS } from '../defaults.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';
import { adapterKeys, sectionName, type SectionNames } from './adapter.ts';

/** `taken`: names of the sections read before, so each gets its own. */
export function readLor2c(r: SpecReader, e: Entry, taken: SectionNames): Lor2cSection {
  const section: Lor2cSection = {
    name: sectionName(r, e, taken),
    blocks: ALL_BLOCKS,
    span: DEFAULTS.span,
    rank: DEFAULTS.rank,
    alpha: DEFAULTS.alpha,
    dropout: DEFAULTS.lor2cDropout,
    init: DEFAULTS.init,
    overrides: [],
  };
  const schema: Schema = {
    ...adapterKeys(r, section, () => Object.keys(schema)),
    span: { read: (x) => assign(r.number(r.one(x, 'a positive integer', Object.keys(schema)), { what: 'span', integer: true, min: 1 }), (v) => (section.span = v)) },
  };
  if (e.body) r.readItems(e.body.items, schema, `\`${section.name} { }\``);
  r.at.set(section, e.key.range);
  return section;
}
