import test from 'ava';
import { aggregateProfile, graphPart, type ProfileEvent } from '../../bench/profile-aggregate.ts';

const run = (ts: number, dur: number): ProfileEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
const kernel = (node: string, op: string, ts: number, dur: number): ProfileEvent => ({ cat: 'Node', name: `${node}_kernel_time`, ts, dur, args: { op_name: op } });

test('graph parts from the compiler node-name prefixes', (t) => {
  t.is(graphPart('grad/Gemm_3'), 'backward');
  t.is(graphPart('step/Mul_1'), 'optimizer');
  t.is(graphPart('loss/LogSoftmax'), 'loss');
  t.is(graphPart('dropout/Mul_node_4'), 'dropout');
  t.is(graphPart('/encoder/layer.0/MatMul'), 'forward');
});

test('kernel times per run by op, part and node; the warm-up run and fence events left out', (t) => {
  const events: ProfileEvent[] = [
    run(0, 100), kernel('/m/MatMul', 'MatMul', 10, 90), // warm-up
    run(200, 50), kernel('/m/MatMul', 'MatMul', 200, 20), kernel('grad/Gemm', 'Gemm', 225, 10), { cat: 'Node', name: 'grad/Gemm_fence_before', ts: 224, dur: 1 },
    run(300, 70), kernel('/m/MatMul', 'MatMul', 300, 40), kernel('step/Mul', 'Mul', 345, 20),
  ];
  const r = aggregateProfile(events, { skipRuns: 1 });
  t.is(r.runs, 2);
  t.is(r.runMs, 0.06); // (50 + 70) us / 2 runs
  t.is(r.kernelMs, 0.045);
  t.deepEqual(r.byOp, [{ key: 'MatMul', ms: 0.03, nodes: 1 }, { key: 'Mul', ms: 0.01, nodes: 1 }, { key: 'Gemm', ms: 0.005, nodes: 1 }]);
  t.deepEqual(r.byPart.map((p) => p.key), ['forward', 'optimizer', 'backward']);
  t.is(r.byNode[0]!.key, 'forward MatMul /m/MatMul');
  t.throws(() => aggregateProfile(events, { skipRuns: 3 }), { message: /3 runs; none left after skipping 3/ });
});
