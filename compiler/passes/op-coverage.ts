/**
 * Which nodes of a graph onnxruntime's CUDA provider has no kernel for, from the table of its
 * registered kernels (cuda-kernels.ts): the op in its domain, the model's opset for that
 * domain, and the element types of the node's inputs and outputs. ORT runs such a node on the
 * CPU and copies its tensors across on every step, so `target cuda` refuses a graph that has
 * one and `target cuda fallback cpu` warns with the list (compile.ts).
 *
 * An op ONNX defines as a function (CastLike, Range, ...) and ORT has no kernel for is
 * expanded by ORT into its body, which may well run on CUDA; this check does not expand it
 * and reports it, the cautious answer.
 */
import type { Graph } from '../graph/graph.ts';
import { normalizeDomain } from '../graph/graph.ts';
import { inferGraphShapes } from '../shapes/index.ts';
import { CUDA_KERNELS, CUDA_TYPE_GROUPS } from './cuda-kernels.ts';
import { widenHalfNodes } from './round-half-on-cpu.ts';
import { lookupKernel, ortTypeName, parseKernelTable, type KernelTable, type KernelVerdict } from './kernel-table.ts';

let cudaTable: KernelTable | undefined;
export function cudaKernelTable(): KernelTable {
  return (cudaTable ??= parseKernelTable(CUDA_KERNELS, CUDA_TYPE_GROUPS));
}

export interface CoverageProblem {
  domain: string;
  opType: string;
  /** Why, for the first node (all nodes of one op and reason share it). */
  why: string;
  /** Names (or first outputs) of the nodes using it. */
  nodes: string[];
}

/** Every node of the graph without a CUDA kernel for its op, opset and element types, grouped by op and reason. */
export function checkOpCoverage(graph: Graph, opsets: ReadonlyMap<string, number>): CoverageProblem[] {
  const table = cudaKernelTable();
  const types = inferGraphShapes(graph, new Map(opsets));
  const typeOf = (name: string) => (name === '' ? undefined : ortTypeName(types.get(name)?.dtype ?? 0));
  const problems = new Map<string, CoverageProblem>();
  for (const n of graph.nodes) {
    const domain = normalizeDomain(n.domain);
    if (n.opType === 'Constant' && domain === '') continue; // folded into an initializer by ORT
    const opset = opsets.get(domain) ?? (domain === '' ? 0 : 1);
    const verdict = lookupKernel(table, domain, n.opType, opset, n.inputs.map(typeOf), n.outputs.map(typeOf));
    if (verdict.ok) continue;
    const why = describe(verdict, opset, domain);
    const key = `${domain}:${n.opType}:${why}`;
    let p = problems.get(key);
    if (!p) problems.set(key, (p = { domain, opType: n.opType, why, nodes: [] }));
    p.nodes.push(n.name || n.outputs[0] || '?');
  }
  return [...problems.values()];
}

/**
 * In a half-precision graph, the nodes CUDA has no half kernel for (the backward's Pad for
 * bfloat16 in ORT 1.30) compute in float32 between Casts: the rest of the graph stays half and
 * on the GPU, and for data movement the round trip is exact.
 */
export function widenUncoveredHalf(graph: Graph, opsets: ReadonlyMap<string, number>): number {
  const table = cudaKernelTable();
  return widenHalfNodes(graph, (n, dtypes) => {
    const domain = normalizeDomain(n.domain);
    const typeOf = (name: string) => (name === '' ? undefined : ortTypeName(dtypes.get(name) ?? 0));
    const opset = opsets.get(domain) ?? (domain === '' ? 0 : 1);
    const verdict = lookupKernel(table, domain, n.opType, opset, n.inputs.map(typeOf), n.outputs.map(typeOf));
    return !verdict.ok && verdict.reason === 'type' && (verdict.type === 'float16' || verdict.type === 'bfloat16');
  });
}

function describe(v: Exclude<KernelVerdict, { ok: true }>, opset: number, domain: string): string {
  const where = `${domain || 'ai.onnx'} opset ${opset}`;
  if (v.reason === 'no-op') return 'no CUDA kernel';
  if (v.reason === 'no-opset') return `no CUDA kernel at ${where} (registered: ${v.registered})`;
  return `${v.slot} ${v.index} is ${v.type}; CUDA registers ${v.constraint} = ${v.accepted.join(', ')} at ${v.range}`;
}

export function formatCoverageProblems(problems: readonly CoverageProblem[]): string {
  return problems.map((p) => `${p.domain ? `${p.domain}.` : ''}${p.opType} (${p.nodes.length} node${p.nodes.length === 1 ? '' : 's'}, e.g. '${p.nodes[0]}': ${p.why})`).join('; ');
}
