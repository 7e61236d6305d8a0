/** A real checked Plan from spec text, for tests that write artifacts by hand (a bad spec fails the test). */
import { checkSpec, renderDiagnostics, type Plan } from '../../dsl/index.ts';

export function planOf(text: string): Plan {
  const { plan, diagnostics } = checkSpec(text, '<test spec>');
  if (!plan) throw new Error(`test spec does not check:\n${renderDiagnostics(diagnostics, text)}`);
  return plan;
}
