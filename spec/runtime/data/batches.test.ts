import test from 'ava';
import { BatchPlan, type DataPosition } from '../../../runtime/data/batches.ts';
import { collate } from '../../../runtime/data/collate.ts';
import { checkExample, dataSchema, type CheckedExample } from '../../../runtime/data/schema.ts';
import type { GraphInfo } from '../../../contract/manifest.ts';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test('an epoch covers every example once; batches are a function of (seed, epoch)', (t) => {
  const plan = new BatchPlan(new Array(10).fill(1), { batchSize: 3, seed: 5 });
  t.is(plan.batchesPerEpoch, 4);
  const e0 = plan.epoch(0);
  t.deepEqual(e0.map((b) => b.length), [3, 3, 3, 1]);
  t.deepEqual(sorted(e0.flat()), Array.from({ length: 10 }, (_, i) => i));
  t.deepEqual(new BatchPlan(new Array(10).fill(1), { batchSize: 3, seed: 5 }).epoch(0), e0, 'same seed, same batches');
  t.notDeepEqual(plan.epoch(1), e0);
  t.notDeepEqual(new BatchPlan(new Array(10).fill(1), { batchSize: 3, seed: 6 }).epoch(0), e0);
});

test('positions advance through epochs and resuming from a position gives the same stream', (t) => {
  const plan = new BatchPlan(new Array(7).fill(1), { batchSize: 2, seed: 1, dropLast: true });
  t.is(plan.batchesPerEpoch, 3);
  const walk = (from: DataPosition, n: number) => {
    const out: number[][] = [];
    let p = from;
    for (let i = 0; i < n; i++) { out.push(plan.batchAt(p)); p = plan.next(p); }
    return { out, p };
  };
  const whole = walk({ epoch: 0, batch: 0 }, 8);
  t.deepEqual(whole.p, { epoch: 2, batch: 2 });
  const first = walk({ epoch: 0, batch: 0 }, 5);
  const fresh = new BatchPlan(new Array(7).fill(1), { batchSize: 2, seed: 1, dropLast: true });
  let p = first.p;
  const rest: number[][] = [];
  for (let i = 0; i < 3; i++) { rest.push(fresh.batchAt(p)); p = fresh.next(p); }
  t.deepEqual([...first.out, ...rest], whole.out);
});

test('unshuffled plans keep file order', (t) => {
  t.deepEqual(new BatchPlan([1, 1, 1, 1, 1], { batchSize: 2, seed: 0, shuffle: false }).epoch(3), [[0, 1], [2, 3], [4]]);
});

test('length bucketing groups similar lengths and still covers everything', (t) => {
  const lengths = Array.from({ length: 64 }, (_, i) => (i * 37) % 64);
  const plan = new BatchPlan(lengths, { batchSize: 4, seed: 3, bucket: 16 });
  const batches = plan.epoch(0);
  t.deepEqual(sorted(batches.flat()), Array.from({ length: 64 }, (_, i) => i));
  // With one chunk of all 64 examples each batch spans the 4 closest lengths.
  for (const b of batches) {
    const ls = b.map((i) => lengths[i]!);
    t.true(Math.max(...ls) - Math.min(...ls) <= 3, `batch lengths ${ls}`);
  }
  const unbucketed = new BatchPlan(lengths, { batchSize: 4, seed: 3 }).epoch(0);
  const spread = (bs: number[][]) => bs.reduce((s, b) => s + Math.max(...b.map((i) => lengths[i]!)) - Math.min(...b.map((i) => lengths[i]!)), 0);
  t.true(spread(batches) < spread(unbucketed) / 4);
});

const graph: GraphInfo = {
  file: 'train.onnx',
  inputs: [
    { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' },
    { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' },
    { name: 'labels', dtype: 'int64', shape: ['batch', 'seq'], role: 'batch' },
    { name: 'pixels', dtype: 'float32', shape: ['batch', 2, 'w'], role: 'batch' },
  ],
  outputs: [],
};

test('collate pads symbolic dims to the longest example with per-input pad values', (t) => {
  const schema = dataSchema(graph, { kind: 'lm', labelKey: 'labels', logits: 'logits' });
  const rows = [
    { input_ids: [11, 12, 13], attention_mask: [1, 1, 1], labels: [12, 13, 2], pixels: [[1], [2]] },
    { input_ids: [21], attention_mask: [1], labels: [2], pixels: [[3, 4, 5], [6, 7, 8]] },
  ];
  const examples = rows.map((r) => checkExample(r, schema) as CheckedExample);
  const batch = collate(examples, schema);
  t.is(batch.examples, 2);
  t.is(batch.tokens, 3 + 3);
  const ids = batch.feeds.input_ids!;
  t.deepEqual(ids.dims, [2, 3]);
  t.is(ids.type, 'int64');
  t.deepEqual([...(ids.data as BigInt64Array)], [11n, 12n, 13n, 21n, 0n, 0n]);
  t.deepEqual([...(batch.feeds.attention_mask!.data as BigInt64Array)], [1n, 1n, 1n, 1n, 0n, 0n]);
  t.deepEqual([...(batch.feeds.labels!.data as BigInt64Array)], [12n, 13n, 2n, 2n, -100n, -100n]);
  const px = batch.feeds.pixels!;
  t.deepEqual(px.dims, [2, 2, 3]);
  t.deepEqual([...(px.data as Float32Array)], [1, 0, 0, 2, 0, 0, 3, 4, 5, 6, 7, 8]);
});

test('collate refuses a batch that does not fit a fixed batch dim', (t) => {
  const schema = dataSchema({ file: 'x', inputs: [{ name: 'x', dtype: 'float32', shape: [4, 1], role: 'batch' }], outputs: [] }, { kind: 'regress', labelKey: 'y', logits: 'o' });
  const ex = checkExample({ x: [1] }, schema) as CheckedExample;
  t.throws(() => collate([ex, ex], schema), { message: /fixed batch size of 4, but the batch has 2/ });
});
