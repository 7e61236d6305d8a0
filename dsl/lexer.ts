/**
 * The tokens of the .lor2c language.
 *
 * The language is deliberately generic at the token level: every keyword except `let` is an
 * ordinary identifier, so a misspelt keyword still lexes and parses, and the checker (which
 * knows what each context accepts) can say "unknown setting `alpah`, did you mean `alpha`?".
 * Newlines are significant (they end a setting), except inside `( )` and `[ ]`, so long calls
 * and lists may be wrapped: the lexer has a mode for the inside of brackets, where a line break
 * is skipped. Comments are kept on a side channel so the formatter can put them back.
 */
import { createToken, Lexer, type ILexingError, type IToken, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v\uFEFF\u00A0]+/, group: Lexer.SKIPPED });
/** A line break ends a setting, like `;`. */
export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
/** `# ...` or `// ...` to the end of the line; collected in the `comments` group, not seen by the parser. */
export const Comment = createToken({ name: 'Comment', pattern: /(?:#|\/\/)[^\n]*/, group: 'comments' });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
/** The one reserved word: `let name = value`. `letter` and `lets` stay identifiers. */
export const Let = createToken({ name: 'Let', pattern: /let/, longer_alt: Identifier });

/**
 * `"..."` up to the next unescaped `"` on the same line, `\\` escaping one character. A loop
 * rather than a regular expression: a backtracking match of a long string costs stack per
 * character. Unterminated strings do not match, so they fail to lex and are reported.
 */
function matchString(text: string, offset: number): [string] | null {
  if (text.charCodeAt(offset) !== 34) return null;
  // After a failed scan, the lexer retries one character further on. A `"` before the point
  // where that scan failed was read by it as escaped, so a scan from there reads the rest
  // the same way and fails too: answering at once keeps `"\"\"\"...` linear, not quadratic.
  if (text === unterminated.text && offset < unterminated.until) return null;
  for (let i = offset + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return [text.slice(offset, i + 1)];
    if (c === 10) return fail(text, i);
    if (c === 92) {
      // As `\\.` in a regular expression: any character but a line terminator may be escaped.
      const next = text.charCodeAt(i + 1);
      if (Number.isNaN(next) || next === 10 || next === 13 || next === 0x2028 || next === 0x2029) return fail(text, i);
      i++;
    }
  }
  return fail(text, text.length);
}

const unterminated = { text: undefined as string | undefined, until: -1 };

function fail(text: string, at: number): null {
  unterminated.text = text;
  unterminated.until = at;
  return null;
}

/** A string with JSON-style escapes. */
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: matchString, start_chars_hint: ['"'], line_breaks: false });
/** `25%` is a fraction (0.25); it comes before Number so the `%` is not left behind. */
export const Percent = createToken({ name: 'Percent', pattern: /-?\d+(?:\.\d+)?%/ });
/**
 * A number. A decimal point must be followed by a digit, so `0..11` lexes as `0`, `..`, `11`.
 * The sign belongs to the literal: blocks may be counted from the end (`-1` is the last block).
 */
export const NumberLiteral = createToken({ name: 'NumberLiteral', pattern: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });

export const DotDot = createToken({ name: 'DotDot', pattern: /\.\./ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Semicolon = createToken({ name: 'Semicolon', pattern: /;/ });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });

/*
 * Brackets. The lexer starts in mode `lines`; `(` and `[` enter mode `brackets` (nested ones
 * nest), where `)` and `]` leave it again. A brace inside brackets is always a mistake (blocks
 * hold settings, brackets values): it returns to `lines` for the rest of the file, so an
 * unclosed `(` or `[` does not swallow the following settings into one value group. `)` and `]`
 * in `lines` close nothing (the parser reports them). Each bracket the parser sees is thus one
 * of two lexer tokens, in the category it consumes.
 */
const BRACKETS = 'brackets';
const LINES = 'lines';

export const LParen = createToken({ name: 'LParen', pattern: /\(/, push_mode: BRACKETS });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, push_mode: BRACKETS });

export const RParen = createToken({ name: 'RParen', pattern: Lexer.NA });
export const RBracket = createToken({ name: 'RBracket', pattern: Lexer.NA });
export const LCurly = createToken({ name: 'LCurly', pattern: Lexer.NA });
export const RCurly = createToken({ name: 'RCurly', pattern: Lexer.NA });

const ClosingParen = createToken({ name: 'ClosingParen', pattern: /\)/, categories: RParen, pop_mode: true });
const ClosingBracket = createToken({ name: 'ClosingBracket', pattern: /\]/, categories: RBracket, pop_mode: true });
const UnmatchedParen = createToken({ name: 'UnmatchedParen', pattern: /\)/, categories: RParen });
const UnmatchedBracket = createToken({ name: 'UnmatchedBracket', pattern: /\]/, categories: RBracket });
const OpeningCurly = createToken({ name: 'OpeningCurly', pattern: /\{/, categories: LCurly });
const ClosingCurly = createToken({ name: 'ClosingCurly', pattern: /\}/, categories: RCurly });
const OpeningCurlyInBrackets = createToken({ name: 'OpeningCurlyInBrackets', pattern: /\{/, categories: LCurly, push_mode: LINES });
const ClosingCurlyInBrackets = createToken({ name: 'ClosingCurlyInBrackets', pattern: /\}/, categories: RCurly, push_mode: LINES });

/** Inside brackets a line break is white space. */
const NewlineInBrackets = createToken({ name: 'NewlineInBrackets', pattern: /\n/, line_breaks: true, group: Lexer.SKIPPED });
/** The same in both modes. */
const valueTokens: TokenType[] = [WhiteSpace, Comment, Let, Identifier, StringLiteral, Percent, NumberLiteral, DotDot, LParen, LBracket, Comma, Semicolon, Equals];

/**
 * Order matters within a mode: the first pattern that matches wins (Let before Identifier,
 * Percent before Number).
 */
const modes = {
  [LINES]: [Newline, ...valueTokens, OpeningCurly, ClosingCurly, UnmatchedParen, UnmatchedBracket],
  [BRACKETS]: [NewlineInBrackets, ...valueTokens, OpeningCurlyInBrackets, ClosingCurlyInBrackets, ClosingParen, ClosingBracket],
};

/** Every token type the parser may meet or consume, categories included. */
export const allTokens: TokenType[] = [...new Set([...modes[LINES], ...modes[BRACKETS], RParen, RBracket, LCurly, RCurly])];

const lexer = new Lexer({ modes, defaultMode: LINES }, {
  // Only offsets are used downstream: line/column are recomputed from them (diagnostics.ts
  // LineIndex), which also works for tokens the parser inserts during error recovery.
  positionTracking: 'onlyOffset',
  ensureOptimizations: false,
});

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  errors: ILexingError[];
}

export function tokenize(text: string): LexResult {
  const result = lexer.tokenize(text);
  unterminated.text = undefined; // do not keep the text alive
  return { tokens: result.tokens, comments: result.groups['comments'] ?? [], errors: result.errors };
}
