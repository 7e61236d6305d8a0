/**
 * Ops that onnxruntime implements on BOTH its CPU and its CUDA execution provider (from ORT's
 * docs/OperatorKernels.md, kernels registered for float at least). Graphs lor2c emits must
 * stay inside this set so the same artifacts run on either provider; `checkOpCoverage` lists
 * every node outside it. Types matter too: double kernels are missing on CUDA for a few ops
 * (OneHot), which only float64 test graphs use.
 */
import type { Graph } from '../graph/graph.ts';
import { normalizeDomain } from '../graph/graph.ts';

/** ai.onnx ops with CPU and CUDA kernels. */
const AI_ONNX = [
  'Abs', 'Add', 'And', 'ArgMax', 'ArgMin', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Compress',
  'Concat', 'ConstantOfShape', 'Conv', 'ConvTranspose', 'Cos', 'CumSum', 'DepthToSpace', 'Div', 'Dropout', 'Einsum',
  'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'GRU', 'Gather', 'GatherElements', 'GatherND',
  'Gelu', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'HardSigmoid', 'HardSwish',
  'Identity', 'If', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LSTM', 'LayerNormalization', 'LeakyRelu', 'Less',
  'LessOrEqual', 'Log', 'LogSoftmax', 'Loop', 'MatMul', 'Max', 'MaxPool', 'Min', 'Mod', 'Mul', 'Neg', 'NonZero',
  'Not', 'OneHot', 'Or', 'PRelu', 'Pad', 'Pow', 'RMSNormalization', 'RNN', 'RandomNormal', 'RandomNormalLike',
  'RandomUniform', 'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum', 'ReduceSumSquare', 'Relu',
  'Reshape', 'Resize', 'ReverseSequence', 'RoiAlign', 'Round', 'Scan', 'ScatterElements', 'ScatterND', 'Selu', 'Shape',
  'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Size', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Split',
  'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Tanh', 'ThresholdedRelu', 'Tile', 'TopK', 'Transpose', 'Trilu', 'Unsqueeze', 'Where', 'Xor',
];

/** com.microsoft contrib ops with CPU and CUDA kernels that lor2c may meet or emit. */
const COM_MICROSOFT = ['Gelu', 'FastGelu', 'BiasGelu', 'FusedMatMul', 'SkipLayerNormalization', 'Attention'];

export const PORTABLE_OPS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['', new Set(AI_ONNX)],
  ['com.microsoft', new Set(COM_MICROSOFT)],
]);

export function isPortableOp(domain: string, opType: string): boolean {
  return PORTABLE_OPS.get(normalizeDomain(domain))?.has(opType) ?? false;
}

export interface CoverageProblem {
  domain: string;
  opType: string;
  /** Names (or first outputs) of the nodes using it. */
  nodes: string[];
}

/** Every op in the graph that is not implemented by both ORT's CPU and CUDA providers. */
export function checkOpCoverage(graph: Graph): CoverageProblem[] {
  const problems = new Map<string, CoverageProblem>();
  for (const n of graph.nodes) {
    if (n.opType === 'Constant' && normalizeDomain(n.domain) === '') continue; // folded into an initializer by ORT
    if (isPortableOp(n.domain, n.opType)) continue;
    const key = `${n.domain}:${n.opType}`;
    let p = problems.get(key);
    if (!p) problems.set(key, (p = { domain: normalizeDomain(n.domain), opType: n.opType, nodes: [] }));
    p.nodes.push(n.name || n.outputs[0] || '?');
  }
  return [...problems.values()];
}

export function formatCoverageProblems(problems: readonly CoverageProblem[]): string {
  return problems.map((p) => `${p.domain ? `${p.domain}.` : ''}${p.opType} (${p.nodes.length} node${p.nodes.length === 1 ? '' : 's'}, e.g. '${p.nodes[0]}')`).join('; ');
}
