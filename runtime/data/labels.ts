/**
 * String labels <-> class ids (Hugging Face's id2label / label2id). The map is fixed the first
 * time labelled text is read (sorted label names, so the same label set gives the same ids on
 * any machine and in any row order), saved with the artifacts, and reused by every later run,
 * evaluation, export and `infer` (which prints the names).
 */
import { UserError } from '../../contract/errors.ts';

export class LabelMap {
  private readonly ids: Map<string, number>;

  constructor(readonly names: readonly string[]) {
    this.ids = new Map(names.map((n, i) => [n, i]));
    if (this.ids.size !== names.length) throw new UserError(`the label names repeat: ${names.join(', ')}`);
  }

  /** The map of a file's labels: sorted names (numeric order when every name is a number). */
  static fromLabels(labels: Iterable<string>): LabelMap {
    const names = [...new Set(labels)];
    const numeric = names.every((n) => /^-?\d+(\.\d+)?$/.test(n));
    names.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new LabelMap(names);
  }

  get size(): number {
    return this.names.length;
  }

  id(name: string): number | undefined {
    return this.ids.get(name);
  }

  name(id: number): string | undefined {
    return this.names[id];
  }

  /** HF config.json's fields: {"id2label": {"0": "ham", ...}, "label2id": {"ham": 0, ...}}. */
  toJSON(): { id2label: Record<string, string>; label2id: Record<string, number> } {
    return {
      id2label: Object.fromEntries(this.names.map((n, i) => [String(i), n])),
      label2id: Object.fromEntries(this.names.map((n, i) => [n, i])),
    };
  }

  static fromJSON(json: unknown, where: string): LabelMap {
    const id2label = (json as { id2label?: unknown } | null)?.id2label;
    if (id2label === null || typeof id2label !== 'object') throw new UserError(`${where}: no id2label object`);
    const entries = Object.entries(id2label as Record<string, unknown>);
    const names: string[] = [];
    for (const [k, v] of entries) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id >= entries.length || typeof v !== 'string') throw new UserError(`${where}: id2label must map the ids 0..${entries.length - 1} to names, got ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      names[id] = v;
    }
    return new LabelMap(names);
  }
}
