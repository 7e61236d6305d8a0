/**
 * Text -> AST plus syntax diagnostics: lexing, parsing with recovery, and CST -> AST, with
 * chevrotain's messages rewritten in the language's own terms (`}` rather than `RCurly`).
 */
import type { ILexingError, IRecognitionException, IToken } from 'chevrotain';
import type { SpecFile } from './ast.ts';
import { CstToAst } from './cst-to-ast.ts';
import { LineIndex, type Diagnostic } from './diagnostics.ts';
import { tokenize } from './lexer.ts';
import { parseTokens } from './parser.ts';

const tokenDisplay: Record<string, string> = {
  Newline: 'end of line',
  Comment: 'comment',
  Let: '`let`',
  Identifier: 'a name',
  StringLiteral: 'a string',
  Percent: 'a percentage',
  NumberLiteral: 'a number',
  DotDot: '`..`',
  LCurly: '`{`',
  RCurly: '`}`',
  LParen: '`(`',
  RParen: '`)`',
  LBracket: '`[`',
  RBracket: '`]`',
  Comma: '`,`',
  Semicolon: '`;`',
  Equals: '`=`',
  EOF: 'end of file',
};

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

function expectedFrom(message: string): string | undefined {
  // chevrotain: "Expecting token of type --> RCurly <-- but found --> '(' <--"
  const single = /Expecting token of type --> (\w+) <--/.exec(message);
  if (single) return tokenDisplay[single[1]!] ?? single[1];
  return undefined;
}

function syntaxDiagnostic(e: IRecognitionException, index: LineIndex): Diagnostic {
  const token = e.token;
  const atEnd = !token || !Number.isFinite(token.startOffset) || token.tokenType?.name === 'EOF';
  // Point at the offending token; at end of input, at the last character (or the empty end).
  const range = atEnd
    ? index.range(Math.max(0, index.text.length - (index.text.endsWith('\n') ? 1 : 0)), 0)
    : index.range(token.startOffset, Math.max(1, token.image.length));
  const found = token ? describeFound(token) : 'end of file';
  const expected = expectedFrom(e.message);
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
  const ch = index.text.slice(e.offset, e.offset + Math.max(1, e.length));
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
  const shown = JSON.stringify(ch).slice(1, -1);
  return {
    severity: 'error',
    code: 'syntax',
    message: `unexpected character${ch.length > 1 ? 's' : ''} \`${shown}\``,
    hint: first === "'" ? 'strings use double quotes: "..."' : 'comments start with `#` or `//`; names use letters, digits and `_`',
    range: index.range(e.offset, Math.max(1, e.length)),
  };
}

export interface ParsedSpec {
  ast: SpecFile;
  /** Lexing and parsing errors only. */
  diagnostics: Diagnostic[];
  index: LineIndex;
}

/**
 * Real specs nest three or four levels; the recursive-descent parser would exhaust the stack
 * at a few hundred. Tokens from the first one deeper than this are not parsed (and reported).
 */
export const MAX_NESTING = 64;

function nestingCut(tokens: IToken[]): number | undefined {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const name = tokens[i]!.tokenType.name;
    if (name === 'LCurly' || name === 'LParen' || name === 'LBracket') {
      if (++depth > MAX_NESTING) return i;
    } else if (name === 'RCurly' || name === 'RParen' || name === 'RBracket') {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

export function parseText(text: string, file: string): ParsedSpec {
  const index = new LineIndex(text, file);
  const lexed = tokenize(text);
  const diagnostics: Diagnostic[] = lexed.errors.map((e) => lexDiagnostic(e, index));
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
  const parsed = parseTokens(tokens);
  const seen = new Set<number>();
  for (const e of parsed.errors) {
    const d = syntaxDiagnostic(e, index);
    // Recovery can report several errors at one spot; the first says it best.
    if (seen.has(d.range.offset)) continue;
    seen.add(d.range.offset);
    diagnostics.push(d);
  }
  const ast = new CstToAst(index).spec(parsed.cst, comments);
  return { ast, diagnostics, index };
}
