import test from 'ava';
import { stepFlops, type ModelShape } from '../../bench/flops.ts';

const bert: ModelShape = { arch: 'bert', layers: 12, d: 768, heads: 12, ffn: 3072, vocab: 30522, batch: 8, seq: 128 };

test('BERT-base forward: 2 FLOPs per multiply-add of projections, attention, FFN and the head', (t) => {
  const T = 8 * 128;
  const perLayer = 4 * 2 * T * 768 * 768 + 2 * 2 * 8 * 128 * 128 * 768 + 2 * 2 * T * 768 * 3072;
  const head = 2 * 8 * 768 * 768 + 2 * 8 * 768 * 2;
  t.is(stepFlops(bert, { kind: 'full' }).forward, 12 * perLayer + head);
  // About 2 x 85M block weights x 1024 tokens (174 GFLOP), plus 4.8 of attention.
  t.true(Math.abs(stepFlops(bert, { kind: 'full' }).forward / 1e9 - 178.8) < 0.1);
});

test('full fine-tuning costs exactly 3x the forward; LoR2C skips block 0 and the weight gradients', (t) => {
  const full = stepFlops(bert, { kind: 'full' });
  t.is(full.backward, 2 * full.forward);
  t.is(full.total, 3 * full.forward);
  const r = 8, T = 8 * 128;
  const lor2c = stepFlops(bert, { kind: 'lor2c', rank: r });
  const adapters = 12 * 2 * (2 * T * 768 * r);
  t.is(lor2c.forward, full.forward + adapters);
  const block = (full.forward - (2 * 8 * 768 * 768 + 2 * 8 * 768 * 2)) / 12;
  // Input gradients of blocks 1..11 (both operands of the two attention products) and the
  // head; adapters: dA, dB everywhere, dh through A from block 1 on, through B everywhere.
  const attention = 2 * (2 * 8 * 128 * 128 * 768);
  const head = 2 * 8 * 768 * 768 + 2 * 8 * 768 * 2;
  const perAdapter = 2 * T * 768 * r;
  t.is(lor2c.backward, 11 * (block + attention) + head + 12 * 3 * perAdapter + 11 * perAdapter);
  t.true(lor2c.total < full.total);
});

test('LLaMA counts grouped-query k/v projections, three FFN products and the LM head', (t) => {
  const s: ModelShape = { arch: 'llama', layers: 1, d: 64, heads: 8, kvHeads: 2, ffn: 128, vocab: 100, batch: 1, seq: 4 };
  const T = 4, kv = 16;
  const forward = 2 * T * 64 * (64 + kv + kv + 64) + 2 * 2 * 4 * 4 * 64 + 3 * 2 * T * 64 * 128 + 2 * T * 64 * 100;
  t.is(stepFlops(s, { kind: 'full' }).forward, forward);
  // One block: with adapters, its inside needs no gradient; the head's input gradient does.
  const adapterForward = 2 * (2 * T * 64 * 8);
  t.is(stepFlops(s, { kind: 'lor2c', rank: 8 }).backward, 2 * T * 64 * 100 + 3 * (adapterForward / 2));
});
