/**
 * Property tests: random token and character mutations of the valid example specs never make
 * a public function throw, every diagnostic points inside the text with consistent line and
 * column, and whenever a mutant has no syntax errors, fmt is idempotent and keeps its meaning.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, formatSpec, parseSpec, renderDiagnostics, tryFormatSpec, type Diagnostic } from '../../dsl/index.ts';

const examplesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'specs');
const seeds = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.lor2c'))
  .sort()
  .map((f) => readFileSync(path.join(examplesDir, f), 'utf8'));

/** Pieces of the language (and of mistakes) to insert. */
const POOL = ['{', '}', '(', ')', '[', ']', ',', ';', '..', '=', '"', '#', '//', 'let', '\n', ' ', '-', '%', '@', "'", '\\', '0', '-1', '3.5', '1e-3', '25%', '"x.*"', 'rank', 'alpha', 'blocks', 'all', 'every', 'lor2c', 'merge', 'inject', 'train', 'share', 'A', 'topk', 'epochs', 'steps', 'max', 'override', 'adamw(', 'lr', 'x', '\t', '\r\n', 'é', '\u0000'];

/** Splits text into tokens and the whitespace between them, so mutations act on whole tokens. */
function pieces(text: string): string[] {
  return text.match(/"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?|\.\.|#[^\n]*|\/\/[^\n]*|\s+|./g) ?? [];
}

type Mutation = { kind: 'delete'; at: number } | { kind: 'duplicate'; at: number } | { kind: 'swap'; at: number; with: number } | { kind: 'insert'; at: number; piece: string } | { kind: 'char-delete'; at: number; length: number } | { kind: 'char-insert'; at: number; char: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), piece: fc.constantFrom(...POOL) }),
  fc.record({ kind: fc.constant('char-delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('char-insert' as const), at: fc.nat(), char: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }) }),
);

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    if (m.kind === 'char-delete' || m.kind === 'char-insert') {
      const at = m.at % (out.length + 1);
      out = m.kind === 'char-delete' ? out.slice(0, at) + out.slice(at + m.length) : out.slice(0, at) + m.char + out.slice(at);
      continue;
    }
    const p = pieces(out);
    if (p.length === 0) continue;
    const i = m.at % p.length;
    if (m.kind === 'delete') p.splice(i, 1);
    else if (m.kind === 'duplicate') p.splice(i, 0, p[i]!);
    else if (m.kind === 'insert') p.splice(i, 0, m.piece);
    else {
      const j = m.with % p.length;
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    out = p.join('');
  }
  return out;
}

function positionOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

function assertValidPositions(text: string, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    const r = d.range;
    if (!(Number.isInteger(r.offset) && Number.isInteger(r.length) && r.offset >= 0 && r.length >= 0 && r.offset + r.length <= text.length)) {
      throw new Error(`bad range ${JSON.stringify(r)} for text of length ${text.length}: ${d.message}`);
    }
    const start = positionOf(text, r.offset);
    const end = positionOf(text, r.offset + r.length);
    if (start.line !== r.line || start.col !== r.col || end.line !== r.endLine || end.col !== r.endCol) {
      throw new Error(`inconsistent position ${JSON.stringify(r)} vs ${JSON.stringify({ start, end })}: ${d.message}`);
    }
    if (d.code === 'internal') throw new Error(`internal error diagnostic: ${d.message}`);
    if (!d.message) throw new Error('empty message');
  }
}

const codes = (ds: Diagnostic[]) => ds.map((d) => d.code).sort();

let mutants = 0;

function checkMutant(text: string): void {
  const checked = checkSpec(text, 'fuzz.lor2c');
  assertValidPositions(text, checked.diagnostics);
  renderDiagnostics(checked.diagnostics, text);
  // Every other mutant again with a model's facts, which enables the model-dependent rules.
  if (mutants++ % 2 === 0) {
    const withFacts = checkSpec(text, 'fuzz.lor2c', { blockCount: 12, hidden: Array(13).fill(64), projections: ['q', 'k', 'v', 'o'] });
    assertValidPositions(text, withFacts.diagnostics);
  }
  const formatted = tryFormatSpec(text, 'fuzz.lor2c');
  assertValidPositions(text, formatted.diagnostics);
  const syntaxErrors = checked.diagnostics.filter((d) => d.code === 'syntax');
  if (formatted.text === undefined) {
    if (syntaxErrors.length === 0) throw new Error('not formatted although parsing succeeded');
    if (formatSpec(text) !== text) throw new Error('formatSpec changed text with syntax errors');
    return;
  }
  if (syntaxErrors.length > 0) throw new Error('formatted text despite syntax errors');
  const once = formatted.text;
  const twice = formatSpec(once);
  if (twice !== once) throw new Error(`fmt is not idempotent:\n--- once\n${once}\n--- twice\n${twice}`);
  const again = checkSpec(once, 'fuzz.lor2c');
  if (JSON.stringify(again.plan) !== JSON.stringify(checked.plan)) throw new Error('fmt changed the plan');
  if (JSON.stringify(codes(again.diagnostics)) !== JSON.stringify(codes(checked.diagnostics))) {
    throw new Error(`fmt changed the diagnostics: ${codes(checked.diagnostics)} -> ${codes(again.diagnostics)}`);
  }
}

test('parseSpec reports exactly the syntax diagnostics checkSpec does', (t) => {
  for (const seed of seeds) {
    const text = mutate(seed, [{ kind: 'insert', at: 7, piece: '{' }, { kind: 'char-insert', at: 40, char: '@' }]);
    t.deepEqual(
      parseSpec(text, 'f').diagnostics,
      checkSpec(text, 'f').diagnostics.filter((d) => d.code === 'syntax'),
    );
  }
});

for (const [i, seed] of seeds.entries()) {
  test(`fuzz: mutations of example spec ${i + 1}/${seeds.length}`, (t) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (mutations) => {
        checkMutant(mutate(seed, mutations));
      }),
      { numRuns: Math.ceil(2000 / seeds.length), seed: 0x10f2c + i },
    );
    t.pass();
  });
}

test('fuzz: arbitrary strings over the language alphabet', (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...POOL), { maxLength: 40 }), (parts) => {
      checkMutant(parts.join(' '));
      checkMutant(parts.join(''));
    }),
    { numRuns: 300, seed: 42 },
  );
  t.pass();
});

test('pathological inputs: deep nesting and long files are diagnostics, not crashes', (t) => {
  const deep = 'lor2c { override blocks 1 { '.repeat(500) + '}'.repeat(1000);
  const r = checkSpec(deep, 'deep.lor2c');
  assertValidPositions(deep, r.diagnostics);
  t.true(r.diagnostics.some((d) => /nested more than/.test(d.message)));
  t.is(formatSpec(deep), deep);
  const lists = `x ${'['.repeat(5000)}`;
  assertValidPositions(lists, checkSpec(lists, 'lists.lor2c').diagnostics);
  const long = `lor2c {\n${'  rank 8\n'.repeat(3000)}}\n`;
  t.is(checkSpec(long, 'long.lor2c').diagnostics.length, 2999);
});
