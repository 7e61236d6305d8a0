/**
 * Gradient checking through onnxruntime: the gradient graph autodiff emits is run and compared
 * with central finite differences of the same loss, also computed by ORT. float64 where ORT
 * has double kernels for every op involved, else float32 with a looser bound.
 */
import * as ort from 'onnxruntime-node';
import { Graph, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { encodeModel, DataType, makeTensor, type TensorProto } from '../../../compiler/onnx/index.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { valueInfoFromType, type ValueType } from '../../../compiler/shapes/types.ts';
import type { Attrs } from '../../../compiler/graph/attributes.ts';
import { GraphBuilder } from '../../../compiler/graph/builder.ts';
import { mulberry32 } from '../../../compiler/adapters/init.ts';

/** Deterministic uniform numbers. */
export const rng = mulberry32;

export interface InputSpec {
  shape: number[];
  /** float: differentiated graph input; const-*: initializer (not differentiated). */
  kind?: 'float' | 'const-int' | 'const-float' | 'int' | 'bool';
  /** Explicit values (const-int, int, bool, or fixed floats). */
  values?: number[];
  /** Range of random floats (default [-1, 1]); ints: [0, max). */
  range?: [number, number];
  /** Declared dims: a name makes that dim symbolic in the graph input's type. */
  dims?: (number | string)[];
  /** Leave it out of the gradient (a float input that is frozen). */
  frozen?: boolean;
  /** Omitted optional input. */
  omitted?: boolean;
}

export interface OpCase {
  name: string;
  op: string;
  domain?: string;
  opset?: number;
  attrs?: Attrs;
  inputs: InputSpec[];
  /** Outputs the loss reads (default [0]); others exist but carry no gradient. */
  lossOutputs?: number[];
  outputCount?: number;
  /** Force float32 (ops ORT only has in float). */
  float32?: boolean;
  /** Skip the run with inferred shapes / the run without. */
  modes?: Mode[];
}

/**
 * declared: only what the graph declares; inferred: shapes inferred first; sized: inferred, and
 * symbolic sizes read off the fed inputs (differentiate's sizesFrom, as the trainer compiles).
 */
export type Mode = 'declared' | 'inferred' | 'sized';

export interface CheckResult {
  dtype: 'float64' | 'float32';
  maxRelError: number;
  perInput: Record<string, number>;
  nodesAdded: number;
  /**
   * Transpose nodes of the differentiated graph that read an initializer: onnxruntime's
   * constant folding would hold a transposed copy of that constant (a frozen weight) for the
   * session's life. The gradient rules must emit none.
   */
  transposedConstants: string[];
  /**
   * Forward values (node outputs) the backward reads through Shape or Size although inference
   * gives their shapes in numbers and the inputs' symbols: ORT keeps each alive until then.
   */
  sizeReads: string[];
}

const TYPES: Record<string, DataType> = { float64: DataType.DOUBLE, float32: DataType.FLOAT };

function array(dtype: 'float64' | 'float32', values: number[]): Float64Array | Float32Array {
  return dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
}

interface Built {
  graph: Graph;
  feeds: Record<string, ort.Tensor>;
  wrt: string[];
  outputs: string[];
}

/**
 * The graph of one op case: y = op(inputs), loss = sum_i sum(y_i cos(y_i)), so dLoss/dy varies
 * from element to element without knowing the output shapes in advance.
 */
export function buildForward(c: OpCase, dtype: 'float64' | 'float32', seed: number, withLoss: boolean): Built {
  const rand = rng(seed);
  const graph = new Graph();
  graph.name = c.name;
  const b = new GraphBuilder(graph);
  const feeds: Record<string, ort.Tensor> = {};
  const wrt: string[] = [];
  const inputs = c.inputs.map((spec, i) => {
    if (spec.omitted) return '';
    const name = `in${i}`;
    const kind = spec.kind ?? 'float';
    const count = spec.shape.reduce((p, d) => p * d, 1);
    const [lo, hi] = spec.range ?? (kind === 'float' || kind === 'const-float' ? [-1, 1] : [0, 3]);
    const vals = spec.values ?? Array.from({ length: count }, () => (kind === 'float' || kind === 'const-float' ? lo + (hi - lo) * rand() : Math.floor(lo + (hi - lo) * rand())));
    if (kind === 'const-int') {
      graph.initializers.set(name, makeTensor(name, DataType.INT64, spec.shape, BigInt64Array.from(vals.map(BigInt))));
    } else if (kind === 'const-float') {
      graph.initializers.set(name, makeTensor(name, TYPES[dtype]!, spec.shape, array(dtype, vals)));
    } else if (kind === 'int') {
      graph.inputs.push(valueInfoFromType(name, { dtype: DataType.INT64, shape: spec.dims ?? spec.shape }));
      feeds[name] = new ort.Tensor('int64', BigInt64Array.from(vals.map(BigInt)), spec.shape);
    } else if (kind === 'bool') {
      graph.inputs.push(valueInfoFromType(name, { dtype: DataType.BOOL, shape: spec.dims ?? spec.shape }));
      feeds[name] = new ort.Tensor('bool', Uint8Array.from(vals), spec.shape);
    } else {
      graph.inputs.push(valueInfoFromType(name, { dtype: TYPES[dtype]!, shape: spec.dims ?? spec.shape }));
      feeds[name] = new ort.Tensor(dtype, array(dtype, vals), spec.shape);
      if (!spec.frozen) wrt.push(name);
    }
    return name;
  });
  const count = c.outputCount ?? 1;
  const outs = b.opN(c.op, inputs, count, c.attrs, { domain: c.domain ?? '', outputs: Array.from({ length: count }, (_, i) => `y${i}`) });
  const lossTerms: string[] = [];
  for (const k of c.lossOutputs ?? [0]) {
    if (!withLoss) continue;
    const y = outs[k]!;
    lossTerms.push(b.op('ReduceSum', [b.op('Mul', [y, b.op('Cos', [y])])], { keepdims: 0 }));
  }
  const outputs = withLoss ? ['loss'] : outs.filter((_, k) => (c.lossOutputs ?? [0]).includes(k));
  if (withLoss) {
    const loss = lossTerms.length === 1 ? b.op('Identity', [lossTerms[0]!], undefined, { outputs: ['loss'] }) : b.op('Sum', lossTerms, undefined, { outputs: ['loss'] });
    void loss;
  }
  graph.outputs = outputs.map((o) => valueInfoFromType(o, { dtype: TYPES[dtype]! }));
  return { graph, feeds, wrt, outputs };
}

function modelOf(graph: Graph, c: OpCase): Model {
  const m = new Model(graph);
  m.opsets.set('', c.opset ?? 18);
  if (c.domain) m.opsets.set(c.domain, 1);
  return m;
}

async function session(model: Model): Promise<ort.InferenceSession> {
  const proto = modelToProto(model);
  proto.irVersion = 10n;
  return ort.InferenceSession.create(encodeModel(proto), { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

function toNumbers(t: ort.Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>, Number);
}

export type ShapeInference = (model: Model) => Map<string, ValueType>;

/** Checks one case in one precision and mode; throws when ORT has no kernel for that precision. */
export async function checkCase(c: OpCase, dtype: 'float64' | 'float32', mode: Mode, infer?: ShapeInference, seed = 7): Promise<CheckResult> {
  // 2. loss graph, and a copy with the gradient appended
  const fwd = buildForward(c, dtype, seed, true);
  const fwdSession = await session(modelOf(fwd.graph, c));
  const gradBuilt = buildForward(c, dtype, seed, true);
  const gradModel = modelOf(gradBuilt.graph, c);
  const shapes = mode !== 'declared' && infer ? infer(gradModel) : new Map<string, ValueType>();
  const forwardValues = new Set(gradBuilt.graph.nodes.flatMap((n) => n.outputs));
  const sizesFrom = mode === 'sized' ? gradBuilt.graph.feedInputs().map((v) => v.name) : undefined;
  const res = differentiate(gradBuilt.graph, { loss: 'loss', wrt: gradBuilt.wrt, opset: c.opset ?? 18, shapes, sizesFrom });
  gradBuilt.graph.outputs.push(...gradBuilt.wrt.map((w) => valueInfoFromType(res.gradients.get(w)!, { dtype: TYPES[dtype]! })));
  const gradSession = await session(gradModel);
  const out = await gradSession.run(gradBuilt.feeds);

  // 3. central differences, element by element
  const h = dtype === 'float64' ? 1e-6 : 1e-3;
  const perInput: Record<string, number> = {};
  let worst = 0;
  for (const w of fwd.wrt) {
    const analytic = toNumbers(out[res.gradients.get(w)!]!);
    const base = fwd.feeds[w]!;
    const values = toNumbers(base);
    // Every element of small inputs; a fixed sample of larger ones (keeps the suite fast).
    const picked = sampleIndices(values.length, MAX_PROBES, seed);
    const numeric = new Map<number, number>();
    for (const k of picked) {
      const at = async (delta: number) => {
        const v = values.slice();
        v[k] = v[k]! + delta;
        const feeds = { ...fwd.feeds, [w]: new ort.Tensor(dtype, array(dtype, v), base.dims) };
        return toNumbers((await fwdSession.run(feeds)).loss!)[0]!;
      };
      numeric.set(k, ((await at(h)) - (await at(-h))) / (2 * h));
    }
    if (analytic.length !== values.length) throw new Error(`${c.name}: gradient of ${w} has ${analytic.length} elements, input has ${values.length}`);
    const scale = Math.max(1e-3, ...[...numeric.values()].map(Math.abs));
    const err = Math.max(0, ...[...numeric].map(([k, n]) => Math.abs(n - analytic[k]!))) / scale;
    perInput[w] = err;
    worst = Math.max(worst, err);
  }
  const transposedConstants = gradBuilt.graph.nodes.filter((n) => n.opType === 'Transpose' && gradBuilt.graph.initializers.has(n.inputs[0] ?? '')).map((n) => n.inputs[0]!);
  // A read inference could have answered from the inputs' symbols: the rule bypassed the Emitter's shapeOf.
  const inputSymbols = new Set(gradBuilt.graph.feedInputs().flatMap((v) => (shapes.get(v.name)?.shape ?? []).filter((d) => typeof d === 'string')));
  const answerable = (v: string) => shapes.get(v)?.shape?.every((d) => typeof d === 'number' || inputSymbols.has(d)) ?? false;
  const sizeReads = gradBuilt.graph.nodes.filter((n) => (n.opType === 'Shape' || n.opType === 'Size') && forwardValues.has(n.inputs[0] ?? '') && answerable(n.inputs[0]!)).map((n) => n.inputs[0]!);
  return { dtype, maxRelError: worst, perInput, nodesAdded: res.nodesAdded, transposedConstants, sizeReads };
}

const MAX_PROBES = 12;

function sampleIndices(n: number, max: number, seed: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const r = rng(seed + 99);
  const set = new Set<number>();
  while (set.size < max) set.add(Math.floor(r() * n));
  return [...set].sort((a, b) => a - b);
}

export function isMissingKernel(e: unknown): boolean {
  const m = String((e as Error)?.message ?? e);
  return /Could not find an implementation|NOT_IMPLEMENTED|not implemented/i.test(m);
}

/** float64 when ORT can, else float32. */
export async function checkBestPrecision(c: OpCase, mode: Mode, infer?: ShapeInference): Promise<CheckResult> {
  if (!c.float32) {
    try {
      return await checkCase(c, 'float64', mode, infer);
    } catch (e) {
      if (!isMissingKernel(e)) throw e;
    }
  }
  return checkCase(c, 'float32', mode, infer);
}

export const TOLERANCE = { float64: 1e-6, float32: 1e-2 } as const;
export type { TensorProto };
