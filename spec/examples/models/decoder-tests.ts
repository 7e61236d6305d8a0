/**
 * The checks every decoder builder (GPT-2-like, LLaMA-like) must pass, written once: ORT logits
 * against the float64 reference for each variant, causality, padding, and the anonymous variant.
 */
import test from 'ava';
import type { ModelProto } from '../../../compiler/onnx/index.ts';
import type { CausalMaskForm, CommonConfig, Resolved } from '../../../examples/models/index.ts';
import { SMALL, TOLERANCE, maxAbs, maxAbsDiff, positions, randomBatch, runLogits } from './harness.ts';
import type { Batch } from './reference.ts';

interface DecoderConfig extends CommonConfig {
  causalMask: CausalMaskForm;
  attentionMask: boolean;
}

export function decoderTests<C extends DecoderConfig>(
  name: string,
  build: (config: Partial<C>) => { model: ModelProto; config: Resolved<C> },
  reference: (model: ModelProto, config: Resolved<C>, x: Batch) => Float64Array,
  variants: [string, Partial<C>][],
): void {
  const small = SMALL as unknown as Partial<C>;
  for (const [label, options] of variants) {
    test(`${name} ${label}: ORT logits match the float64 reference`, async (t) => {
      const { model, config } = build({ ...small, ...options });
      const x = randomBatch(2, 8, SMALL.vocabSize, 2);
      // Right padding on batch 1 where the model takes a mask (every query still sees position 0).
      if (config.attentionMask) x.mask = [...Array(8).fill(1), 1, 1, 1, 1, 1, 1, 0, 0];
      const ort = await runLogits(model, x);
      const ref = reference(model, config, x);
      t.deepEqual(ort.dims, [2, 8, SMALL.vocabSize]);
      const err = maxAbsDiff(ort.data, ref);
      t.log(`opset ${config.opset}, max |logit| ${maxAbs(ref).toFixed(3)}, max abs error ${err.toExponential(2)}`);
      t.true(maxAbs(ref) > 0.2, 'logits too small for the tolerance to mean anything');
      t.true(err < TOLERANCE);
    });
  }

  for (const causalMask of ['trilu', 'constant'] as const) {
    test(`${name} (${causalMask} mask): changing a later token changes no earlier logits`, async (t) => {
      const { model } = build({ ...small, causalMask } as Partial<C>);
      const x = randomBatch(2, 8, SMALL.vocabSize, 3);
      const base = (await runLogits(model, x)).data;
      const changed = (await runLogits(model, { ...x, ids: x.ids.map((id, i) => (i % 8 === 5 ? (id + 11) % SMALL.vocabSize : id)) })).data;
      const V = SMALL.vocabSize;
      t.true(maxAbsDiff(positions(base, 8, V, (_b, s) => s < 5), positions(changed, 8, V, (_b, s) => s < 5)) < 1e-6);
      t.true(maxAbsDiff(positions(base, 8, V, (_b, s) => s >= 5), positions(changed, 8, V, (_b, s) => s >= 5)) > 1e-3, 'later positions must see the change');
    });
  }

  test(`${name}: a padded (masked) token changes no logit of the real tokens`, async (t) => {
    const { model } = build({ ...small, attentionMask: true } as Partial<C>);
    const x = randomBatch(2, 8, SMALL.vocabSize, 4);
    x.mask = [...Array(8).fill(1), 1, 1, 1, 0, 1, 1, 1, 1]; // position 3 of batch 1 masked out
    const base = (await runLogits(model, x)).data;
    const changed = (await runLogits(model, { ...x, ids: x.ids.map((id, i) => (i === 11 ? (id + 5) % SMALL.vocabSize : id)) })).data;
    const real = (b: number, s: number) => x.mask![b * 8 + s] === 1;
    t.true(maxAbsDiff(positions(base, 8, SMALL.vocabSize, real), positions(changed, 8, SMALL.vocabSize, real)) < 1e-6);
  });

  test(`${name}: the anonymous variant computes identical logits`, async (t) => {
    const x = randomBatch(2, 8, SMALL.vocabSize, 5);
    const named = await runLogits(build(small).model, x);
    const anonymous = await runLogits(build({ ...small, anonymous: true } as Partial<C>).model, x);
    t.deepEqual(Array.from(anonymous.data), Array.from(named.data));
  });
}
