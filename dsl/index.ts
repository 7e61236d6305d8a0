/**
 * The .lor2c language: public API. Nothing here throws, whatever the input.
 *
 *   parseSpec(text, file)              -> { ast, diagnostics }       syntax only
 *   checkSpec(text, file, modelFacts?) -> { plan?, diagnostics }     syntax + meaning
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

export type * from './ast.ts';
export type * from '../contract/plan.ts';
export { PLAN_VERSION, PROJECTION_ROLES } from '../contract/plan.ts';
export type { Diagnostic, Severity, SourceRange } from './diagnostics.ts';
export { renderDiagnostic, renderDiagnostics, hasErrors, sortDiagnostics } from './diagnostics.ts';
export { resolveBlocks, resolvePlan, outOfRange, isConcrete, layoutModules, moduleId, ALL_BLOCKS } from './resolve.ts';
export { DEFAULTS } from './checker.ts';
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
}

/**
 * Parses and checks a spec. Semantic checks run even after syntax errors (on what was
 * recovered), so one run reports as much as possible. `facts` enables the checks that need a
 * model (block count, widths, projections) and expands `plan.modules`.
 */
export function checkSpec(text: string, file = '<spec>', facts?: ModelFacts): CheckResult {
  try {
    const parsed = parseText(String(text), file);
    if (parsed.refused) return { diagnostics: parsed.diagnostics };
    const checker = new Checker(parsed.index, file);
    checker.read(parsed.ast);
    const draft = checker.draft(facts);
    const semantic = runRules(draft, parsed.index);
    const diagnostics = sortDiagnostics([...parsed.diagnostics, ...checker.diagnostics, ...semantic]);
    // A JSON round trip drops the checker's shared references: the plan is plain data.
    return hasErrors(diagnostics) ? { diagnostics } : { plan: JSON.parse(JSON.stringify(draft.plan)) as Plan, diagnostics };
  } catch (e) {
    return { diagnostics: [internalError(e, file)] };
  }
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
