/** What `lor2c { }` and `lora { }` sections share: an optional section name, and the adapter keys. */
import type { BlockSelection, InitKind, LayerOverride } from '../../../contract/plan.ts';
import { ALL_BLOCKS } from '../../resolve.ts';
import { assign, type Entry, type Schema, type SpecReader } from '../reader.ts';

/** The names of the sections of one keyword read so far. */
export class SectionNames {
  private readonly names = new Set<string>();
  /** Every `keyword_n` below this is taken (names are only ever added), so the search resumes here. */
  private nextSuffix = 2;

  has(name: string): boolean {
    return this.names.has(name);
  }

  add(name: string): string {
    this.names.add(name);
    return name;
  }

  /** The keyword itself, else the first free `keyword_2`, `keyword_3`, ... */
  fresh(keyword: string): string {
    if (!this.names.has(keyword)) return keyword;
    while (this.names.has(`${keyword}_${this.nextSuffix}`)) this.nextSuffix++;
    return `${keyword}_${this.nextSuffix}`;
  }
}

/** The name after a section keyword (`lor2c deep { }`), or the keyword itself; recorded in `taken`. */
export function sectionName(r: SpecReader, e: Entry, taken: SectionNames): string {
  const first = e.values[0];
  if (first && first.kind === 'word') {
    r.noExtra(e, 1);
    if (taken.has(first.name)) r.error('duplicate-name', first.range, `a section named \`${first.name}\` already exists`, 'give each section its own name');
    return taken.add(first.name);
  }
  if (first) {
    r.error('bad-value', first.range, `\`${e.key.name}\` takes an optional name, then \`{ ... }\``, `e.g. \`${e.key.name} deep { rank 16 }\``);
  }
  return taken.add(taken.fresh(e.key.name));
}

/** Keys every adapter section accepts; `known` lists the whole section's keys, for hints. */
export function adapterKeys(r: SpecReader, target: { rank: number; alpha: number; dropout: number; init: InitKind; blocks: BlockSelection; overrides: LayerOverride[] }, known: () => string[]): Schema {
  return {
    rank: { read: (e) => assign(r.number(r.one(e, 'a positive integer', known()), { what: 'rank', integer: true, min: 1 }), (v) => (target.rank = v)) },
    alpha: { read: (e) => assign(r.number(r.one(e, 'a positive number', known()), { what: 'alpha', min: 0, above: true }), (v) => (target.alpha = v)) },
    dropout: { read: (e) => assign(r.number(r.one(e, 'a probability in [0, 1)', known()), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (target.dropout = v)) },
    init: { read: (e) => assign(r.choice(r.one(e, '`kaiming` or `gaussian`', known()), 'init', ['kaiming', 'gaussian'] as const), (v) => (target.init = v)) },
    blocks: { read: (e) => assign(r.selection(e.values, e.range), (v) => (target.blocks = v)) },
    override: {
      repeat: true,
      body: 'required',
      read: (e) => {
        const [first, ...rest] = e.values;
        if (!(first?.kind === 'word' && first.name === 'blocks')) {
          r.error('bad-value', first?.range ?? e.key.range, '`override` names the blocks it applies to', 'write `override blocks 10..11 { rank 16 }`');
          return;
        }
        const blocks = r.selection(rest, first ? r.index.span(first.range, (rest[rest.length - 1] ?? first).range) : e.range);
        const o: LayerOverride = { blocks: blocks ?? ALL_BLOCKS };
        const overrideKeys = ['rank', 'alpha', 'dropout'];
        r.readItems(
          e.body!.items,
          {
            rank: { read: (x) => assign(r.number(r.one(x, 'a positive integer', overrideKeys), { what: 'rank', integer: true, min: 1 }), (v) => (o.rank = v)) },
            alpha: { read: (x) => assign(r.number(r.one(x, 'a positive number', overrideKeys), { what: 'alpha', min: 0, above: true }), (v) => (o.alpha = v)) },
            dropout: { read: (x) => assign(r.number(r.one(x, 'a probability in [0, 1)', overrideKeys), { what: 'dropout', min: 0, max: 1, below: true, percent: true }), (v) => (o.dropout = v)) },
          },
          '`override { }`',
        );
        if (blocks) {
          target.overrides.push(o);
          r.at.set(o, e.range);
        }
      },
    },
  };
}
