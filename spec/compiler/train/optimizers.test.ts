/**
 * In-graph optimizers, schedules, clipping and accumulation against torch 1.13 reference runs
 * (scripts/reference/optimizers.py -> optimizers.json): a tiny classifier trained a few steps
 * must follow torch's losses, learning rates, gradient norms and parameters to float32 precision.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Graph, Model, GraphBuilder } from '../../../compiler/graph/index.ts';
import { DataType, makeTensor, type TensorProto } from '../../../compiler/onnx/index.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { buildTrainingGraphs, scheduleFactor, type OptimizerSpec, type ScheduleSpec } from '../../../compiler/train/index.ts';
import { Stepper, scalar, int64 } from './stepper.ts';

interface Scenario {
  name: string;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  maxGradNorm?: number;
  accumulationSteps?: number;
  groups: { params: string[]; lrScale?: number; weightDecay?: number }[];
  steps: number;
  expected: { losses: number[]; lr: number; gradNorm?: number; params: Record<string, number[]> }[];
}
interface Reference {
  initial: Record<string, { dims: number[]; data: number[] }>;
  batches: { x: number[]; dims: number[]; labels: number[] }[];
  scenarios: Scenario[];
  schedules: { spec: ScheduleSpec; baseLr: number; lrs: number[] }[];
}

const ref = JSON.parse(readFileSync(new URL('../../../scripts/reference/optimizers.json', import.meta.url), 'utf8')) as Reference;

function tinyClassifier(): Model {
  const g = new Graph();
  const b = new GraphBuilder(g);
  for (const [name, t] of Object.entries(ref.initial)) g.initializers.set(name, makeTensor(name, DataType.FLOAT, t.dims, Float32Array.from(t.data)));
  g.inputs.push(valueInfoFromType('x', { dtype: DataType.FLOAT, shape: ['batch', 4] }));
  const h = b.op('Tanh', [b.op('Gemm', ['x', 'w1', 'b1'], { transB: 1 })]);
  b.op('Gemm', [h, 'w2', 'b2'], { transB: 1 }, { outputs: ['logits'] });
  g.outputs.push(valueInfoFromType('logits', { dtype: DataType.FLOAT, shape: ['batch', 3] }));
  const m = new Model(g);
  m.opsets.set('', 17);
  return m;
}

/** |a - b| within float32 rounding of values of this size, accumulated over a few ops. */
function close(a: number, b: number, rel = 2e-6): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
}

for (const sc of ref.scenarios) {
  test(`matches torch: ${sc.name}`, async (t) => {
    const model = tinyClassifier();
    const graphs = buildTrainingGraphs(model, {
      trainable: ['w1', 'b1', 'w2', 'b2'],
      loss: { kind: 'classification', logits: 'logits' },
      optimizer: sc.optimizer, schedule: sc.schedule, maxGradNorm: sc.maxGradNorm,
      accumulationSteps: sc.accumulationSteps, groups: sc.groups,
    });
    const stepper = await Stepper.create(graphs, model.graph.initializers as Map<string, TensorProto>);
    const accumulation = sc.accumulationSteps ?? 1;
    let micro = 0;
    let worst = 0;
    for (const [k, expected] of sc.expected.entries()) {
      let out: Record<string, ort.Tensor> = {};
      for (let i = 0; i < accumulation; i++) {
        const batch = ref.batches[micro++ % ref.batches.length]!;
        out = await stepper.run({ x: new ort.Tensor('float32', Float32Array.from(batch.x), batch.dims), labels: int64(batch.labels, [batch.labels.length]) }, i === accumulation - 1);
        t.true(close(scalar(out.loss), expected.losses[i]!), `step ${k}.${i}: loss ${scalar(out.loss)} vs torch ${expected.losses[i]}`);
      }
      t.true(close(scalar(out.lr), expected.lr), `step ${k}: lr ${scalar(out.lr)} vs ${expected.lr}`);
      if (expected.gradNorm !== undefined) t.true(close(scalar(out.grad_norm), expected.gradNorm), `step ${k}: grad norm ${scalar(out.grad_norm)} vs ${expected.gradNorm}`);
      for (const [name, values] of Object.entries(expected.params)) {
        const got = stepper.values.get(name)!.data as Float32Array;
        values.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(got[i]! - v) / Math.max(1, Math.abs(v)));
        });
      }
    }
    t.log(`worst parameter difference after ${sc.steps} steps: ${worst.toExponential(2)}`);
    t.true(worst < 2e-6, `parameters differ from torch by ${worst}`);
  });
}

test('schedule formulas match torch LambdaLR with Hugging Face lambdas', (t) => {
  for (const s of ref.schedules) {
    s.lrs.forEach((lr, step) => t.true(Math.abs(s.baseLr * scheduleFactor(s.spec, step) - lr) < 1e-15, `${JSON.stringify(s.spec)} step ${step}`));
  }
});

test('in-graph schedules match torch at every step', async (t) => {
  for (const s of ref.schedules) {
    const model = tinyClassifier();
    const graphs = buildTrainingGraphs(model, { trainable: ['b2'], loss: { kind: 'classification', logits: 'logits' }, optimizer: { kind: 'sgd', lr: s.baseLr }, schedule: s.spec });
    const stepper = await Stepper.create(graphs, model.graph.initializers as Map<string, TensorProto>);
    const batch = ref.batches[0]!;
    for (const lr of s.lrs) {
      const out = await stepper.run({ x: new ort.Tensor('float32', Float32Array.from(batch.x), batch.dims), labels: int64(batch.labels, [batch.labels.length]) });
      t.is(scalar(out.lr), Math.fround(lr), `${JSON.stringify(s.spec)} step ${stepper.step - 1}`);
    }
  }
});
