/** The parameter report of a compilation: per module, in total, and as a percent of the base model. */
import type { ParameterInfo } from '../contract/manifest.ts';
import type { AdapterStructure } from './adapters/apply.ts';

export interface ParameterReport {
  /** Trainable elements per module (shared tensors counted once, under the first module using them). */
  modules: { module: string; kind: 'lor2c' | 'lora' | 'extra'; parameters: number; detail: string }[];
  trainable: number;
  base: number;
  /** trainable / base * 100 */
  percent: number;
}

export function parameterReport(parameters: ParameterInfo[], structure: AdapterStructure, base: number): ParameterReport {
  const modules = new Map<string, ParameterReport['modules'][number]>();
  const spans = new Map(structure.modules.map((m) => [m.id, m]));
  for (const p of parameters) {
    const count = p.shape.reduce((a, b) => a * b, 1);
    const kind = p.role.startsWith('lor2c') ? 'lor2c' : p.role.startsWith('lora') ? 'lora' : 'extra';
    const entry = modules.get(p.module) ?? { module: p.module, kind, parameters: 0, detail: '' };
    entry.parameters += count;
    const m = spans.get(p.module);
    if (m) {
      const shared = structure.share.filter((g) => g.modules.includes(m.id)).map((g) => (g.share === 'both' ? 'A and B' : g.share));
      entry.detail = `blocks ${m.span[0]}..${m.span[1]}, rank ${m.rank}, alpha ${m.alpha}${shared.length ? `, ${shared.join(', ')} shared` : ''}`;
    }
    else if (kind === 'lora') entry.detail = `rank ${p.role === 'lora.A' ? p.shape[0] : p.shape[1]}`;
    else if (kind === 'extra') entry.detail = `[${p.shape.join(', ')}]`;
    modules.set(p.module, entry);
  }
  const trainable = parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return { modules: [...modules.values()], trainable, base, percent: base ? (trainable / base) * 100 : 0 };
}

export function renderReport(r: ParameterReport): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const width = Math.max(...r.modules.map((m) => m.module.length), 6);
  return [
    'trainable parameters',
    ...r.modules.map((m) => `  ${m.module.padEnd(width)}  ${m.kind.padEnd(5)}  ${fmt(m.parameters).padStart(12)}  ${m.detail}`),
    `  ${'total'.padEnd(width)}         ${fmt(r.trainable).padStart(12)}  (${r.percent.toFixed(3)}% of the base model's ${fmt(r.base)})`,
  ].join('\n');
}
