/** The lexer's modes: line breaks end a setting, except inside `( )` and `[ ]`. */
import test from 'ava';
import { checkSpec } from '../../dsl/index.ts';
import { Newline, tokenize } from '../../dsl/lexer.ts';

const oneLine = 'lor2c { blocks [0, 1, 2] }\ntrain { optimizer adamw(lr 4e-4, betas 0.9 0.99, weight_decay 0) }\n';
const wrapped = 'lor2c { blocks [\n  0,\n  1, # the first two\n  2\n] }\ntrain {\n  optimizer adamw(\n    lr 4e-4,\n    betas 0.9 0.99\n    , weight_decay 0\n  )\n}\n';

test('a call or a list wrapped over lines reads as on one line, its comments kept', (t) => {
  const [a, b] = [checkSpec(oneLine, 'x.lor2c'), checkSpec(wrapped, 'x.lor2c')];
  t.deepEqual(b.diagnostics, []);
  t.truthy(a.plan);
  t.deepEqual(b.plan, a.plan);
  const lexed = tokenize(wrapped);
  t.deepEqual(lexed.comments.map((c) => c.image), ['# the first two']);
  // Only the line breaks outside brackets reach the parser.
  t.is(lexed.tokens.filter((x) => x.tokenType === Newline).length, 4);
});

test('`)` and `]` that close nothing are syntax errors of the parser, not lexing errors', (t) => {
  const text = ') ]\nlor2c { rank 8 ) }\n';
  t.deepEqual(tokenize(text).errors, []);
  const syntax = checkSpec(text, 'x.lor2c').diagnostics.filter((d) => d.code === 'syntax');
  t.deepEqual(
    syntax.map((d) => [d.range.line, d.range.col]),
    [[1, 1], [2, 16]],
  );
});

test('a brace inside brackets ends them: an unclosed `[` does not swallow the next lines', (t) => {
  const r = checkSpec('lor2c { blocks [0, 1 }\nlor2c { rank 4 }\n', 'x.lor2c');
  t.like(r.diagnostics.find((d) => d.code === 'syntax'), { message: 'unexpected `}`; expected `]`', range: { line: 1, col: 22 } });
  // The second line is still read as its own section, its line break a separator.
  t.is(tokenize('[0 }\nrank 4\n').tokens.filter((x) => x.tokenType === Newline).length, 2);
});
