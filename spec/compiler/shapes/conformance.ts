/**
 * Shape inference against onnxruntime over ONNX's backend test corpus (libonnx-testdata).
 * For each model: feed test_data_set_0's inputs to ORT, and compare the dtype and shape of
 * every output ORT produces with what inference says, in two modes:
 *  - concrete: graph inputs typed with the real inputs' dims (ORT's actual shapes must match);
 *  - symbolic: every input dim replaced by its own symbol; the inferred expressions, evaluated
 *    with the real dims, must match too (this checks symbolic propagation, not just numbers).
 * Declared value_info and output types are ignored, so the model's own annotations cannot
 * stand in for inference. Inferred dims that stay symbolic (fresh, data-dependent) count as
 * unknown, never as agreement.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { create, fromBinary, TensorProtoSchema, ValueInfoProtoSchema, type TensorProto } from '../../../compiler/onnx/proto.ts';
import { DataType, dataTypeFromName, dataTypeInfo, dataTypeName } from '../../../compiler/onnx/dtype.ts';
import { tensorArray } from '../../../compiler/onnx/tensor.ts';
import { readModel } from '../../../compiler/onnx/read.ts';
import { encodeModel } from '../../../compiler/onnx/encode.ts';
import { modelFromProto, modelToProto } from '../../../compiler/graph/convert.ts';
import type { Model } from '../../../compiler/graph/graph.ts';
import { evaluateDim, formatShape, inferGraphShapes, valueInfoFromType, type Dim, type Inferred, type ValueType } from '../../../compiler/shapes/index.ts';

export const CORPUS = '/usr/share/libonnx-testdata/data';

/** ORT warns about old opsets and fails loudly on models it cannot load; the report says what matters. */
const QUIET: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };

export type Verdict = 'agree' | 'unknown' | 'disagree';

export interface Comparison {
  model: string;
  value: string;
  mode: 'concrete' | 'symbolic';
  verdict: Verdict;
  inferred: string;
  actual: string;
}

export interface CorpusReport {
  models: number;
  ortFailed: string[];
  counts: Record<'concrete' | 'symbolic', Record<Verdict, number>>;
  disagreements: Comparison[];
  unknowns: Comparison[];
  /** Op types of the nodes whose outputs stayed unknown in concrete mode, with counts. */
  unknownByOp: Map<string, number>;
}

export function corpusModels(folders: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of folders) {
    const dir = join(CORPUS, f);
    if (!existsSync(dir)) continue;
    for (const m of readdirSync(dir).sort()) if (existsSync(join(dir, m, 'model.onnx'))) out.push(join(dir, m));
  }
  return out;
}

function readInputs(dir: string): TensorProto[] {
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(set)) return [];
  return readdirSync(set)
    .filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
    .map((f) => fromBinary(TensorProtoSchema, readFileSync(join(set, f))));
}

function ortTensor(t: TensorProto): ort.Tensor {
  const dims = t.dims.map(Number);
  if (t.dataType === DataType.STRING) return new ort.Tensor('string', t.stringData.map((s) => new TextDecoder().decode(s)), dims);
  const type = dataTypeInfo(t.dataType)?.ort;
  if (!type) throw new Error(`no ORT type for ${dataTypeName(t.dataType)}`);
  const data = tensorArray(t);
  return new ort.Tensor(type as 'float32', (data instanceof Uint8Array || data.byteOffset % 8 ? data.slice() : data) as Float32Array, dims);
}

/** Which graph input each test tensor feeds: by name where it names one, else by position. */
function bindInputs(model: Model, tensors: TensorProto[]): Map<string, TensorProto> {
  const feeds = model.graph.feedInputs().map((v) => v.name);
  const bound = new Map<string, TensorProto>();
  tensors.forEach((t, i) => {
    const name = t.name && feeds.includes(t.name) ? t.name : feeds[i];
    if (name) bound.set(name, t);
  });
  return bound;
}

function classify(inferred: ValueType | undefined, actualType: number, actualDims: readonly number[], bindings: Map<string, number>): Verdict {
  if (!inferred || !inferred.dtype) return 'unknown';
  if (inferred.dtype !== actualType) return 'disagree';
  if (!inferred.shape) return 'unknown';
  if (inferred.shape.length !== actualDims.length) return 'disagree';
  let unknown = false;
  for (let i = 0; i < actualDims.length; i++) {
    const v = evaluateDim(inferred.shape[i]!, bindings);
    if (v === undefined) unknown = true;
    else if (v !== actualDims[i]) return 'disagree';
  }
  return unknown ? 'unknown' : 'agree';
}

/** The model's input types replaced: concrete dims, or one symbol per dim (bound to the real size). */
function typedInputs(model: Model, bound: Map<string, TensorProto>, symbolic: boolean, bindings: Map<string, number>): Model {
  const m = modelFromProto(modelToProto(model));
  m.graph.inputs = m.graph.inputs.map((v, k) => {
    const t = bound.get(v.name);
    if (!t) return v;
    const shape: Dim[] = t.dims.map((d, i) => {
      if (!symbolic) return Number(d);
      const sym = `in${k}_${i}`;
      bindings.set(sym, Number(d));
      return sym;
    });
    return valueInfoFromType(v.name, { dtype: t.dataType, shape });
  });
  return m;
}

