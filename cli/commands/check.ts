import type { Command } from '../command.ts';
import { UsageError } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { existsSync } from 'node:fs';
import { hasErrors, readSpec, isConcrete, renderDiagnostics, type BlockSelection, type Plan } from '../../dsl/index.ts';
import { adapterReport, describeBase, modelFacts, prepareBase, readSpecFile, renderReport } from '../../compiler/index.ts';

function describeBlocks(s: BlockSelection): string {
  const range = (r: { from: number; to: number }) => (r.from === r.to ? `${r.from}` : `${r.from}..${r.to}`);
  // A stack's own `every` follows its last range.
  const step = (r: { stack?: string }, i: number, all: { stack?: string }[]) => (r.stack !== undefined && s.stackEvery?.[r.stack] !== undefined && all[i + 1]?.stack !== r.stack ? ` every ${s.stackEvery[r.stack]}` : '');
  const which = s.ranges === undefined ? 'all blocks' : `blocks ${s.ranges.map((r, i, all) => (r.stack === undefined ? range(r) : r.from === 0 && r.to === -1 ? r.stack : `${r.stack} ${range(r)}`) + step(r, i, all)).join(', ')}`;
  return s.every > 1 ? `${which}, every ${s.every}` : which;
}

/** A few lines saying what the spec will do; parameter counts need the model's width d. */
export function summarizePlan(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`model: ${plan.model ?? '(none in the spec; pass --model)'}`);
  if (plan.modules) {
    lines.push(`lor2c modules (${plan.modules.length}): ${plan.modules.map((m) => `${m.id}[${m.span[0]}..${m.span[1]}] r=${m.rank} a=${m.alpha}`).join(', ') || 'none'}`);
  }
  for (const s of plan.lor2c) {
    if (!plan.modules || !isConcrete(s.blocks)) lines.push(`lor2c ${s.name}: ${describeBlocks(s.blocks)}, span ${s.span}, rank ${s.rank}, alpha ${s.alpha}, dropout ${s.dropout}`);
  }
  for (const s of plan.lora) {
    const targets = s.targets.map((t) => (t.kind === 'role' ? t.role : JSON.stringify(t.pattern))).join(', ');
    lines.push(`lora ${s.name}: ${targets} on ${describeBlocks(s.blocks)}, rank ${s.rank}, alpha ${s.alpha}, dropout ${s.dropout}`);
  }
  for (const g of plan.share) {
    const who = g.members.kind === 'all' ? 'all modules' : g.members.kind === 'blocks' ? `modules starting in ${describeBlocks(g.members.blocks)}` : [...g.members.sections, ...g.members.modules].join(', ');
    lines.push(`share ${g.share} across ${who}`);
  }
  const sched = (s: { every: { count: number; unit: string }; max?: number; until: number }) =>
    `every ${s.every.count} ${s.every.count === 1 ? s.every.unit.slice(0, -1) : s.every.unit}${s.max !== undefined ? `, at most ${s.max}` : ''}${s.until < 1 ? `, until ${+(s.until * 100).toFixed(4)}%` : ''}`;
  if (plan.merge) {
    const parts = [...(plan.merge.static.length ? [`static ${plan.merge.static.map((r) => `${r.from}..${r.to}`).join(', ')}`] : []), ...(plan.merge.schedule ? [sched(plan.merge.schedule)] : [])];
    lines.push(`merge: ${parts.join('; ')} (init ${plan.merge.init})`);
  }
  if (plan.inject) lines.push(`inject: ${sched(plan.inject)}, rank ${plan.inject.rank ?? 'r/2'}`);
  const t = plan.train;
  lines.push(`train: ${t.task.kind}, ${t.optimizer.kind} lr ${t.optimizer.lr}, ${t.schedule.kind} schedule, batch ${t.batch}, ${t.length.count} ${t.length.unit}`);
  lines.push(`target: ${plan.target.device}${plan.target.fallback ? ` (fallback ${plan.target.fallback})` : ''}`);
  return lines.join('\n');
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'check a .lor2c spec and report every problem with its position',
  help: `Usage: lor2c check SPEC.lor2c [--model MODEL.onnx]

Parses and checks an adapter spec and prints every syntax and semantic problem it finds, each
as FILE:LINE:COL with the source line underlined and a hint. On success prints a short summary
of the plan (modules, adapters, schedules, training settings).

Options:
  --model MODEL.onnx   the base model, for the checks that need it (block count, widths,
                       projections) and the parameter report. Default: the spec's
                       \`model\` when that file exists.

Exit status: 0 no errors (warnings may be printed), 1 errors, 2 usage error.
The language is described in spec/language.md.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { model: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('expected exactly one SPEC.lor2c');
    const file = positionals[0]!;
    const text = readSpecFile(file);
    // Read once; the rules run once, with the model's facts when there is a model to read.
    const spec = readSpec(text, file);
    const modelPath = values.model ?? (spec.plan?.model && existsSync(spec.plan.model) ? spec.plan.model : undefined);
    let report: string | undefined;
    let result;
    if (spec.plan && modelPath !== undefined) {
      // The model's facts (block count, width, projections) enable the model-dependent checks.
      const base = prepareBase(spec.plan, modelPath);
      result = spec.check(modelFacts(base));
      if (result.plan) report = `${describeBase(base)}\n${renderReport(adapterReport(base, result.plan, result.layout))}`;
    } else {
      result = spec.check();
    }
    if (result.diagnostics.length > 0) console.error(renderDiagnostics(result.diagnostics, text));
    if (hasErrors(result.diagnostics) || !result.plan) {
      const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
      console.error(`${file}: ${errors} error${errors === 1 ? '' : 's'}`);
      return 1;
    }
    console.log(`${file}: ok`);
    console.log(summarizePlan(result.plan));
    if (report) console.log(report);
    return 0;
  },
};
