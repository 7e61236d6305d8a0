/**
 * Bounded resources (dsl/limits.ts): time linear in the input, rendered output bounded, input
 * beyond a limit refused with a positioned diagnostic, never an internal error.
 *
 * Scaling is asserted on the ratio of CPU times at n and 4n (about 4 when linear, 16 when
 * quadratic), the best of a few runs each, so a loaded machine does not make them flake.
 */
import test from 'ava';
import { checkSpec, layoutModules, EXCERPT_WIDTH, MAX_LEXING_ERRORS, MAX_SPEC_LENGTH, MAX_STRING_LENGTH, MAX_SYNTAX_ERRORS, renderDiagnostics, RENDERED_DIAGNOSTICS_LIMIT, type Diagnostic } from '../../dsl/index.ts';

function cpuSeconds(fn: () => void): number {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  return best;
}

/** CPU time of checking and rendering `make(4n)` over that of `make(n)`. */
function growth(make: (n: number) => string, n: number): number {
  const run = (text: string) => () => void renderDiagnostics(checkSpec(text, 'x.lor2c').diagnostics, text);
  run(make(n))(); // warm up the JIT
  // The fastest of three runs each: a garbage collection inside one run is not the input's cost.
  const fastest = (text: string) => Math.min(...[0, 1, 2].map(() => cpuSeconds(run(text))));
  const small = fastest(make(n));
  const large = fastest(make(4 * n));
  return large / Math.max(small, 1e-3);
}

const lines = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('\n') + '\n';
const internal = (ds: Diagnostic[]) => ds.filter((d) => d.code === 'internal');

test('many lets, many unknown settings: checking and rendering scale linearly', (t) => {
  const lets = growth((n) => lines(n, (i) => `let v${i} = ${i}`), 1000);
  const unknown = growth((n) => lines(n, (i) => `bogus${i} 1`), 1000);
  t.true(lets < 8, `4x the lets took ${lets.toFixed(1)}x the time`);
  t.true(unknown < 8, `4x the unknown settings took ${unknown.toFixed(1)}x the time`);
});

test('many unnamed sections get their names in linear time', (t) => {
  const ratio = growth((n) => lines(n, () => 'lor2c { rank 8 }'), 300);
  t.true(ratio < 8, `4x the sections took ${ratio.toFixed(1)}x the time`);
  const r = checkSpec(lines(3, () => 'lor2c'), 'x.lor2c');
  t.deepEqual(
    r.plan?.lor2c.map((s) => s.name),
    ['lor2c', 'lor2c_2', 'lor2c_3'],
  );
});

test('many static merges are laid out in linear time', (t) => {
  // The layout itself, as parsing n lines costs more than laying out n merges did at n = 1,000;
  // sizes small enough that the garbage stays young, repeated to be measurable.
  const layout = (n: number, repeats: number) => {
    const section = checkSpec(`lor2c { blocks 0..${2 * n - 1} }\n`, 'x.lor2c').plan!.lor2c;
    const merges = Array.from({ length: n }, (_, i) => ({ from: 2 * i, to: 2 * i + 1 }));
    return () => {
      for (let k = 0; k < repeats; k++) layoutModules(section, merges, 2 * n);
    };
  };
  layout(500, 80)(); // warm up the JIT
  // Per layout: 80 of n against 20 of 4n, so both measure about as long.
  const ratio = (cpuSeconds(layout(2000, 20)) / 20) / (Math.max(cpuSeconds(layout(500, 80)), 1e-3) / 80);
  t.true(ratio < 8, `4x the static merges took ${ratio.toFixed(1)}x the time`);
  const spec = `lor2c { blocks 0..5 }\nmerge {\n${lines(3, (i) => `  static ${2 * i}..${2 * i + 1}`)}}\n`;
  t.deepEqual(checkSpec(spec, 'x.lor2c').plan?.modules?.map((m) => m.id), ['b0_1', 'b2_3', 'b4_5']);
});

