/**
 * Sums an onnxruntime profile (the JSON array `enableProfiling` writes: one 'Session' event
 * per run, one 'Node' event per kernel run, in microseconds) per run, by op type and by part of
 * the train graph. The part is read from the node name's first segment, which the compiler sets
 * ('grad/' backward, 'step/' optimizer, 'loss/' the loss, 'dropout/' the training-mode dropout's
 * masks; the rest is the base's forward);
 * nodes ORT's optimizer fused keep a name of one of theirs, so the split is approximate there.
 */
export interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export interface ProfileRow {
  key: string;
  /** Milliseconds per run. */
  ms: number;
  /** Distinct nodes. */
  nodes: number;
}

export interface ProfileReport {
  runs: number;
  /** model_run milliseconds per run (the mean over the counted runs). */
  runMs: number;
  /** Kernel milliseconds per run. */
  kernelMs: number;
  byOp: ProfileRow[];
  byPart: ProfileRow[];
  /** Per node (key: 'part op name'), slowest first. */
  byNode: ProfileRow[];
}

const KERNEL = '_kernel_time';

export function graphPart(nodeName: string): string {
  const first = nodeName.split('/')[0];
  if (first === 'grad') return 'backward';
  if (first === 'step') return 'optimizer';
  if (first === 'loss') return 'loss';
  if (first === 'dropout') return 'dropout';
  return 'forward';
}

/** `skipRuns` first runs (warm-up) are left out: their kernels fall inside those runs' spans. */
export function aggregateProfile(events: readonly ProfileEvent[], opts: { skipRuns: number }): ProfileReport {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const counted = runs.slice(opts.skipRuns);
  if (counted.length === 0) throw new Error(`profile has ${runs.length} runs; none left after skipping ${opts.skipRuns}`);
  const inCounted = (ts: number) => counted.some((r) => ts >= r.ts && ts <= r.ts + r.dur);
  const ops = new Map<string, { us: number; nodes: Set<string> }>();
  const parts = new Map<string, { us: number; nodes: Set<string> }>();
  const perNode = new Map<string, { us: number; nodes: Set<string> }>();
  let kernelUs = 0;
  const add = (table: typeof ops, key: string, node: string, us: number) => {
    const row = table.get(key) ?? { us: 0, nodes: new Set<string>() };
    row.us += us;
    row.nodes.add(node);
    table.set(key, row);
  };
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith(KERNEL) || !inCounted(e.ts)) continue;
    const node = e.name.slice(0, -KERNEL.length);
    add(ops, e.args?.op_name ?? '?', node, e.dur);
    add(parts, graphPart(node), node, e.dur);
    add(perNode, `${graphPart(node)} ${e.args?.op_name ?? '?'} ${node}`, node, e.dur);
    kernelUs += e.dur;
  }
  const n = counted.length;
  const rows = (t: typeof ops) => [...t].map(([key, r]) => ({ key, ms: r.us / 1000 / n, nodes: r.nodes.size })).sort((a, b) => b.ms - a.ms || (a.key < b.key ? -1 : 1));
  return { runs: n, runMs: counted.reduce((s, r) => s + r.dur, 0) / 1000 / n, kernelMs: kernelUs / 1000 / n, byOp: rows(ops), byPart: rows(parts), byNode: rows(perNode) };
}
