/**
 * Einsum: the gradient of operand i is another einsum, of dy with the other operands, written
 * to operand i's subscripts. Subscripts that only operand i has were summed away in the
 * forward: they are restored by Unsqueeze + Expand. Repeated subscripts within one operand
 * (diagonals) are not supported.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

function parse(equation: string): { inputs: string[]; output: string } {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (rhs !== undefined) return { inputs, output: rhs };
  // Implicit output: letters that occur once, in alphabetical order, after any ellipsis.
  const counts = new Map<string, number>();
  for (const t of inputs) for (const c of t.replace(/\.\.\./g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  return { inputs, output: (inputs.some((t) => t.includes('...')) ? '...' : '') + once };
}

/** Subscript letters of a term, with '...' as one token. */
function tokens(term: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith('...', i)) { out.push('...'); i += 2; } else out.push(term[i]!);
  }
  return out;
}

function einsumGrad(g: GradContext): (string | false)[] {
  const { inputs, output } = parse(g.string('equation', ''));
  return inputs.map((term, i) => {
    if (!g.needs(i)) return false;
    const own = tokens(term);
    const letters = own.filter((t) => t !== '...');
    if (new Set(letters).size !== letters.length) g.unsupported(`Einsum '${g.string('equation', '')}' takes a diagonal of operand ${i}`);
    const elsewhere = new Set([...tokens(output), ...inputs.filter((_, k) => k !== i).flatMap(tokens)]);
    if (own.includes('...') && !tokens(output).includes('...')) g.unsupported(`Einsum '${g.string('equation', '')}' sums over the '...' dims of operand ${i}`);
    const kept = own.filter((t) => elsewhere.has(t));
    const others = inputs.map((t, k) => ({ t, v: g.x(k) })).filter((_, k) => k !== i);
    const eq = `${[output, ...others.map((o) => o.t)].join(',')}->${kept.join('')}`;
    let grad = g.op('Einsum', [g.dy(), ...others.map((o) => o.v)], { equation: eq });
    const dropped = own.map((t, k) => (elsewhere.has(t) ? -1 : k)).filter((k) => k >= 0);
    if (dropped.length) {
      if (own.includes('...')) g.unsupported(`Einsum '${g.string('equation', '')}' sums a subscript of operand ${i} that also has '...'`);
      grad = g.op('Expand', [g.unsqueeze(grad, dropped), g.shapeOf(g.x(i))]);
    }
    return own.includes('...') ? g.sumTo(grad, i, grad) : g.like(grad, g.x(i));
  });
}

export const einsumRules: RuleTable = {
  Einsum: { grad: einsumGrad },
};