test('undefined names among many lets: "did you mean" work is bounded', (t) => {
  const ratio = growth((n) => lines(n, (i) => `let value${i} = 1`) + lines(n, (i) => `lor2c s${i} { rank valeu${i} }`), 300);
  t.true(ratio < 8, `4x the names took ${ratio.toFixed(1)}x the time`);
  const r = checkSpec('let width = 8\nlor2c { rank widht }\n', 'x.lor2c');
  t.is(r.diagnostics.find((d) => d.code === 'unknown-name')?.hint, 'did you mean `width`?');
});

test('one long line with 4,000 errors renders a bounded excerpt of each and counts the rest', (t) => {
  const text = Array.from({ length: 4000 }, (_, i) => `x${i}`).join(';') + '\n';
  const r = checkSpec(text, 'x.lor2c');
  t.true(r.diagnostics.length >= 4000);
  const out = renderDiagnostics(r.diagnostics, text);
  t.true(out.length < 20_000, `${out.length} characters rendered`);
  t.is(out.split('\n').filter((l) => /^x\.lor2c:\d+:\d+: /.test(l)).length, RENDERED_DIAGNOSTICS_LIMIT);
  t.regex(out, new RegExp(`\\.\\.\\. and ${(r.diagnostics.length - RENDERED_DIAGNOSTICS_LIMIT).toLocaleString('en-US')} more: [\\d,]+ errors`));
  for (const line of out.split('\n')) t.true(line.length <= EXCERPT_WIDTH + 200, line.slice(0, 80));
});

test('the excerpt of a long line is a window around the column, with the caret under it', (t) => {
  const text = `${' '.repeat(6000)}zzz ${'1 '.repeat(3000)}\n`;
  const r = checkSpec(text, 'x.lor2c');
  const d = r.diagnostics.find((x) => x.code === 'unknown-setting')!;
  t.like(d, { range: { line: 1, col: 6001 } });
  const out = renderDiagnostics([d], text).split('\n');
  const [excerpt, caret] = [out[1]!, out[2]!];
  t.true(excerpt.length <= EXCERPT_WIDTH + 10, `${excerpt.length}`);
  t.true(excerpt.startsWith('    ...') && excerpt.endsWith('...'));
  t.is(excerpt.slice(caret.indexOf('^'), caret.indexOf('^') + 3), 'zzz');
  t.is(caret.trim(), '^~~');
});

test('thousands of syntax errors: the parser stops after the limit, no internal error', (t) => {
  const text = lines(4000, (i) => `rank = ${i}`);
  const r = checkSpec(text, 'x.lor2c');
  t.deepEqual(internal(r.diagnostics), []);
  const stop = r.diagnostics.find((d) => d.message.includes(`more than ${MAX_SYNTAX_ERRORS} syntax errors`));
  t.truthy(stop);
  t.true(stop!.range.line > 10 && stop!.range.line < 4000);
  t.true(r.diagnostics.filter((d) => d.code === 'syntax').length <= MAX_SYNTAX_ERRORS + 2);
  // Inside nested blocks too (recovery in a repetition costs stack per error).
  const nested = `${'lor2c { '.repeat(40)}\n${lines(3000, () => 'rank = 1 )')}${'}'.repeat(40)}\n`;
  t.deepEqual(internal(checkSpec(nested, 'x.lor2c').diagnostics), []);
});

