/**
 * Which execution provider ORT assigns each node of a model to, from ORT's own verbose log
 * (it prints the placements when a session is created), and whether any compute node (one
 * with a floating-point output) landed on the CPU. Exit status 1 when one did.
 *
 *   npx tsx bench/cuda-placement.ts MODEL.onnx [--provider cuda|cpu]
 *
 * ORT writes its log to the process's native stderr, so the session is created in a child
 * process whose stderr this one reads.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readModel, isFloatType } from '../compiler/onnx/index.ts';
import { modelFromProto } from '../compiler/graph/index.ts';
import { inferShapes } from '../compiler/shapes/index.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { provider: { type: 'string', default: 'cuda' }, child: { type: 'boolean' } } });
const model = positionals[0];
if (!model) {
  console.error('usage: npx tsx bench/cuda-placement.ts MODEL.onnx [--provider cuda|cpu]');
  process.exit(2);
}

if (values.child) {
  const ort = await import('onnxruntime-node');
  ort.env.logLevel = 'verbose';
  const providers = values.provider === 'cuda' ? [{ name: 'cuda' as const, deviceId: 0 }] : ['cpu'];
  await ort.InferenceSession.create(model, { executionProviders: providers, logSeverityLevel: 0, logVerbosityLevel: 0 });
  process.exit(0);
}

const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), model, '--child', '--provider', values.provider!], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 600_000 });
if (child.status !== 0) {
  const last = (child.stderr || '').split('\n').filter((l) => /error|fail/i.test(l)).slice(-5).join('\n');
  console.error(`FAIL: ORT could not create a ${values.provider} session for ${model}${child.signal ? ` (killed: ${child.signal})` : ''}:\n${last || child.stderr.slice(-2000)}`);
  process.exit(2);
}

// "All nodes placed on [EP]. Number of nodes: N", or per EP " Node(s) placed on [EP]. Number
// of nodes: N" followed by "  OpType (name)" lines.
const placed = new Map<string, { count: number; nodes: { op: string; name: string }[] }>();
let current: { count: number; nodes: { op: string; name: string }[] } | undefined;
for (const line of child.stderr.split('\n')) {
  const message = line.replace(/^.*?VerifyEachNodeIsAssignedToAnEp\]/, '');
  if (message === line) { current = undefined; continue; }
  const all = /All nodes placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(message);
  const some = /Node\(s\) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(message);
  const node = /^\s{2,}(\S+) \((.*)\)\s*$/.exec(message);
  if (all || some) placed.set((all ?? some)![1]!, (current = { count: Number((all ?? some)![2]), nodes: [] }));
  else if (node && current) current.nodes.push({ op: node[1]!, name: node[2]! });
}
if (placed.size === 0) {
  console.error('FAIL: ORT printed no node placements (its log format may have changed); the verbose log is in the child\'s stderr');
  process.exit(2);
}
for (const [ep, p] of placed) console.log(`${ep}: ${p.count} nodes`);

const cpu = placed.get('CPUExecutionProvider');
if (values.provider === 'cpu' || !cpu) {
  console.log(values.provider === 'cpu' ? 'provider cpu asked: nothing to compare' : 'every node is on the CUDA provider');
  process.exit(0);
}
// ORT puts shape computations (int64 Shape / Gather / Concat chains) on the CPU on purpose;
// a node with a floating-point output there is compute that fell back.
const parsed = modelFromProto(readModel(model, { deferAbove: 1024 })); // types only: weights stay on disk
const graph = parsed.graph;
const types = inferShapes(parsed);
const byName = new Map(graph.nodes.map((n) => [n.name, n]));
const compute = cpu.nodes.filter((n) => (byName.get(n.name)?.outputs ?? []).some((o) => isFloatType(types.get(o)?.dtype ?? 0)));
console.log(`on the CPU: ${cpu.nodes.length} nodes, ${compute.length} of them compute (floating-point outputs)`);
for (const n of compute.slice(0, 50)) console.log(`  fell back: ${n.op} (${n.name})`);
process.exit(compute.length ? 1 : 0);
