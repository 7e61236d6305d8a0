/**
 * The .lor2c grammar, as a chevrotain CstParser with error recovery.
 *
 * The grammar is small and regular; the meaning of each setting lives in the checker:
 *
 *   spec     := (item | separator)*
 *   item     := let | setting
 *   let      := 'let' Identifier '=' value
 *   setting  := Identifier (group (',' group)*)? block?      e.g. `rank 8`, `blocks 0..3, 8`,
 *   block    := '{' (item | separator)* '}'                        `lor2c deep { rank 16 }`
 *   group    := value+                                        (values separated by spaces)
 *   value    := atom ('..' atom)?                             a range `0..11`, `-4..-1`
 *   atom     := Number | Percent | String | list | Identifier call?
 *   call     := '(' (group (',' group)*)? ')'                 `adamw(lr 4e-4, weight_decay 0.01)`
 *   list     := '[' (value (',' value)*)? ']'
 *   separator:= Newline | ';'
 *
 * Newlines end a setting, except inside `( )` and `[ ]`, where the lexer drops them (its mode
 * `brackets`), so long calls may be wrapped. Comments never reach the parser (lexer group
 * `comments`).
 */
import { CstParser, type CstNode, type IRecognitionException, type IToken } from 'chevrotain';
import {
  allTokens,
  Comma,
  DotDot,
  Equals,
  Identifier,
  LBracket,
  LCurly,
  Let,
  LParen,
  Newline,
  NumberLiteral,
  Percent,
  RBracket,
  RCurly,
  RParen,
  Semicolon,
  StringLiteral,
} from './lexer.ts';
import { MAX_SYNTAX_ERRORS } from './limits.ts';
import { syntaxMessages } from './syntax-messages.ts';

/** Thrown out of the parse when it meets more than MAX_SYNTAX_ERRORS errors. */
export class TooManySyntaxErrors extends Error {
  constructor(readonly errors: IRecognitionException[]) {
    super('too many syntax errors');
  }
}

/** chevrotain's recorder of recognition errors, called once for each (not in its typings). */
type SaveError = (this: CstParser, error: IRecognitionException) => IRecognitionException;
const saveError = (CstParser.prototype as unknown as { SAVE_ERROR: SaveError }).SAVE_ERROR;

class Lor2cParser extends CstParser {
  /**
   * Stops the parse past MAX_SYNTAX_ERRORS: chevrotain re-enters a repetition to recover inside
   * it, so each error there costs stack, and thousands of them would overflow it.
   */
  maxErrors = MAX_SYNTAX_ERRORS;

  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    const saved = saveError.call(this, error);
    if (this.errors.length > this.maxErrors) throw new TooManySyntaxErrors(this.errors);
    return saved;
  }

  constructor() {
    // maxLookahead 2 is all the grammar needs; recovery lets one run report every syntax error.
    super(allTokens, { recoveryEnabled: true, maxLookahead: 2, errorMessageProvider: syntaxMessages });
    this.performSelfAnalysis();
  }

  spec = this.RULE('spec', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.item) },
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
  });

  item = this.RULE('item', () => {
    this.OR([{ ALT: () => this.SUBRULE(this.letStatement) }, { ALT: () => this.SUBRULE(this.setting) }]);
  });

  letStatement = this.RULE('letStatement', () => {
    this.CONSUME(Let);
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.value);
  });

  setting = this.RULE('setting', () => {
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.SUBRULE(this.group);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.group);
      });
    });
    this.OPTION2(() => this.SUBRULE(this.block));
  });

  block = this.RULE('block', () => {
    this.CONSUME(LCurly);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.item) },
        { ALT: () => this.CONSUME(Newline) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
    this.CONSUME(RCurly);
  });

  group = this.RULE('group', () => {
    this.AT_LEAST_ONE(() => this.SUBRULE(this.value));
  });

  value = this.RULE('value', () => {
    this.SUBRULE(this.atom);
    this.OPTION(() => {
      this.CONSUME(DotDot);
      this.SUBRULE2(this.atom);
    });
  });

  atom = this.RULE('atom', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral) },
      { ALT: () => this.CONSUME(Percent) },
      { ALT: () => this.CONSUME(StringLiteral) },
      { ALT: () => this.SUBRULE(this.list) },
      {
        ALT: () => {
          this.CONSUME(Identifier);
          this.OPTION(() => this.SUBRULE(this.call));
        },
      },
    ]);
  });

  call = this.RULE('call', () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.group);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.group);
      });
    });
    this.CONSUME(RParen);
  });

  list = this.RULE('list', () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.value);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.value);
      });
    });
    this.CONSUME(RBracket);
  });
}

/** The parser is stateful but reusable; building it (grammar analysis) is the costly part. */
let shared: Lor2cParser | undefined;

export interface ParseResult {
  cst: CstNode;
  errors: IRecognitionException[];
}

/** Throws TooManySyntaxErrors past `maxErrors`. */
export function parseTokens(tokens: IToken[], maxErrors = MAX_SYNTAX_ERRORS): ParseResult {
  shared ??= new Lor2cParser();
  shared.maxErrors = maxErrors;
  shared.input = tokens;
  const cst = shared.spec();
  return { cst, errors: [...shared.errors] };
}
