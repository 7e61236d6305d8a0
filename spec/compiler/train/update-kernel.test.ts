/**
 * deriveUpdateKernel: the split update graph's element-wise nodes read off as kernel code, op
 * for op in the graph's order, with the computed scalars as the graph's 'operand' outputs;
 * SGD's first-step Where reads its flag per parameter; and run by ORT on a chunk, the graph
 * gives the kernel's bits. spec/runtime/split-update.test.ts checks the kernel's
 * bits against the fused and chunked updates end to end.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { buildModel } from '../../../examples/models/index.ts';
import { modelFromProto, modelToProto } from '../../../compiler/graph/index.ts';
import { encodeModel } from '../../../compiler/onnx/index.ts';
import { valueTypeFromInfo } from '../../../compiler/shapes/types.ts';
import { mulberry32 } from '../../../compiler/adapters/init.ts';
import { UpdateKernelRunner } from '../../../runtime/update-kernel.ts';
import '../../support/ort.ts';
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

test('SGD with dampening: the first step\'s Where over the elements reads its flag per parameter, cast to float32', (t) => {
  t.truthy(split({ kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }).updateKernel);
  const damped = split({ kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1 });
  const k = damped.updateKernel!;
  const where = k.code.find((c) => c.op === 'Where')!;
  t.truthy(where);
  t.true('scalar' in where.args[0]!, 'the condition is a scalar operand');
  const condition = k.scalars[(where.args[0] as { scalar: number }).scalar]!;
  t.true('output' in condition);
  const name = (condition as { output: string }).output;
  t.is(damped.update!.graph.nodes.find((n) => n.outputs[0] === name)?.opType, 'Cast', 'the flag as float32 0 or 1');
});

/** The update graph run by ORT on one chunk, and the kernel on the same values: equal bit for bit. */
async function graphAgainstKernel(t: import('ava').ExecutionContext, optimizer: OptimizerSpec, step: number): Promise<void> {
  const graphs = split(optimizer);
  const k = graphs.updateKernel!;
  const proto = modelToProto(graphs.update!);
  proto.irVersion = 10n;
  const session = await ort.InferenceSession.create(encodeModel(proto));
  const rand = mulberry32(step + 11);
  const n = 41;
  const chunk = (slot: string) => new ort.Tensor('float32', Float32Array.from({ length: n }, () => (slot === 'adam_v' ? rand() * 1e-3 : (rand() - 0.5) * 0.2)), [n]);
  const feedsFor = (length: number) => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of graphs.update!.graph.feedInputs()) {
      const rank = valueTypeFromInfo(v)?.shape?.length;
      const binding = graphs.interfaces.update!.inputs.get(v.name)!;
      if (rank === 1) feeds[v.name] = length === 0 ? new ort.Tensor('float32', new Float32Array(0), [0]) : chunk(binding.slot ?? v.name);
      else if (binding.role === 'state') feeds[v.name] = new ort.Tensor('float32', Float32Array.of(step), []);
      else if (binding.role === 'hyper') feeds[v.name] = binding.slot === 'decay' ? new ort.Tensor('bool', Uint8Array.of(1), []) : new ort.Tensor('float64', Float64Array.of(1), []);
      else feeds[v.name] = new ort.Tensor('int64', BigInt64Array.of(binding.slot === 'total_steps' ? 10n : binding.slot === 'warmup_steps' ? 2n : BigInt(step)), []);
    }
    return feeds;
  };
  const feeds = feedsFor(n);
  const want = await session.run(feeds);
  const empty = await session.run({ ...feeds, ...Object.fromEntries(Object.entries(feedsFor(0)).filter(([, v]) => v.dims.length === 1)) });
  const scalars = Float32Array.from(k.scalars, (s) => ('value' in s ? s.value : (empty[s.output]!.data as Float32Array)[0]!));
  const outputs = k.outputs.map(() => new Float32Array(n));
  t.is(new UpdateKernelRunner(k, 16).apply(k.inputs.map((name) => Float32Array.from(feeds[name]!.data as Float32Array)), scalars, outputs), undefined);
  k.outputs.forEach((o, q) => {
    const w = want[o.name]!.data as Float32Array;
    t.true(outputs[q]!.every((v, i) => Object.is(v, w[i])), `${o.name} at step ${step}`);
  });
}

for (const [title, optimizer] of [
  ['AdamW with decay', { kind: 'adamw', lr: 1e-3, weightDecay: 0.01 }],
  ['SGD, Nesterov, decay', { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['SGD with dampening', { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.25 }],
] as [string, OptimizerSpec][]) {
  test(`${title}: the kernel computes the update graph's bits, on the first step and a later one`, async (t) => {
    await graphAgainstKernel(t, optimizer, 0);
    await graphAgainstKernel(t, optimizer, 3);
  });
}
