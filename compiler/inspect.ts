/** What `lor2c inspect` reports about a model. */
import { dataTypeName } from './onnx/dtype.ts';
import type { ModelProto, TypeProto, ValueInfoProto } from './onnx/proto.ts';
import { modelFromProto, type Graph, type Model } from './graph/index.ts';
import { isUserError } from '../contract/errors.ts';
import { inferShapes, type ValueType } from './shapes/index.ts';
import { countParameters, type ExcludedTensor } from './inspect-parameters.ts';
import { locateBlocks, renderBlocks, type BlockMap } from './locate/index.ts';
import { lowerContribOps } from './passes/lower-contrib/index.ts';

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
  /**
   * The learned parameters: float tensors, less folded copies and recognised float buffers
   * (the rules are in inspect-parameters.ts). Equals torch's `sum(p.numel() for p in
   * model.parameters())` for what torch.onnx.export writes.
   */
  parameters: number;
  parameterTensors: number;
  parameterBytes: number;
  /** Of `parameters`, how many are held in Constant nodes rather than initializers. */
  parametersInConstantNodes: number;
  /** Every float element that could be a parameter, before copies and float buffers are taken out. */
  floatElements: number;
  /** The float tensors not counted, and why: copies of a counted one, masks, sinusoid tables, rotary frequencies, running statistics. */
  notParameters: ExcludedTensor[];
  /** Elements of non-float initializers (position ids, masks, shape constants) and of the float buffers. */
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

/**
 * An output's shape: the declared one, where inference (compiler/shapes) knows better filled
 * in. A declared number stays; so does a declared name that an input also uses (batch, seq),
 * which ties the two. A name seen on no input is an exporter's placeholder (torch writes
 * `MatMullogits_dim_0`), and a missing dim or shape is unknown: there inference's dim is shown,
 * a number or the input's symbol it derives from.
 */
function withInferredShape(declared: ValueSummary, inferred: ValueType | undefined, inputDims: Set<string>): ValueSummary {
  const shape = inferred?.shape;
  const dtype = declared.dtype === dataTypeName(0) && inferred?.dtype ? dataTypeName(inferred.dtype) : declared.dtype;
  if (!shape) return { ...declared, dtype };
  const known = (d: number | string) => typeof d === 'number' || !/^(\?|unk__|max\()/.test(d);
  if (declared.shape === null || declared.shape.length !== shape.length) return { ...declared, dtype, shape: shape.map((d) => (known(d) ? d : null)) };
  return {
    ...declared,
    dtype,
    shape: declared.shape.map((d, i) => {
      const mine = shape[i]!;
      if (typeof d === 'number' || (typeof d === 'string' && inputDims.has(d)) || !known(mine)) return d;
      return mine;
    }),
  };
}

export function inspectModel(proto: ModelProto): Inspection {
  const model = modelFromProto(proto);
  const graph: Graph = model.graph;
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  const counted = countParameters(graph, proto.producerName);
  const nodes = graph.nodes.length;
  // Blocks and output shapes are read off the model with onnxruntime's fused ops written out,
  // as compile reads it (the counts above are of the file as it is).
  const refused = lowerFusedOps(model);
  const outputTypes = inferShapes(model);
  const declaredInputDims = new Set(graph.feedInputs().flatMap((v) => describeType(v.type).shape ?? []).filter((d): d is string => typeof d === 'string'));
  return {
    irVersion: Number(proto.irVersion),
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    opsets: Object.fromEntries([...model.opsets].map(([d, v]) => [d || 'ai.onnx', v])),
    inputs: graph.feedInputs().map(summarize),
    outputs: graph.outputs.map((v) => withInferredShape(summarize(v), outputTypes.get(v.name), declaredInputDims)),
    parameters: counted.parameters,
    parameterTensors: counted.parameterTensors,
    parameterBytes: counted.parameterBytes,
    parametersInConstantNodes: counted.parametersInConstantNodes,
    floatElements: counted.floatElements,
    notParameters: counted.excluded,
    buffers: counted.buffers,
    nodes,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    blocks: refused ?? findBlocks(model),
  };
}

/** Lowers the fused ops in place; a variant that cannot be lowered is what inspect reports instead of blocks. */
function lowerFusedOps(model: Model): { error: string; hint?: string } | undefined {
  try {
    lowerContribOps(model);
    return undefined;
  } catch (e) {
    if (isUserError(e)) return { error: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    throw e;
  }
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

const NOT_PARAMETER_WHY: Record<ExcludedTensor['kind'], string> = {
  copy: 'copy',
  mask: 'additive mask (float buffer)',
  sinusoids: 'sinusoid table of the position (float buffer)',
  frequencies: 'rotary frequencies (float buffer)',
  statistics: 'BatchNormalization running statistics (buffer)',
  compared: 'read only by comparisons (a 0/1 mask buffer)',
  zeros: 'all zeros added to an output (a logits-bias buffer)',
};

function notParameterLines(r: Inspection): string[] {
  if (!r.notParameters.length) return [];
  const shown = r.notParameters.slice(0, 8).map((e) => {
    const why = e.kind === 'copy' ? `${e.transposed ? 'transposed ' : ''}copy of '${e.of}'` : NOT_PARAMETER_WHY[e.kind];
    return `  not counted: '${e.name}' (${e.elements.toLocaleString('en-US')}): ${why}`;
  });
  const more = r.notParameters.length - shown.length;
  return [
    `  float tensors hold ${r.floatElements.toLocaleString('en-US')} elements; parameters exclude:`,
    ...shown,
    ...(more > 0 ? [`  ... and ${more} more (--json lists them)`] : []),
  ];
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
    ...notParameterLines(r),
    `nodes       ${r.nodes}`,
    'ops',
    ...Object.entries(r.ops).map(([op, n]) => `  ${String(n).padStart(6)}  ${op}`),
    ...('error' in r.blocks ? ['blocks      none found', `  note: ${r.blocks.error}`, ...(r.blocks.hint ? [`  hint: ${r.blocks.hint}`] : [])] : renderBlocks(r.blocks)),
  ];
  return lines.join('\n');
}
