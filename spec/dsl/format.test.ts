/** The formatter: canonical output, comments kept, idempotent, meaning preserved. */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, formatSpec, parseSpec, tryFormatSpec } from '../../dsl/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sources = [
  ...readdirSync(path.join(here, '..', '..', 'examples', 'specs')).map((f) => path.join(here, '..', '..', 'examples', 'specs', f)),
  ...readdirSync(path.join(here, 'cases')).filter((f) => f.endsWith('.lor2c')).map((f) => path.join(here, 'cases', f)),
];

for (const file of sources.filter((f) => f.endsWith('.lor2c'))) {
  const name = path.relative(path.join(here, '..', '..'), file);
  test(`fmt round trip: ${name}`, (t) => {
    const text = readFileSync(file, 'utf8');
    const formatted = tryFormatSpec(text, name);
    if (formatted.text === undefined) {
      t.true(formatted.diagnostics.length > 0, 'no text only with syntax errors');
      t.is(formatSpec(text), text, 'syntax errors: returned unchanged');
      return;
    }
    t.is(formatSpec(formatted.text), formatted.text, 'idempotent');
    const before = checkSpec(text, name);
    const after = checkSpec(formatted.text, name);
    t.deepEqual(after.plan, before.plan, 'same plan');
    t.deepEqual(
      after.diagnostics.map((d) => [d.code, d.message]),
      before.diagnostics.map((d) => [d.code, d.message]),
      'same diagnostics',
    );
    t.is(parseSpec(formatted.text).ast.comments.length, parseSpec(text).ast.comments.length, 'comments kept');
  });
}

test('fmt: canonical layout and comment placement', (t) => {
  const input = [
    '# header',
    '',
    '',
    'let r=8   # rank',
    'lor2c deep{ # the deep ones',
    '  rank r;alpha 16',
    '    blocks 6..11,  -1 every 2',
    '  // trailing in block',
    '}',
    'train {optimizer adamw(lr 4e-4, # inside a call',
    '   weight_decay 0.01)',
    '}',
    'lora {}',
    '',
  ].join('\n');
  const expected = [
    '# header',
    '',
    'let r = 8  # rank',
    'lor2c deep {  # the deep ones',
    '  rank r',
    '  alpha 16',
    '  blocks 6..11, -1 every 2',
    '  // trailing in block',
    '}',
    'train {',
    '  # inside a call',
    '  optimizer adamw(lr 4e-4, weight_decay 0.01)',
    '}',
    'lora {}',
    '',
  ].join('\n');
  t.is(formatSpec(input), expected);
  t.is(formatSpec(expected), expected);
});

test('fmt leaves text with syntax errors unchanged', (t) => {
  const bad = 'lor2c { rank 8\n';
  t.is(formatSpec(bad), bad);
  t.true(tryFormatSpec(bad).diagnostics.length > 0);
});

test('fmt of an empty or comment-only file', (t) => {
  t.is(formatSpec(''), '');
  t.is(formatSpec('\n\n'), '');
  t.is(formatSpec('# only\n\n\n# comments'), '# only\n\n# comments\n');
});
