/**
 * Text -> AST plus syntax diagnostics: lexing, parsing with recovery, and CST -> AST, with
 * syntax errors described in the language's own terms (`}` rather than `RCurly`).
 */
import { tokenMatcher, type ILexingError, type IRecognitionException, type IToken } from 'chevrotain';
import type { SpecFile } from './ast.ts';
import { CstToAst } from './cst-to-ast.ts';
import { LineIndex, type Diagnostic } from './diagnostics.ts';
import { LBracket, LCurly, LParen, RBracket, RCurly, RParen, StringLiteral, tokenize } from './lexer.ts';
import { MAX_LEXING_ERRORS, MAX_NESTING, MAX_SHOWN_CHARACTERS, MAX_SPEC_LENGTH, MAX_STRING_LENGTH, MAX_SYNTAX_ERRORS } from './limits.ts';
import { parseTokens, TooManySyntaxErrors } from './parser.ts';

/** What the parser was in the middle of, for the hint. */
const ruleDisplay: Record<string, string> = {
  letStatement: 'a `let name = value` definition',
  setting: 'a setting',
  block: 'a `{ ... }` block',
  group: 'the values of a setting',
  value: 'a value',
  atom: 'a value',
  call: 'the arguments of a call `name(...)`',
  list: 'a list `[...]`',
};

function describeFound(token: IToken): string {
  const name = token.tokenType?.name ?? 'EOF';
  if (name === 'EOF' || !Number.isFinite(token.startOffset)) return 'end of file';
  if (name === 'Newline') return 'end of line';
  return `\`${token.image}\``;
}

function syntaxDiagnostic(e: IRecognitionException, index: LineIndex): Diagnostic {
  const token = e.token;
  const atEnd = !token || !Number.isFinite(token.startOffset) || token.tokenType?.name === 'EOF';
  // Point at the offending token; at end of input, at the last character (or the empty end).
  const range = atEnd
    ? index.range(Math.max(0, index.text.length - (index.text.endsWith('\n') ? 1 : 0)), 0)
    : index.range(token.startOffset, Math.max(1, token.image.length));
  const found = token ? describeFound(token) : 'end of file';
  // What a mismatch expected, as dsl/syntax-messages.ts wrote it.
  const expected = e.name === 'MismatchedTokenException' ? e.message : undefined;
  const rule = e.context?.ruleStack?.at(-1);
  const within = rule ? ruleDisplay[rule] : undefined;
  let message: string;
  let hint: string | undefined;
  const closers = ['`}`', '`)`', '`]`'];
  if (expected === 'end of file' || e.name === 'NotAllInputParsedException') {
    message = `unexpected ${found}`;
    hint = found === '`}`' ? 'this `}` closes nothing; remove it or add the matching `{`' : 'a setting starts with a name, e.g. `rank 8`';
  } else if (e.name === 'MismatchedTokenException' && found === 'end of file') {
    message = `expected ${expected ?? 'more'} but the file ended`;
    if (expected && closers.includes(expected)) hint = `${within ?? 'a bracket'} is not closed`;
  } else if (e.name === 'MismatchedTokenException') {
    message = `unexpected ${found}; expected ${expected ?? 'something else'}`;
    if (expected === '`}`') hint = 'each setting goes on its own line (or after `;`) and starts with a name, e.g. `rank 8`';
    else if (within) hint = `while reading ${within}`;
  } else if (e.name === 'EarlyExitException') {
    message = `expected a value but found ${found}`;
    if (within) hint = `while reading ${within}`;
  } else {
    message = `unexpected ${found}`;
    if (rule === 'item' || rule === 'spec' || rule === 'block') hint = 'a setting starts with a name (e.g. `rank 8`), or write `let name = value`';
    else if (within) hint = `expected ${within}`;
  }
  return hint ? { severity: 'error', code: 'syntax', message, hint, range } : { severity: 'error', code: 'syntax', message, range };
}

function lexDiagnostic(e: ILexingError, index: LineIndex): Diagnostic {
  const length = Math.max(1, e.length);
  const ch = index.text.slice(e.offset, e.offset + Math.min(length, MAX_SHOWN_CHARACTERS));
  const first = ch[0] ?? '';
  if (first === '"') {
    return {
      severity: 'error',
      code: 'syntax',
      message: 'unterminated string',
      hint: 'a string ends with `"` on the same line; write `\\"` for a quote inside it',
      range: index.range(e.offset, Math.max(1, e.length)),
    };
  }
  const shown = JSON.stringify(ch).slice(1, -1) + (length > ch.length ? `...\` (${length.toLocaleString('en-US')} characters)` : '`');
  return {
    severity: 'error',
    code: 'syntax',
    message: `unexpected character${length > 1 ? 's' : ''} \`${shown}`,
    hint: first === "'" ? 'strings use double quotes: "..."' : 'comments start with `#` or `//`; names use letters, digits and `_`',
    range: index.range(e.offset, Math.max(1, e.length)),
  };
}

export interface ParsedSpec {
  ast: SpecFile;
  /** Lexing and parsing errors only. */
  diagnostics: Diagnostic[];
  index: LineIndex;
  /** The text was refused unread (over MAX_SPEC_LENGTH): there is nothing to check. */
  refused?: true;
}

