/** The rules read the draft and report: they never write to it, and the checked plan is a new object. */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checker } from '../../dsl/checker.ts';
import { parseText } from '../../dsl/parse.ts';
import { runRules } from '../../dsl/rules.ts';
import type { ModelFacts } from '../../dsl/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const specs = [
  ...readdirSync(path.join(here, 'cases')).filter((f) => f.endsWith('.lor2c')).map((f) => path.join(here, 'cases', f)),
  ...readdirSync(path.join(here, '..', '..', 'examples', 'specs')).filter((f) => f.endsWith('.lor2c')).map((f) => path.join(here, '..', '..', 'examples', 'specs', f)),
];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const facts: ModelFacts = { blockCount: 12, hidden: Array(13).fill(768), projections: ['q', 'k', 'v', 'o', 'up', 'down'] };

test('runRules leaves a frozen draft as it was and returns the plan it checked', (t) => {
  for (const file of specs) {
    const text = readFileSync(file, 'utf8');
    const parsed = parseText(text, file);
    if (parsed.refused) continue;
    const checker = new Checker(parsed.index, file);
    checker.read(parsed.ast);
    const draft = checker.draft();
    const before = JSON.stringify(draft.plan);
    // Frozen: a rule that writes throws (modules are strict), and is reported as `internal`.
    deepFreeze(draft.plan);
    for (const binding of draft.lets.values()) Object.freeze(binding);
    for (const withFacts of [undefined, facts]) {
      const result = runRules(withFacts ? { ...draft, facts: withFacts } : draft, parsed.index);
      t.deepEqual(result.diagnostics.filter((d) => d.code === 'internal'), [], path.basename(file));
      t.not(result.plan, draft.plan);
      t.is(JSON.stringify({ ...result.plan, modules: undefined }), before, path.basename(file));
      if (result.layout && !result.layout.problems.some((p) => p.severity === 'error')) t.is(result.plan.modules, result.layout.modules);
    }
  }
});
