/**
 * deriveUpdateKernel: the split update graph's element-wise nodes read off as kernel code, op
 * for op in the graph's order, with the computed scalars as the graph's 'operand' outputs; a
 * graph with an element op the code does not express (SGD's dampening selects with a Where)
 * gets no kernel and keeps its outputs. spec/runtime/split-update.test.ts checks the kernel's
 * bits against the fused and chunked updates end to end.
 */
import test from 'ava';
import { buildModel } from '../../../examples/models/index.ts';
import { modelFromProto } from '../../../compiler/graph/index.ts';
import { buildTrainingGraphs } from '../../../compiler/train/index.ts';
import type { OptimizerSpec } from '../../../compiler/train/optimizers.ts';

function split(optimizer: OptimizerSpec) {
  const m = modelFromProto(buildModel('bert', { layers: 1, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, maxPositions: 8 }).model);
  return buildTrainingGraphs(m, { trainable: ['classifier.weight', 'classifier.bias'], loss: { kind: 'classification', logits: 'logits' }, optimizer, update: 'split' });
}

test('AdamW: the 14 element operations of optimizers.ts, their computed scalars as graph outputs', (t) => {
  const graphs = split({ kind: 'adamw', lr: 1e-3, weightDecay: 0.01 });
  const k = graphs.updateKernel!;
  t.truthy(k);
  t.deepEqual(k.inputs, ['param', 'grad', 'adam_m', 'adam_v']);
  t.deepEqual(k.code.map((c) => c.op), ['Mul', 'Mul', 'Mul', 'Add', 'Mul', 'Mul', 'Mul', 'Add', 'Sqrt', 'Div', 'Add', 'Div', 'Mul', 'Sub']);
  t.deepEqual(k.outputs.map((o) => o.name), ['param.next', 'adam_m.next', 'adam_v.next']);
  const computed = k.scalars.flatMap((s) => ('output' in s ? [s.output] : []));
  t.deepEqual(computed, ['operand.0', 'operand.1', 'operand.2'], 'the decay factor, sqrt of the second bias correction, the step size');
  const outputs = graphs.update!.graph.outputNames();
  for (const name of computed) {
    t.true(outputs.includes(name));
    t.is(graphs.interfaces.update!.outputs.get(name)?.role, 'operand');
  }
  // betas, 1 - betas and eps as float32 constants in the code.
  t.deepEqual(k.scalars.flatMap((s) => ('value' in s ? [s.value] : [])), [0.9, 0.1, 0.999, 0.001, 1e-8].map(Math.fround));
});

test('SGD with Nesterov momentum: a kernel; with dampening (a Where over the elements on the first step): none, and no operand outputs', (t) => {
  t.truthy(split({ kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }).updateKernel);
  const damped = split({ kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1 });
  t.is(damped.updateKernel, undefined);
  t.false(damped.update!.graph.outputNames().some((n) => n.startsWith('operand.')));
});
