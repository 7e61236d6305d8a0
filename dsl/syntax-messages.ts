/**
 * chevrotain's parser error messages in the language's own terms: a token mismatch says what
 * was expected as the user writes it (`}` rather than `RCurly`). parse.ts builds the whole
 * diagnostic from that, the token found and the rule being read.
 */
import { defaultParserErrorProvider, type IParserErrorMessageProvider } from 'chevrotain';

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

/**
 * The message of a MismatchedTokenException is the expected token's display, e.g. '`}`' or
 * 'a number'; the other exceptions keep chevrotain's messages, which no diagnostic shows.
 */
export const syntaxMessages: IParserErrorMessageProvider = {
  ...defaultParserErrorProvider,
  buildMismatchTokenMessage: ({ expected }) => tokenDisplay[expected.name] ?? expected.name,
};
