/**
 * The .lor2c language: public API. Nothing here throws, whatever the input.
 *
 *   parseSpec(text, file)              -> { ast, diagnostics }       syntax only
 *   checkSpec(text, file, modelFacts?) -> { plan?, diagnostics }     syntax + meaning
 *   readSpec(text, file).check(facts?) -> the same, the text read once for several checks
 *   formatSpec(text)                   -> canonical text (input unchanged when it has syntax errors)
 *   tryFormatSpec(text, file)          -> { text?, diagnostics }
 *   resolveBlocks / resolvePlan        -> symbolic block choices applied to a block count
 */
import type { SpecFile } from './ast.ts';
import { Checker } from './checker.ts';
import { hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import { formatAst } from './format.ts';
import { parseText } from './parse.ts';
import type { ModelFacts, Plan } from '../contract/plan.ts';
import { runRules } from './rules.ts';
import type { Layout } from './resolve.ts';

export type * from './ast.ts';
export type * from '../contract/plan.ts';
export { PLAN_VERSION, PROJECTION_ROLES } from '../contract/plan.ts';
export type { Diagnostic, Severity, SourceRange } from './diagnostics.ts';
export { renderDiagnostic, renderDiagnostics, hasErrors, sortDiagnostics } from './diagnostics.ts';
export { resolveBlocks, resolvePlan, outOfRange, isConcrete, layoutModules, moduleId, ALL_BLOCKS } from './resolve.ts';
export type { Layout, LayoutProblem } from './resolve.ts';
export { editDistance } from './suggest.ts';
export * from './limits.ts';
export { RENDERED_DIAGNOSTICS_LIMIT, EXCERPT_WIDTH } from './diagnostics.ts';

function internalError(e: unknown, file: string): Diagnostic {
  return {
    severity: 'error',
    code: 'internal',
    message: `internal error: ${e instanceof Error ? e.message : String(e)}`,
    hint: 'this is a bug in lor2c; please report it with the spec',
    range: { file, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0 },
  };
}

const emptyAst = (file: string): SpecFile => ({ kind: 'spec', items: [], comments: [], range: { file, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0 } });

/** Lexes and parses; the AST holds everything that could be recovered. */
export function parseSpec(text: string, file = '<spec>'): { ast: SpecFile; diagnostics: Diagnostic[] } {
  try {
    const { ast, diagnostics } = parseText(String(text), file);
    return { ast, diagnostics: sortDiagnostics(diagnostics) };
  } catch (e) {
    return { ast: emptyAst(file), diagnostics: [internalError(e, file)] };
  }
}

export interface CheckResult {
  /** Present when there are no errors (warnings allowed). */
  plan?: Plan;
  /** Syntax and semantic diagnostics, in source order. */
  diagnostics: Diagnostic[];
  /** The module layout the checks were made on, when the block count was known (with `plan`: the one `plan.modules` holds). */
  layout?: Layout;
}

/**
 * A spec read once: its syntax and settings, before the rules. `check` runs the rules with
 * what the model says, so a caller that learns the model from the spec itself (its `model`
 * and `blocks` settings) reads the text only once.
 */
export interface ReadSpec {
  /** Syntax and reading diagnostics (the rules' come from `check`). */
  diagnostics: Diagnostic[];
  /** The plan as read, before the rules; present when reading found no errors. */
  plan?: Plan;
  /** Runs the rules (`facts` enables the checks that need a model); the result is as `checkSpec`'s. */
  check(facts?: ModelFacts): CheckResult;
}

/** Lexes, parses and reads a spec; nothing here throws, whatever the input. */
export function readSpec(text: string, file = '<spec>'): ReadSpec {
  try {
    const parsed = parseText(String(text), file);
    if (parsed.refused) return { diagnostics: parsed.diagnostics, check: () => ({ diagnostics: parsed.diagnostics }) };
    const checker = new Checker(parsed.index, file);
    checker.read(parsed.ast);
    const read = sortDiagnostics([...parsed.diagnostics, ...checker.diagnostics]);
    const draft = checker.draft();
    const check = (facts?: ModelFacts): CheckResult => {
      try {
        const checked = runRules(facts ? { ...draft, facts } : draft, parsed.index);
        const diagnostics = sortDiagnostics([...read, ...checked.diagnostics]);
        const layout = checked.layout ? { layout: checked.layout } : {};
        if (hasErrors(diagnostics)) return { diagnostics, ...layout };
        // A JSON round trip drops the checker's shared references: the plan is plain data.
        return { plan: JSON.parse(JSON.stringify(checked.plan)) as Plan, diagnostics, ...layout };
      } catch (e) {
        return { diagnostics: [internalError(e, file)] };
      }
    };
    return hasErrors(read) ? { diagnostics: read, check } : { diagnostics: read, plan: JSON.parse(JSON.stringify(draft.plan)) as Plan, check };
  } catch (e) {
    const diagnostics = [internalError(e, file)];
    return { diagnostics, check: () => ({ diagnostics }) };
  }
}

/**
 * Parses and checks a spec. Semantic checks run even after syntax errors (on what was
 * recovered), so one run reports as much as possible. `facts` enables the checks that need a
 * model (block count, widths, projections) and expands `plan.modules`.
 */
export function checkSpec(text: string, file = '<spec>', facts?: ModelFacts): CheckResult {
  return readSpec(text, file).check(facts);
}

/** Formats when the text has no syntax errors; otherwise returns the diagnostics and no text. */
export function tryFormatSpec(text: string, file = '<spec>'): { text?: string; diagnostics: Diagnostic[] } {
  try {
    const parsed = parseText(String(text), file);
    if (parsed.diagnostics.length > 0) return { diagnostics: sortDiagnostics(parsed.diagnostics) };
    return { text: formatAst(parsed.ast), diagnostics: [] };
  } catch (e) {
    return { diagnostics: [internalError(e, file)] };
  }
}

/** The canonical form of a spec; text with syntax errors comes back unchanged. */
export function formatSpec(text: string): string {
  return tryFormatSpec(text).text ?? String(text);
}
