/** What `lor2c { }`, `lora { }`, `inject { }` and `override { }` share: an optional section name, and the adapter settings. */
import type { BlockSelection, InitKind, LayerOverride, ProjectionTarget } from '../../../contract/plan.ts';
import { ALL_BLOCKS } from '../../resolve.ts';
import type { Entry, SpecReader } from '../reader.ts';
import { choice, int, number, readSection, section, selection, settingsOf, withDefault, type Setting } from '../schema.ts';

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

/** The projections LoRA adapts unless told: q and v (PEFT's default for BERT- and LLaMA-like models, and docs/method.md §5's). */
export const QV: ProjectionTarget[] = [
  { kind: 'role', role: 'q' },
  { kind: 'role', role: 'v' },
];

/** The settings an adapter's shape takes, with no defaults: an override or `inject { }` leaves them to the adapter it changes. */
type Shape = { rank?: number; alpha?: number; dropout?: number };
const shape = settingsOf<Shape>();
export const SHAPE = {
  rank: shape.value('rank', int({ min: 1 }), { doc: 'the rank r of A (r x d) and B (d x r)' }),
  alpha: shape.value('alpha', number({ min: 0, above: true }), { doc: 'the update is scaled by alpha / r' }),
  dropout: shape.value('dropout', number({ min: 0, max: 1, below: true, percent: true }), { doc: 'dropout on the adapter input', expected: 'a probability in [0, 1)' }),
};

/** `override blocks SEL { ... }`: the shape of the modules whose first block SEL selects. */
export const OVERRIDE = section<LayerOverride>('`override { }`', SHAPE);

type Adapter = { rank: number; alpha: number; dropout: number; init: InitKind; blocks: BlockSelection; overrides: LayerOverride[] };
const adapter = settingsOf<Adapter>();

/** The settings of every adapter section; `dropout`: the section's default dropout. */
export function adapterSettings(dropout: number): Record<string, Setting<Adapter>> {
  return {
    // The paper's defaults (docs/method.md §1): rank 8, alpha 16.
    rank: withDefault(SHAPE.rank, 8),
    alpha: withDefault(SHAPE.alpha, 16),
    dropout: withDefault(SHAPE.dropout, dropout),
    init: adapter.value('init', choice(['kaiming', 'gaussian']), { doc: 'how A starts (B starts at zero): kaiming uniform, or gaussian N(0, 1/r)', default: 'kaiming' }),
    blocks: adapter.value('blocks', selection(), { doc: 'the blocks it adapts', default: ALL_BLOCKS }),
    override: adapter.custom({
      doc: 'another rank, alpha or dropout for some blocks (repeatable; later ones win)',
      field: 'overrides',
      default: [],
      expected: '`blocks SEL { rank .. alpha .. dropout .. }`',
      repeat: true,
      body: 'required',
      read: readOverride,
    }),
  };
}

function readOverride(r: SpecReader, e: Entry, target: Adapter): void {
  const [first, ...rest] = e.values;
  if (!(first?.kind === 'word' && first.name === 'blocks')) {
    r.error('bad-value', first?.range ?? e.key.range, '`override` names the blocks it applies to', 'write `override blocks 10..11 { rank 16 }`');
    return;
  }
  const blocks = r.selection(rest, first ? r.index.span(first.range, (rest[rest.length - 1] ?? first).range) : e.range);
  const o: LayerOverride = { blocks: blocks ?? ALL_BLOCKS };
  readSection(r, OVERRIDE, o, { items: e.body!.items });
  if (blocks) {
    target.overrides.push(o);
    r.at.set(o, e.range);
  }
}
