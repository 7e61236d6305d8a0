/**
 * The tokens of the .lor2c language.
 *
 * The language is deliberately generic at the token level: every keyword except `let` is an
 * ordinary identifier, so a misspelt keyword still lexes and parses, and the checker (which
 * knows what each context accepts) can say "unknown setting `alpah`, did you mean `alpha`?".
 * Newlines are significant (they end a setting); comments are kept on a side channel so the
 * formatter can put them back.
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

/** A string with JSON-style escapes. Unterminated strings fail to lex and are reported. */
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"(?:[^"\\\n]|\\.)*"/ });
/** `25%` is a fraction (0.25); it comes before Number so the `%` is not left behind. */
export const Percent = createToken({ name: 'Percent', pattern: /-?\d+(?:\.\d+)?%/ });
/**
 * A number. A decimal point must be followed by a digit, so `0..11` lexes as `0`, `..`, `11`.
 * The sign belongs to the literal: blocks may be counted from the end (`-1` is the last block).
 */
export const NumberLiteral = createToken({ name: 'NumberLiteral', pattern: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });

export const DotDot = createToken({ name: 'DotDot', pattern: /\.\./ });
export const LCurly = createToken({ name: 'LCurly', pattern: /\{/ });
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Semicolon = createToken({ name: 'Semicolon', pattern: /;/ });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });

/** Order matters: the first pattern that matches wins (Let before Identifier, Percent before Number). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Newline,
  Comment,
  Let,
  Identifier,
  StringLiteral,
  Percent,
  NumberLiteral,
  DotDot,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Equals,
];

const lexer = new Lexer(allTokens, {
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
  return { tokens: result.tokens, comments: result.groups['comments'] ?? [], errors: result.errors };
}
