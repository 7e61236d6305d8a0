/**
 * Every registered gradient rule against central finite differences computed through ORT:
 * float64 (relative error < 1e-6) where ORT has double kernels, float32 (< 1e-2) where not.
 * Each case runs twice: with shapes inferred (static reductions) and with only what the graph
 * declares (in-graph broadcast reductions, symbolic dims). Graphs before opset 13 have no
 * dynamic ReduceSum axes, so they are checked with inferred shapes only (symbolic dims that may
 * be 1 at run time are then summed axis by axis, see compiler/autodiff/broadcast.ts).
 * No gradient may transpose a constant operand (compiler/autodiff/matmul.ts says why).
 * Cases with symbolic dims run a third time as the trainer compiles them ('sized': symbolic
 * sizes read off the fed inputs), where the backward must not read a forward value only for
 * its shape when inference knows that shape in terms of the inputs' symbols.
 */
import test from 'ava';
import { GRADIENT_RULES } from '../../../compiler/autodiff/index.ts';
import { inferShapes } from '../../../compiler/shapes/infer.ts';
import { checkBestPrecision, TOLERANCE, type Mode } from './gradcheck.ts';
import { OP_CASES } from './op-cases.ts';

for (const c of OP_CASES) {
  const symbolic = c.inputs.some((i) => i.dims?.some((d) => typeof d === 'string'));
  const modes: Mode[] = c.modes ?? [...((c.opset ?? 18) >= 13 ? ['inferred', 'declared'] as const : ['inferred'] as const), ...(symbolic ? ['sized'] as const : [])];
  for (const mode of modes) {
    test(`${c.name} [${mode} shapes]`, async (t) => {
      const r = await checkBestPrecision(c, mode, inferShapes);
      t.log(`${r.dtype}: max relative error ${r.maxRelError.toExponential(2)}, ${r.nodesAdded} backward nodes`);
      t.true(r.maxRelError < TOLERANCE[r.dtype], `relative error ${r.maxRelError} over ${TOLERANCE[r.dtype]} (${JSON.stringify(r.perInput)})`);
      t.deepEqual(r.transposedConstants, [], 'the gradient transposes a constant (a frozen weight)');
      if (mode === 'sized') t.deepEqual(r.sizeReads, [], 'the backward reads forward values for shapes the inputs give');
    });
  }
}

test('every differentiable rule in the registry has a gradient-check case', (t) => {
  const covered = new Set(OP_CASES.map((c) => (c.domain ? `${c.domain}:${c.op}` : c.op)));
  const missing = [...GRADIENT_RULES].filter(([, e]) => e !== 'nondifferentiable').map(([k]) => k).filter((k) => !covered.has(k));
  t.deepEqual(missing, []);
});
