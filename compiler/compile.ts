/**
 * The compiler's front door: a checked Plan plus a base model in, artifacts out.
 *
 * Compilation has two halves (compile-structure.ts). `prepareBase` does the work that depends
 * only on the base model (reading it, lifting Constant-node weights, finding the blocks);
 * `compileStructure` turns one adapter structure into the train / eval / infer graphs. The
 * runtime keeps a prepared base and calls `compileStructure` again at every Merge / Inject, so
 * a recompile never re-reads or re-analyses the model.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { readSpecFile } from './spec-file.ts';
import { hasErrors, readSpec, renderDiagnostics, resolvePlan, type Diagnostic, type Layout, type ModelFacts, type Plan, type StackExtent } from '../dsl/index.ts';
import { UserError } from '../contract/errors.ts';
import { readRegularFile } from '../contract/regular-file.ts';
import { cloneModel } from './graph/index.ts';
import { readModel } from './onnx/index.ts';
import { SPEC_HINT } from './locate/index.ts';
import { applyAdapters, type AdapterStructure } from './adapters/apply.ts';
import { writeArtifacts, type WrittenArtifacts } from './emit/artifacts.ts';
import { emitBindings } from './emit/bindings.ts';
import { parameterReport, type ParameterReport } from './report.ts';
import { DEFER_WEIGHTS_ABOVE, compileStructure, extraInfo, extraTrainables, prepareModel, type CompileOptions, type Compiled, type PreparedBase } from './compile-structure.ts';

export { LOR2C_VERSION, DEFER_WEIGHTS_ABOVE, compileStructure, prepareModel, type CompileOptions, type Compiled, type PreparedBase } from './compile-structure.ts';

/** Reads the base model from its file and prepares it (prepareModel). */
export function prepareBase(plan: Plan, modelPath: string): PreparedBase {
  const path = resolve(modelPath);
  const proto = readModel(path, { deferAbove: DEFER_WEIGHTS_ABOVE });
  return prepareModel(plan, proto, { path, sha256: createHash('sha256').update(readRegularFile(path, 'model')).digest('hex') });
}

/** What the DSL checker can verify once the model is known. */
export function modelFacts(base: PreparedBase): ModelFacts {
  return {
    blockCount: base.blocks.blocks.length,
    stacks: stackExtents(base),
    hidden: [base.blocks.hidden],
    // Roles LoRA can target: a fused QKV projection offers q, k and v after its split.
    projections: [...new Set(base.sites.allProjections().map((p) => p.role).filter((r): r is string => r !== undefined))],
  };
}

/** The model's stacks in the DSL's terms: where each one's blocks lie in the model's numbering. */
export function stackExtents(base: PreparedBase): StackExtent[] {
  return base.blocks.stacks.map((s) => ({ name: s.name, first: s.first, count: s.count, ...(s.twinOf ? { twinOf: s.twinOf } : {}) }));
}

export function describeBase(base: PreparedBase): string {
  return `blocks      ${base.blocks.blocks.length} (${base.blocks.style}, hidden ${base.blocks.hidden}) in ${base.modelPath}`;
}

/** The parameter report of the plan's initial structure, without building the training graphs. */
export function adapterReport(base: PreparedBase, plan: Plan, layout?: Layout): ParameterReport {
  const structure = initialStructure(plan, base, layout);
  const applied = applyAdapters(cloneModel(base.model), base.sites, structure, { seed: plan.train.seed });
  return parameterReport([...applied.parameters, ...extraTrainables(base.model, plan).map(extraInfo)], structure, base.baseParameters);
}

/** The plan's adapter structure on this model's block count; `layout`: its module layout there, when the check with this model's facts made it. */
export function initialStructure(plan: Plan, base: PreparedBase, layout?: Layout): AdapterStructure {
  const { resolved, problems } = resolvePlan(plan, base.blocks.blocks.length, stackExtents(base), layout);
  if (problems.length) throw new UserError(`the spec does not fit the model (${base.blocks.blocks.length} blocks):\n  ${problems.join('\n  ')}`);
  return { modules: resolved.modules, share: resolved.share, lora: resolved.lora };
}

export interface SpecCompileResult {
  written: WrittenArtifacts;
  compiled: Compiled;
  base: PreparedBase;
  diagnostics: Diagnostic[];
  /** The spec's text as read, for rendering the diagnostics (the file is read once). */
  specText: string;
  seconds: { prepare: number; compile: number; write: number };
}

/**
 * Checks a spec file, reads its model, compiles and writes DIR. Spec errors become one UserError
 * with rendered diagnostics. The spec is read once; its rules run once, with the model's facts,
 * and the module layout they checked is the one compiled.
 */
export function compileSpecFile(specPath: string, opts: CompileOptions & { model?: string; out: string; emitTs?: boolean; strict?: boolean; force?: boolean;
  /**
   * Files the caller writes beside the artifacts (replaced with them, counted as lor2c's own),
   * decided from the read spec before the model is prepared, so the caller's own checks (a
   * tokenizer the spec names) fail fast.
   */
  alsoWrite?: (read: Plan) => ((staging: string) => void) | undefined }): SpecCompileResult {
  const text = readSpecFile(specPath);
  const spec = readSpec(text, specPath);
  const read = withoutErrors(spec.plan, spec.diagnostics, specPath, text);
  const modelPath = opts.model ?? read.model;
  if (!modelPath) throw new UserError(`${specPath} names no model`, 'add `model "path/to/model.onnx"` to the spec or pass --model');
  const alsoWrite = opts.alsoWrite?.(read);
  let t0 = performance.now();
  const base = prepareBase(read, modelPath);
  const prepare = (performance.now() - t0) / 1000;
  if (opts.strict && base.blocks.doubts.length) {
    throw new UserError(`--strict: the block structure found in ${modelPath} is doubtful:\n  ${base.blocks.doubts.join('\n  ')}`, `${SPEC_HINT}; \`lor2c inspect MODEL\` shows what was found`);
  }
  // The rules, with what the model says (block count, width), for positioned diagnostics.
  const checked = spec.check(modelFacts(base));
  const plan = withoutErrors(checked.plan, checked.diagnostics, specPath, text);
  t0 = performance.now();
  const compiled = compileStructure(base, plan, initialStructure(plan, base, checked.layout), opts);
  const compile = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const { train, eval: evalModel, infer, update } = compiled.graphs;
  // Bindings are generated before anything is written, so a failure leaves DIR as it was.
  const bindings = opts.emitTs ? emitBindings(compiled.manifest, { artifactsDir: resolve(opts.out) }) : undefined;
  const written = writeArtifacts(opts.out, { graphs: { train, eval: evalModel, infer, update }, manifest: compiled.manifest, initial: compiled.initial }, undefined, { bindings, force: opts.force, alsoWrite });
  return { written, compiled, base, diagnostics: checked.diagnostics, specText: text, seconds: { prepare, compile, write: (performance.now() - t0) / 1000 } };
}

/** The plan, or one UserError with every diagnostic rendered. */
function withoutErrors(plan: Plan | undefined, diagnostics: Diagnostic[], specPath: string, text: string): Plan {
  if (hasErrors(diagnostics) || !plan) {
    throw new UserError(`${specPath} has errors:\n${renderDiagnostics(diagnostics, text)}`, 'fix them, then compile again (`lor2c check` shows the same)');
  }
  return plan;
}
