/** What `lor2c inspect` reports about a model. */
import { dataTypeName, elementCount, isFloatType, tensorByteLength, type ModelProto, type TensorProto, type TypeProto, type ValueInfoProto } from './onnx/index.ts';
import { modelFromProto, type Graph, type Model } from './graph/index.ts';
import { isUserError } from './errors.ts';
import { locateBlocks, renderBlocks, type BlockMap } from './locate/index.ts';

export interface ValueSummary {
  name: string;
  dtype: string;
  /** Dimension sizes; strings are symbolic dims, null where the model leaves a dim unnamed. */
  shape: (number | string | null)[] | null;
}

export interface Inspection {
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  parameters: number;
  parameterTensors: number;
  parameterBytes: number;
  /** Of `parameters`, how many are held in Constant nodes rather than initializers. */
  parametersInConstantNodes: number;
  /** Elements of non-float initializers (position ids, masks, shape constants): not parameters. */
  buffers: number;
  nodes: number;
  ops: Record<string, number>;
  /** The transformer blocks found (compiler/locate), or why none were. */
  blocks: BlockMap | { error: string; hint?: string };
}

export function describeType(t: TypeProto | undefined): { dtype: string; shape: ValueSummary['shape'] } {
  if (t?.value.case !== 'tensorType') return { dtype: t?.value.case ?? 'unknown', shape: null };
  const tt = t.value.value;
  const shape = tt.shape ? tt.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null)) : null;
  return { dtype: dataTypeName(tt.elemType), shape };
}

function summarize(v: ValueInfoProto): ValueSummary {
  return { name: v.name, ...describeType(v.type) };
}

export function inspectModel(proto: ModelProto): Inspection {
  const model = modelFromProto(proto);
  const graph: Graph = model.graph;
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  // Parameters are the float weights; integer and bool initializers (position ids, masks,
  // shape constants) are buffers. Some exporters keep weights in Constant nodes (PaddleOCR):
  // those count too, apart from scalars, which are the arithmetic's constants.
  let parameters = 0;
  let parameterBytes = 0;
  let parameterTensors = 0;
  let buffers = 0;
  const count = (t: TensorProto) => {
    parameters += elementCount(t.dims);
    parameterBytes += tensorByteLength(t);
    parameterTensors++;
  };
  for (const t of graph.initializers.values()) {
    if (isFloatType(t.dataType)) count(t);
    else buffers += elementCount(t.dims);
  }
  let inConstantNodes = 0;
  for (const n of graph.nodes) {
    const t = n.opType === 'Constant' ? n.attributes.find((a) => a.name === 'value')?.t : undefined;
    if (t && isFloatType(t.dataType) && elementCount(t.dims) > 1) {
      count(t);
      inConstantNodes += elementCount(t.dims);
    }
  }
  return {
    irVersion: Number(proto.irVersion),
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    opsets: Object.fromEntries([...model.opsets].map(([d, v]) => [d || 'ai.onnx', v])),
    inputs: graph.feedInputs().map(summarize),
    outputs: graph.outputs.map(summarize),
    parameters,
    parameterTensors,
    parameterBytes,
    parametersInConstantNodes: inConstantNodes,
    buffers,
    nodes: graph.nodes.length,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    blocks: findBlocks(model),
  };
}

/** Inspect reports a model that has no findable blocks; it does not fail on it. */
function findBlocks(model: Model): Inspection['blocks'] {
  try {
    return locateBlocks(model);
  } catch (e) {
    if (isUserError(e)) return { error: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    return { error: `block discovery failed unexpectedly (a lor2c bug, please report it): ${(e as Error).message}` };
  }
}

function shapeText(s: ValueSummary): string {
  return `${s.dtype}[${s.shape === null ? '?' : s.shape.map((d) => d ?? '?').join(', ')}]`;
}

export function renderInspection(r: Inspection, label: string): string {
  const lines = [
    `model       ${label}`,
    `ir version  ${r.irVersion}${r.producer ? `   producer ${r.producer}` : ''}`,
    `opsets      ${Object.entries(r.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`,
    'inputs',
    ...r.inputs.map((v) => `  ${v.name}: ${shapeText(v)}`),
    'outputs',
    ...r.outputs.map((v) => `  ${v.name}: ${shapeText(v)}`),
    `parameters  ${r.parameters.toLocaleString('en-US')} in ${r.parameterTensors} tensors (${(r.parameterBytes / 2 ** 20).toFixed(2)} MiB)` +
      (r.parametersInConstantNodes ? `, ${r.parametersInConstantNodes.toLocaleString('en-US')} of them in Constant nodes` : '') +
      (r.buffers ? `; buffers ${r.buffers.toLocaleString('en-US')}` : ''),
    `nodes       ${r.nodes}`,
    'ops',
    ...Object.entries(r.ops).map(([op, n]) => `  ${String(n).padStart(6)}  ${op}`),
    ...('error' in r.blocks ? ['blocks      none found', `  note: ${r.blocks.error}`, ...(r.blocks.hint ? [`  hint: ${r.blocks.hint}`] : [])] : renderBlocks(r.blocks)),
  ];
  return lines.join('\n');
}
