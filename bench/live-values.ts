/**
 * Which activations a compiled train graph holds at its peak: replays the graph's node order
 * with each value freed right after its last reader (graph outputs kept), with shapes inferred
 * at a given batch and sequence length, and prints the peak, where it falls, the live bytes by
 * the op type that produced them and the largest live values. Initializers (the frozen
 * weights) are not counted. The figure is a lower bound on what ORT's allocator needs for the
 * step: ORT runs its own topological order, and malloc keeps pages (docs/performance.md).
 *
 *   npx tsx bench/live-values.ts DIR/train.onnx [--batch 1] [--seq 512] [--top 25]
 *
 * Symbolic input dims are pinned by name: one containing seq, len or position to --seq, every
 * other one to --batch.
 */
import { parseArgs } from 'node:util';
import { readModel, modelFromProto } from '../compiler/index.ts';
import { inferGraphShapes, valueTypeFromInfo, type ValueType } from '../compiler/shapes/index.ts';
import { rawByteLength } from '../compiler/onnx/dtype.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batch: { type: 'string', default: '1' }, seq: { type: 'string', default: '512' }, top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1) throw new Error('usage: npx tsx bench/live-values.ts TRAIN.onnx [--batch N] [--seq N] [--top N]');
const model = modelFromProto(readModel(positionals[0], { deferAbove: 1 << 16 }));
const graph = model.graph;

const pinned = new Map<string, ValueType>();
for (const input of graph.feedInputs()) {
  const t = valueTypeFromInfo(input);
  if (t?.shape) pinned.set(input.name, { ...t, shape: t.shape.map((d) => (typeof d === 'number' ? d : /seq|len|position/i.test(d) ? Number(values.seq) : Number(values.batch))) });
}
const types = inferGraphShapes(graph, model.opsets, pinned);

/** Bytes of a value, undefined when its shape is not known. */
function bytesOf(name: string): number | undefined {
  const t = types.get(name);
  if (!t?.shape || !t.shape.every((d): d is number => typeof d === 'number')) return undefined;
  return rawByteLength(t.dtype, t.shape.reduce((a, b) => a * b, 1));
}

const lastReader = new Map<string, number>();
graph.nodes.forEach((node, i) => node.inputs.forEach((x) => x && lastReader.set(x, i)));
const kept = new Set(graph.outputs.map((o) => o.name));
const producedBy = new Map<string, string>();
const live = new Map<string, number>();
let liveBytes = 0;
let unknown = 0;
let peak = { bytes: 0, at: 0, values: new Map<string, number>() };
graph.nodes.forEach((node, i) => {
  for (const out of node.outputs) {
    if (!out) continue;
    const b = bytesOf(out);
    if (b === undefined) unknown++;
    producedBy.set(out, node.opType);
    live.set(out, b ?? 0);
    liveBytes += b ?? 0;
  }
  if (liveBytes > peak.bytes) peak = { bytes: liveBytes, at: i, values: new Map(live) };
  const free = (name: string) => {
    if (kept.has(name) || !live.has(name)) return;
    liveBytes -= live.get(name)!;
    live.delete(name);
  };
  for (const x of node.inputs) if (x && lastReader.get(x) === i) free(x);
  for (const out of node.outputs) if (out && !lastReader.has(out)) free(out);
});

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0).padStart(7)} MiB`;
const at = graph.nodes[peak.at];
console.log(`${graph.nodes.length} nodes at batch ${values.batch}, seq ${values.seq}; ${unknown} values of unknown size (not counted)`);
console.log(`peak      ${(peak.bytes / 2 ** 30).toFixed(2)} GiB of activations live, at node ${peak.at} (${at.opType} ${at.name})`);
const byOp = new Map<string, { bytes: number; count: number }>();
for (const [name, b] of peak.values) {
  const e = byOp.get(producedBy.get(name)!) ?? { bytes: 0, count: 0 };
  byOp.set(producedBy.get(name)!, { bytes: e.bytes + b, count: e.count + 1 });
}
console.log('live at the peak, by the op that produced them:');
for (const [op, e] of [...byOp].sort((a, b) => b[1].bytes - a[1].bytes).filter(([, e]) => e.bytes >= 2 ** 20)) console.log(`  ${op.padEnd(24)} ${mib(e.bytes)} in ${e.count} values`);
console.log('largest live values:');
for (const [name, b] of [...peak.values].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${mib(b)}  ${producedBy.get(name)} -> ${name}`);
