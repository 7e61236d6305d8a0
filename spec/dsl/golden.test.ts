/**
 * Golden diagnostics: each spec/dsl/cases/NAME.lor2c is checked and its rendered diagnostics
 * compared with NAME.expected.txt. A first line `# facts: {...}` supplies ModelFacts.
 * Regenerate after an intended change with: UPDATE_GOLDEN=1 npx ava spec/dsl/golden.test.ts
 */
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec, renderDiagnostics, type ModelFacts } from '../../dsl/index.ts';

const casesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
const update = process.env['UPDATE_GOLDEN'] === '1';

function factsOf(text: string): ModelFacts | undefined {
  const m = /^# facts: (.*)$/m.exec(text);
  return m ? (JSON.parse(m[1]!) as ModelFacts) : undefined;
}

for (const name of readdirSync(casesDir).filter((f) => f.endsWith('.lor2c')).sort()) {
  test(`golden diagnostics: ${name}`, (t) => {
    const text = readFileSync(path.join(casesDir, name), 'utf8');
    const result = checkSpec(text, `cases/${name}`, factsOf(text));
    const rendered = `${renderDiagnostics(result.diagnostics, text)}\n`;
    const expectedFile = path.join(casesDir, name.replace(/\.lor2c$/, '.expected.txt'));
    if (update || !existsSync(expectedFile)) writeFileSync(expectedFile, rendered);
    t.is(rendered, readFileSync(expectedFile, 'utf8'));
    // Every diagnostic points inside the text.
    for (const d of result.diagnostics) {
      t.true(d.range.offset >= 0 && d.range.offset + d.range.length <= text.length, `${d.message} at ${d.range.offset}`);
    }
  });
}