/**
 * Concrete mode also knows the contents of small numeric inputs (node tests feed Reshape's
 * shape, Slice's starts, Pad's pads as inputs), so the value-propagating rules get exercised.
 */
function inputValues(bound: Map<string, TensorProto>): Map<string, Inferred> {
  const known = new Map<string, Inferred>();
  for (const [name, t] of bound) {
    const type = { dtype: t.dataType, shape: t.dims.map(Number) };
    const small = type.shape.reduce((a, b) => a * b, 1) <= 64;
    const numeric = [DataType.INT64, DataType.INT32, DataType.FLOAT, DataType.DOUBLE, DataType.BOOL].includes(t.dataType);
    known.set(name, small && numeric ? { ...type, value: Array.from(tensorArray(t) as ArrayLike<number | bigint>, Number) } : type);
  }
  return known;
}

/** ORT session over the model, with every node output fetched when `intermediates` (falls back to declared outputs). */
async function session(model: Model, path: string, intermediates: boolean): Promise<{ s: ort.InferenceSession; extra: boolean }> {
  if (intermediates) {
    try {
      const m = modelFromProto(modelToProto(model));
      const declared = new Set(m.graph.outputNames());
      for (const n of m.graph.nodes) {
        for (const o of n.outputs) {
          if (o && !declared.has(o) && !m.graph.initializers.has(o)) {
            m.graph.outputs.push(create(ValueInfoProtoSchema, { name: o }));
            declared.add(o);
          }
        }
      }
      return { s: await ort.InferenceSession.create(encodeModel(modelToProto(m)), QUIET), extra: true };
    } catch (e) {
      if (process.env.DEBUG_SHAPES) console.log('intermediates:', (e as Error).message);
      // Some intermediate (a sequence, an optional) cannot be a graph output: compare declared outputs only.
    }
  }
  return { s: await ort.InferenceSession.create(readFileSync(path), QUIET), extra: false };
}

async function runOrt(model: Model, path: string, bound: Map<string, TensorProto>, intermediates: boolean): Promise<Record<string, ort.Tensor>> {
  const { s } = await session(model, path, intermediates);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of s.inputNames) {
      const t = bound.get(name);
      if (!t) throw new Error(`no test data for input ${name}`);
      feeds[name] = ortTensor(t);
    }
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export async function runCorpus(dirs: readonly string[], options: { intermediates?: (dir: string) => boolean } = {}): Promise<CorpusReport> {
  const report: CorpusReport = {
    models: 0,
    ortFailed: [],
    counts: { concrete: { agree: 0, unknown: 0, disagree: 0 }, symbolic: { agree: 0, unknown: 0, disagree: 0 } },
    disagreements: [],
    unknowns: [],
    unknownByOp: new Map(),
  };
  for (const dir of dirs) {
    const label = dir.slice(CORPUS.length + 1);
    const path = join(dir, 'model.onnx');
    let model: Model;
    let results: Record<string, ort.Tensor>;
    try {
      model = modelFromProto(readModel(path));
      const bound = bindInputs(model, readInputs(dir));
      const wantIntermediates = options.intermediates?.(dir) ?? false;
      try {
        results = await runOrt(model, path, bound, wantIntermediates);
      } catch (e) {
        if (!wantIntermediates) throw e;
        results = await runOrt(model, path, bound, false);
      }
    } catch (e) {
      report.ortFailed.push(`${label}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    report.models++;
    const bound = bindInputs(model, readInputs(dir));
    const producers = model.graph.producers();
    for (const mode of ['concrete', 'symbolic'] as const) {
      const bindings = new Map<string, number>();
      const typed = typedInputs(model, bound, mode === 'symbolic', bindings);
      const types = inferGraphShapes(typed.graph, typed.opsets, mode === 'concrete' ? inputValues(bound) : undefined, { useDeclared: false });
      for (const [name, t] of Object.entries(results)) {
        const actualType = dataTypeFromName(t.type) ?? -1;
        const inferred = types.get(name);
        const verdict = classify(inferred, actualType, t.dims as number[], bindings);
        report.counts[mode][verdict]++;
        const c: Comparison = {
          model: label, value: name, mode, verdict,
          inferred: inferred ? `${dataTypeName(inferred.dtype)}${formatShape(inferred.shape)}` : 'none',
          actual: `${t.type}${formatShape(t.dims as number[])}`,
        };
        if (verdict === 'disagree') report.disagreements.push(c);
        else if (verdict === 'unknown') report.unknowns.push(c);
        if (verdict === 'unknown' && mode === 'concrete') {
          const op = producers.get(name);
          const key = op ? `${op.domain ? `${op.domain}:` : ''}${op.opType}` : '(input)';
          report.unknownByOp.set(key, (report.unknownByOp.get(key) ?? 0) + 1);
        }
      }
    }
  }
  return report;
}

export function formatReport(r: CorpusReport): string {
  const line = (m: 'concrete' | 'symbolic') => `${m}: agree ${r.counts[m].agree}, unknown ${r.counts[m].unknown}, disagree ${r.counts[m].disagree}`;
  const unknownOps = [...r.unknownByOp].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `models run by ORT: ${r.models}; ORT failed: ${r.ortFailed.length}`,
    line('concrete'),
    line('symbolic'),
    `unknown (concrete) by producing op: ${unknownOps || 'none'}`,
  ].join('\n');
}
