/**
 * The split update's graphs (compiler/train/update-graph.ts): what the train graph returns in
 * place of updated values, the update graph's slots per optimizer, and the groups it refuses.
 * (That a split run reaches the fused run's bits: spec/runtime/split-update.test.ts.)
 */
import test from 'ava';
import { buildGpt2 } from '../../../examples/models/index.ts';
import { modelFromProto } from '../../../compiler/graph/index.ts';
import { buildTrainingGraphs, type TrainingSpec } from '../../../compiler/train/index.ts';
import { UserError } from '../../../contract/errors.ts';

const model = () => modelFromProto(buildGpt2({ vocabSize: 40, dModel: 16, layers: 1, heads: 2, ffn: 32, maxPositions: 16, seed: 3 }).model);
const weights = (m: ReturnType<typeof model>) => [...m.graph.initializers.values()].filter((w) => w.dims.length === 2).map((w) => w.name);

function split(extra: Partial<TrainingSpec>) {
  const m = model();
  return buildTrainingGraphs(m, { trainable: weights(m), loss: { kind: 'lm', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 }, update: 'split', ...extra });
}

test('the train graph ends at one gradient per parameter, with no optimizer in it', (t) => {
  const g = split({});
  const outputs = [...g.interfaces.train.outputs.values()];
  t.deepEqual(outputs.filter((b) => b.role === 'grad').map((b) => b.of), g.parameters.map((p) => p.name));
  t.deepEqual(outputs.filter((b) => b.role === 'param.next' || b.role === 'state.next'), []);
  t.false(g.train.graph.nodes.some((n) => n.opType === 'Sqrt'), "AdamW's square root is the update graph's");
  t.true(g.update!.graph.nodes.some((n) => n.opType === 'Sqrt'));
  // Then the scalars the update kernel reads (update-kernel.ts).
  t.deepEqual([...g.interfaces.update!.outputs.keys()], ['param.next', 'adam_m.next', 'adam_v.next', 'adam_t.next', 'nonfinite', 'operand.0', 'operand.1', 'operand.2']);
});

test('the update graph has the optimizer\'s slots: none for plain SGD, the momentum buffer with momentum', (t) => {
  const slots = (o: TrainingSpec['optimizer']) => [...split({ optimizer: o }).interfaces.update!.inputs].filter(([, b]) => b.role === 'state').map(([n]) => n);
  t.deepEqual(slots({ kind: 'sgd', lr: 0.1 }), []);
  t.deepEqual(slots({ kind: 'sgd', lr: 0.1, momentum: 0.9 }), ['momentum']);
  t.deepEqual(slots({ kind: 'adamw', lr: 0.1 }), ['adam_m', 'adam_v', 'adam_t']);
});

test('a fused compile has no update graph; a split one refuses a weight decay other than the optimizer\'s or none', (t) => {
  const m = model();
  t.is(buildTrainingGraphs(m, { trainable: weights(m), loss: { kind: 'lm', logits: 'logits' }, optimizer: { kind: 'adamw', lr: 1e-3 } }).update, undefined);
  const [first] = weights(model());
  t.notThrows(() => split({ groups: [{ params: [first!], weightDecay: 0 }] }));
  const e = t.throws(() => split({ groups: [{ params: [first!], weightDecay: 0.3 }] }));
  t.true(e instanceof UserError);
  t.regex(e!.message, /decays a parameter by the optimizer's weight decay \(0\.01\) or not at all; '.*' asks for 0\.3/);
});