function nestingCut(tokens: IToken[]): number | undefined {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (tokenMatcher(token, LCurly) || tokenMatcher(token, LParen) || tokenMatcher(token, LBracket)) {
      if (++depth > MAX_NESTING) return i;
    } else if (tokenMatcher(token, RCurly) || tokenMatcher(token, RParen) || tokenMatcher(token, RBracket)) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** Nothing is read from a text over MAX_SPEC_LENGTH: the whole result is this one error. */
function tooLong(text: string, file: string): ParsedSpec {
  const index = new LineIndex('', file);
  const diagnostic: Diagnostic = {
    severity: 'error',
    code: 'spec-too-large',
    message: `the spec is ${text.length.toLocaleString('en-US')} characters long; the limit is ${MAX_SPEC_LENGTH.toLocaleString('en-US')}`,
    hint: 'a spec is a few settings; is this the right file?',
    range: { file, line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, length: 0 },
  };
  return { ast: { kind: 'spec', items: [], comments: [], range: diagnostic.range }, diagnostics: [diagnostic], index, refused: true };
}

/** Strings over MAX_STRING_LENGTH are reported (and kept: the rest of the file still checks). */
function longStrings(tokens: IToken[], index: LineIndex): Diagnostic[] {
  return tokens
    .filter((t) => t.tokenType === StringLiteral && t.image.length - 2 > MAX_STRING_LENGTH)
    .map((t) => ({
      severity: 'error',
      code: 'string-too-long',
      message: `this string is ${(t.image.length - 2).toLocaleString('en-US')} characters long; the limit is ${MAX_STRING_LENGTH.toLocaleString('en-US')}`,
      hint: 'strings name files, tensors and patterns; shorten it',
      range: index.range(t.startOffset, t.image.length),
    }));
}

/**
 * Parses; past MAX_SYNTAX_ERRORS, parses again only the tokens before the error over the limit
 * (allowing a few more errors, as the cut itself may add one at the new end).
 */
function parseBounded(tokens: IToken[], index: LineIndex): { parsed: ReturnType<typeof parseTokens>; cut?: Diagnostic } {
  let kept = tokens;
  let cutOffset: number | undefined;
  for (let limit = MAX_SYNTAX_ERRORS; ; limit += 8) {
    try {
      const parsed = parseTokens(kept, limit);
      if (cutOffset === undefined) return { parsed };
      const at = cutOffset < index.text.length ? index.range(cutOffset, 1) : index.range(index.text.length, 0);
      return {
        parsed,
        cut: { severity: 'error', code: 'syntax', message: `more than ${MAX_SYNTAX_ERRORS} syntax errors; the rest of the file is not read`, hint: 'fix the first ones: later errors often follow from them', range: at },
      };
    } catch (e) {
      if (!(e instanceof TooManySyntaxErrors)) throw e;
      const offset = [...e.errors].reverse().find((x) => Number.isFinite(x.token.startOffset))?.token.startOffset ?? 0;
      // Always shorter than before, so this ends.
      const cutAt = Math.min(kept.length - 1, Math.max(0, kept.findIndex((t) => t.startOffset >= offset)));
      kept = kept.slice(0, cutAt);
      cutOffset = kept.length < tokens.length ? tokens[kept.length]!.startOffset : index.text.length;
    }
  }
}

export function parseText(text: string, file: string): ParsedSpec {
  if (text.length > MAX_SPEC_LENGTH) return tooLong(text, file);
  const index = new LineIndex(text, file);
  const lexed = tokenize(text);
  const diagnostics: Diagnostic[] = lexed.errors.slice(0, MAX_LEXING_ERRORS).map((e) => lexDiagnostic(e, index));
  const unlisted = lexed.errors.length - MAX_LEXING_ERRORS;
  if (unlisted > 0) {
    const next = lexed.errors[MAX_LEXING_ERRORS]!;
    diagnostics.push({
      severity: 'error',
      code: 'syntax',
      message: `... and ${unlisted.toLocaleString('en-US')} more unexpected character${unlisted === 1 ? '' : 's'} or unterminated string${unlisted === 1 ? '' : 's'}, from here on`,
      hint: `the first ${MAX_LEXING_ERRORS} are listed; is this a .lor2c file?`,
      range: index.range(next.offset, Math.max(1, next.length)),
    });
  }
  diagnostics.push(...longStrings(lexed.tokens, index));
  const cut = nestingCut(lexed.tokens);
  let tokens = lexed.tokens;
  let comments = lexed.comments;
  if (cut !== undefined) {
    const at = tokens[cut]!;
    diagnostics.push({
      severity: 'error',
      code: 'syntax',
      message: `brackets nested more than ${MAX_NESTING} deep`,
      hint: 'the rest of the file is not read; a spec needs only a few levels',
      range: index.range(at.startOffset, at.image.length),
    });
    tokens = tokens.slice(0, cut);
    comments = comments.filter((c) => c.startOffset < at.startOffset);
  }
  const { parsed, cut: stopped } = parseBounded(tokens, index);
  const seen = new Set<number>();
  for (const e of parsed.errors) {
    const d = syntaxDiagnostic(e, index);
    // Recovery can report several errors at one spot; the first says it best.
    if (seen.has(d.range.offset)) continue;
    seen.add(d.range.offset);
    diagnostics.push(d);
  }
  if (stopped) {
    diagnostics.push(stopped);
    comments = comments.filter((c) => c.startOffset < stopped.range.offset);
  }
  const ast = new CstToAst(index).spec(parsed.cst, comments);
  return { ast, diagnostics, index };
}