test('thousands of unexpected characters: the first are listed, the rest counted, in linear time', (t) => {
  const text = lines(4000, (i) => `rank ${i} @`);
  const r = checkSpec(text, 'x.lor2c');
  t.deepEqual(internal(r.diagnostics), []);
  const lexing = r.diagnostics.filter((d) => d.message.startsWith('unexpected character'));
  t.is(lexing.length, MAX_LEXING_ERRORS);
  const rest = r.diagnostics.find((d) => d.message.startsWith('... and '));
  t.is(rest?.message, `... and ${(4000 - MAX_LEXING_ERRORS).toLocaleString('en-US')} more unexpected characters or unterminated strings, from here on`);
  t.like(rest, { range: { line: MAX_LEXING_ERRORS + 1, col: `rank ${MAX_LEXING_ERRORS} `.length + 1 } });
  const ratio = growth((n) => lines(n, () => '@ "'), 2000);
  t.true(ratio < 8, `4x the bad lines took ${ratio.toFixed(1)}x the time`);
  // A long run of them is one error, its message showing the run's start.
  const run = checkSpec(`${'@'.repeat(500_000)}\n`, 'x.lor2c').diagnostics.filter((d) => d.code === 'syntax');
  t.deepEqual(run.map((d) => d.message), ['unexpected characters `@@@@@@@@@@@@@@@@@@@@...` (500,000 characters)']);
});

test('a spec over the length limit is refused at 1:1 without reading it', (t) => {
  const text = 'lor2c\n'.repeat(Math.ceil((MAX_SPEC_LENGTH + 1) / 6));
  const r = checkSpec(text, 'big.lor2c');
  t.is(r.plan, undefined);
  t.is(r.diagnostics.length, 1);
  t.like(r.diagnostics[0], { code: 'spec-too-large', severity: 'error', range: { file: 'big.lor2c', line: 1, col: 1 } });
  t.regex(renderDiagnostics(r.diagnostics, text), /^big\.lor2c:1:1: error: the spec is [\d,]+ characters long; the limit is 1,048,576/);
  // A 10 MB string is the same refusal, not an internal error.
  const huge = `model "${'a'.repeat(10_000_000)}"\n`;
  t.like(checkSpec(huge, 'x.lor2c').diagnostics, [{ code: 'spec-too-large' }]);
});

test('a string over the limit is an error at its position; long strings of escapes lex in linear time', (t) => {
  const text = `lor2c\nmodel "${'m'.repeat(MAX_STRING_LENGTH + 1)}"\n`;
  const r = checkSpec(text, 'x.lor2c');
  t.like(
    r.diagnostics.filter((d) => d.code === 'string-too-long'),
    [{ severity: 'error', range: { line: 2, col: 7 } }],
  );
  t.is(r.plan, undefined);
  t.is(checkSpec(`lor2c\nmodel "${'m'.repeat(MAX_STRING_LENGTH)}"\n`, 'x.lor2c').plan?.model?.length, MAX_STRING_LENGTH);
  // A closed string of a million escapes, and an unclosed one whose every `"` is escaped.
  const escapes = `model "${'\\"'.repeat(500_000)}"\n`;
  t.deepEqual(internal(checkSpec(escapes, 'x.lor2c').diagnostics), []);
  const ratio = growth((n) => `model "${'\\"'.repeat(n)}\n`, 20_000);
  t.true(ratio < 8, `4x the unclosed escapes took ${ratio.toFixed(1)}x the time`);
  t.like(
    checkSpec(`model "${'\\"'.repeat(10)}\n`, 'x.lor2c').diagnostics.find((d) => d.message === 'unterminated string'),
    { range: { line: 1, col: 7 } },
  );
});

test('a 900 KB identifier is checked and rendered in bounded time and output', (t) => {
  const text = `${'a'.repeat(900_000)} 1\nlor2c { rank ${'b'.repeat(900_000 / 9)} }\n`;
  const start = process.cpuUsage();
  const r = checkSpec(text, 'x.lor2c');
  const out = renderDiagnostics(r.diagnostics, text);
  const used = process.cpuUsage(start);
  t.deepEqual(internal(r.diagnostics), []);
  t.true(r.diagnostics.some((d) => d.code === 'unknown-setting'));
  t.true(out.length < 5_000, `${out.length} characters rendered`);
  t.true((used.user + used.system) / 1e6 < 20);
});
