/**
 * Which float tensors of a model are its parameters: the count `lor2c inspect` reports, meant
 * to equal `sum(p.numel() for p in module.parameters())` of the torch module that was exported.
 *
 * An ONNX file does not say which tensors were learned. torch.onnx.export (export_params=True)
 * stores parameters AND buffers as initializers under their module paths, and constant folding
 * stores what it computed from them as new initializers named `onnx::<Op>_<n>`; so names cannot
 * tell a parameter from a float buffer, and a folded tensor may be a copy of a parameter that is
 * also kept. The rules, each one a property of the values, not of names:
 *
 *  1. Float tensors are candidates: every float initializer; Constant-node tensors of more than
 *     one element too (some exporters keep weights there, PaddleOCR), except in a model torch
 *     produced, which stores every parameter and buffer as an initializer, so its Constant nodes
 *     are tensors the forward code made (masks, literals), never parameters.
 *  2. A candidate whose elements are exactly those of another candidate, in the same order or
 *     as its 2-D transpose, is a copy (constant folding of Transpose(weight) for a tied LM head
 *     beside the embedding that is also used as is) and counts once. Tensors whose elements are
 *     all equal are never taken for copies: untrained norm scales are equal by construction.
 *  3. Float buffers are recognised by contents no learned weight has:
 *     - additive masks and masked-fill values: every element 0 or <= -5e3 (-1e4, -inf, finfo.min,
 *       HF's `masked_bias`), at least one of them negative;
 *     - sinusoid tables of the position (rotary cos/sin caches, fixed sinusoidal position
 *       embeddings): a [positions, n] table (unit dims aside) whose every column starts at 1
 *       (cosine) or 0 (sine) and follows x[p+1] + x[p-1] = 2 cos(t) x[p], not all constant;
 *     - rotary frequencies (`inv_freq`): a vector starting at 1 that falls geometrically, and
       the angle table p * inv_freq a fixed-shape export folds before Cos / Sin;
 *     and by use: running statistics, the tensors used only as BatchNormalization's mean and
 *     variance (inputs 3 and 4), which training estimates, not learns.
 *     And by use: tensors that only reach comparisons (a float 0/1 causal mask compared with 0),
     and an all-zero [1, n] tensor added to a graph output (a logits-bias buffer of zeros).
  What the rules miss: a float buffer of other contents (counted as a parameter), and a
 *  parameter whose values happen to match a rule (a frozen, never-trained sinusoid table
 *  declared as nn.Parameter is excluded). Two things torch's exporter does cannot be undone by
 *  any reader of the file: it stores parameters with equal values once (an untrained model
 *  whose norm scales are all ones counts low), and in eval mode it fuses a BatchNorm that
 *  follows a Conv into the conv (BatchNorm's 2C parameters become the conv's C-element bias).
 */
import { DataType, isFloatType } from './onnx/dtype.ts';
import { elementCount, tensorArray, tensorByteLength, tensorElements } from './onnx/tensor.ts';
import type { TensorProto } from './onnx/proto.ts';
import { isDefaultDomain, type Graph } from './graph/index.ts';

export interface ExcludedTensor {
  name: string;
  elements: number;
  /** 'copy' of another tensor (not counted at all), or a float buffer kind (counted as buffer). */
  kind: 'copy' | 'mask' | 'sinusoids' | 'frequencies' | 'statistics' | 'compared' | 'zeros';
  /** For copies: the tensor it copies, and whether transposed. */
  of?: string;
  transposed?: boolean;
}

export interface ParameterCount {
  parameters: number;
  parameterTensors: number;
  parameterBytes: number;
  /** Of `parameters`, how many are held in Constant nodes rather than initializers. */
  parametersInConstantNodes: number;
  /** Every element of the candidate float tensors, before rules 2 and 3: the plain count. */
  floatElements: number;
  /** Elements of non-float initializers plus the float buffers of rule 3. */
  buffers: number;
  excluded: ExcludedTensor[];
}

interface Candidate {
  name: string;
  tensor: TensorProto;
  inConstantNode: boolean;
}

export function countParameters(graph: Graph, producerName: string): ParameterCount {
  const fromTorch = producerName === 'pytorch';
  const candidates: Candidate[] = [];
  let buffers = 0;
  for (const [name, t] of graph.initializers) {
    if (isFloatType(t.dataType)) candidates.push({ name, tensor: t, inConstantNode: false });
    else buffers += elementCount(t.dims);
  }
  if (!fromTorch) {
    for (const n of graph.nodes) {
      const t = n.opType === 'Constant' ? n.attributes.find((a) => a.name === 'value')?.t : undefined;
      if (t && isFloatType(t.dataType) && elementCount(t.dims) > 1) candidates.push({ name: n.outputs[0] ?? n.name, tensor: t, inConstantNode: true });
    }
  }

  const statistics = runningStatistics(graph);
  const compared = comparedOnly(graph);
  const outputBiases = zeroOutputBiases(graph);
  const excluded = new Map<string, ExcludedTensor>();
  for (const c of candidates) {
    const kind = statistics.has(c.name) ? 'statistics' : compared.has(c.name) ? 'compared' : outputBiases.has(c.name) && allZero(c.tensor) ? 'zeros' : bufferKind(c.tensor);
    if (kind) excluded.set(c.name, { name: c.name, elements: elementCount(c.tensor.dims), kind });
  }
  for (const copy of findCopies(candidates.filter((c) => !excluded.has(c.name)))) excluded.set(copy.name, copy);

  const result: ParameterCount = { parameters: 0, parameterTensors: 0, parameterBytes: 0, parametersInConstantNodes: 0, floatElements: 0, buffers, excluded: [...excluded.values()] };
  for (const c of candidates) {
    const n = elementCount(c.tensor.dims);
    result.floatElements += n;
    const why = excluded.get(c.name);
    if (why) {
      if (why.kind !== 'copy') result.buffers += n;
      continue;
    }
    result.parameters += n;
    result.parameterTensors++;
    result.parameterBytes += tensorByteLength(c.tensor);
    if (c.inConstantNode) result.parametersInConstantNodes += n;
  }
  return result;
}

/** Ops that move or select elements without computing with them. */
const MOVES = new Set(['Slice', 'Gather', 'Reshape', 'Unsqueeze', 'Squeeze', 'Expand', 'Transpose', 'Identity', 'Flatten', 'Tile']);
const COMPARISONS = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']);

/**
 * Float tensors whose every use reaches only comparisons or a Cast to bool, through ops that
 * move elements (GPT-style code's `mask[:, :, :s, :s] == 0` on a float `tril` buffer): no
 * gradient reaches them, so they are buffers, not parameters.
 */
function comparedOnly(graph: Graph): Set<string> {
  const readers = new Map<string, { op: string; domain: string; to?: number; outputs: string[]; first: boolean }[]>();
  for (const n of graph.nodes) {
    n.inputs.forEach((i, k) => {
      if (!i) return;
      const to = n.opType === 'Cast' ? Number(n.attributes.find((a) => a.name === 'to')?.i ?? -1) : undefined;
      const list = readers.get(i) ?? [];
      list.push({ op: n.opType, domain: n.domain, ...(to !== undefined ? { to } : {}), outputs: n.outputs, first: k === 0 });
      readers.set(i, list);
    });
  }
  const outputs = new Set(graph.outputNames());
  const memo = new Map<string, boolean>();
  const onlyCompared = (v: string, depth: number): boolean => {
    const known = memo.get(v);
    if (known !== undefined) return known;
    memo.set(v, false);
    const uses = readers.get(v) ?? [];
    const ok = depth < 16 && !outputs.has(v) && uses.length > 0 && uses.every((u) =>
      isDefaultDomain(u) &&
      (COMPARISONS.has(u.op) || (u.op === 'Cast' && u.to === DataType.BOOL) || (MOVES.has(u.op) && u.first && u.outputs.every((o) => !o || onlyCompared(o, depth + 1)))));
    memo.set(v, ok);
    return ok;
  };
  return new Set([...graph.initializers.keys()].filter((name) => onlyCompared(name, 0)));
}

/**
 * Constants of shape [1, n] added to a graph output right before it leaves (HF's
 * `final_logits_bias`, a registered buffer of zeros): with every element 0 they are buffers.
 * A Linear's bias is 1-D, and an untrained one may well be all zeros: it stays a parameter.
 */
function zeroOutputBiases(graph: Graph): Set<string> {
  const outputs = new Set(graph.outputNames());
  const found = new Set<string>();
  for (const n of graph.nodes) {
    if (n.opType !== 'Add' || !outputs.has(n.outputs[0] ?? '')) continue;
    for (const i of n.inputs) {
      const dims = graph.initializers.get(i)?.dims.map(Number);
      if (dims && dims.length >= 2 && dims.slice(0, -1).every((d) => d === 1)) found.add(i);
    }
  }
  return found;
}

function allZero(t: TensorProto): boolean {
  const v = floatValues(t);
  if (!v || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** Values used only as BatchNormalization's running mean or variance (inputs 3 and 4). */
function runningStatistics(graph: Graph): Set<string> {
  const asStatistic = new Set<string>();
  const otherwise = new Set<string>();
  for (const n of graph.nodes) {
    n.inputs.forEach((name, i) => {
      if (!name) return;
      if (n.opType === 'BatchNormalization' && isDefaultDomain(n) && (i === 3 || i === 4)) asStatistic.add(name);
      else otherwise.add(name);
    });
  }
  for (const v of graph.outputs) otherwise.add(v.name);
  for (const name of otherwise) asStatistic.delete(name);
  return asStatistic;
}

/** The float-buffer kind a tensor's contents show (rule 3), or undefined for a parameter. */
function bufferKind(t: TensorProto): ExcludedTensor['kind'] | undefined {
  const count = elementCount(t.dims);
  if (count === 0) return undefined;
  const values = floatValues(t);
  if (!values) return undefined;
  if (isAdditiveMask(values)) return 'mask';
  const dims = t.dims.map(Number).filter((d) => d !== 1);
  if (dims.length === 2 && isSinusoidTable(values, dims[0]!, dims[1]!, t.dataType)) return 'sinusoids';
  if (dims.length === 1 && isGeometricFromOne(values, t.dataType)) return 'frequencies';
  if (dims.length === 2 && isAngleTable(values, dims[0]!, dims[1]!)) return 'frequencies';
  return undefined;
}

// HF's -1e4 stored in bfloat16 is -9984: the limit sits below any learned weight, above that.
const MASK_LIMIT = -5e3;

function isAdditiveMask(v: ArrayLike<number>): boolean {
  let masked = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x <= MASK_LIMIT) masked = true;
    else if (x !== 0) return false;
  }
  return masked;
}

/** A [positions, n] table whose columns are cos(p t_j) or sin(p t_j) (Chebyshev recurrence). */
function isSinusoidTable(v: ArrayLike<number>, positions: number, n: number, dtype: number): boolean {
  if (positions < 3) return false;
  // float32 tables are computed as cos(fl(p * t)): the argument's rounding grows with p.
  const base = dtype === DataType.BFLOAT16 ? 3e-2 : dtype === DataType.FLOAT16 ? 5e-3 : 2e-3;
  const tol = base + positions * 3e-7;
  let varies = false;
  for (let j = 0; j < n; j++) {
    const x0 = v[j]!;
    const x1 = v[n + j]!;
    let c: number;
    if (Math.abs(x0 - 1) <= tol) c = x1;
    else if (Math.abs(x0) <= tol) c = Math.sqrt(Math.max(0, 1 - x1 * x1));
    else return false;
    if (Math.abs(x1 - x0) > tol) varies = true;
    for (let p = 1; p + 1 < positions; p++) {
      const prev = v[(p - 1) * n + j]!;
      const cur = v[p * n + j]!;
      const next = v[(p + 1) * n + j]!;
      if (Math.abs(cur) > 1 + tol || Math.abs(next + prev - 2 * c * cur) > tol) return false;
    }
  }
  return varies;
}

/**
 * Rotary angles folded for a fixed length: a [positions, n] table x[p][j] = p * f_j (the outer
 * product of the positions with the inverse frequencies, before Cos / Sin), first row all 0.
 */
function isAngleTable(v: ArrayLike<number>, positions: number, n: number): boolean {
  if (positions < 3) return false;
  let varies = false;
  for (let j = 0; j < n; j++) {
    if (v[j] !== 0) return false;
    const f = v[n + j]!;
    if (!(f > 0)) return false;
    if (f !== 0) varies = true;
    for (let p = 2; p < positions; p++) if (Math.abs(v[p * n + j]! - p * f) > 1e-6 * p * f) return false;
  }
  return varies;
}

/** 1, r, r^2, ... with 0 < r < 1: rotary inverse frequencies base^(-2i/d). */
function isGeometricFromOne(v: ArrayLike<number>, dtype: number): boolean {
  // Relative precision of the stored ratios: 8 bits of mantissa in bfloat16, 11 in float16.
  const tol = dtype === DataType.BFLOAT16 ? 2e-2 : dtype === DataType.FLOAT16 ? 4e-3 : 1e-3;
  if (v.length < 2 || v[0] !== 1) return false;
  const r = v[1]! / v[0]!;
  if (!(r > 0 && r < 1)) return false;
  for (let i = 1; i + 1 < v.length; i++) {
    if (!(v[i]! > 0) || Math.abs(v[i + 1]! / v[i]! - r) > tol * r) return false;
  }
  return true;
}

/**
 * Rule 2: candidates equal to another, element for element or transposed. Compares element
 * bits, so only tensors of one dtype match; all-equal tensors are never copies. A few sampled
 * elements rule out nearly every pair before any tensor is read whole, so a model whose weights
 * stay on disk (deferred) is not loaded to be counted.
 */
function findCopies(candidates: Candidate[]): ExcludedTensor[] {
  const copies: ExcludedTensor[] = [];
  const isCopy = new Set<string>();
  const views = new Map<string, ArrayLike<number | bigint>>();
  const viewOf = (c: Candidate) => {
    let v = views.get(c.name);
    if (!v) views.set(c.name, (v = tensorElements(c.tensor)));
    return v;
  };
  // Group by dtype and element count, the only tensors that can be copies of each other.
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const n = elementCount(c.tensor.dims);
    if (n < 2) continue;
    const key = `${c.tensor.dataType}:${n}`;
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    // Exporter-made names (`onnx::MatMul_12`) first, so the copy reported is the folded one.
    group.sort((a, b) => Number(b.name.startsWith('onnx::')) - Number(a.name.startsWith('onnx::')));
    for (let i = 0; i < group.length; i++) {
      const a = group[i]!;
      if (isCopy.has(a.name) || allEqual(viewOf(a))) continue;
      for (let k = 0; k < group.length; k++) {
        const b = group[k]!;
        if (k === i || isCopy.has(b.name)) continue;
        const transposed = sameElements(a, b, viewOf(a), viewOf(b)) ? false : isTransposeOf(a, b, viewOf(a), viewOf(b)) ? true : undefined;
        if (transposed === undefined) continue;
        isCopy.add(a.name);
        copies.push({ name: a.name, elements: elementCount(a.tensor.dims), kind: 'copy', of: b.name, transposed });
        break;
      }
    }
  }
  return copies;
}

/** Elements sampled before a full comparison. */
const SAMPLES = 16;
const samplePositions = (n: number) => Array.from({ length: Math.min(SAMPLES, n) }, (_, k) => Math.floor((k * (n - 1)) / Math.max(1, SAMPLES - 1)));

function allEqual(v: ArrayLike<number | bigint>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function sameElements(a: Candidate, b: Candidate, av: ArrayLike<number | bigint>, bv: ArrayLike<number | bigint>): boolean {
  if (av.length !== bv.length) return false;
  if (samplePositions(av.length).some((i) => !Object.is(av[i], bv[i]))) return false;
  const [x, y] = [tensorArray(a.tensor), tensorArray(b.tensor)];
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

/** Whether a, as a matrix (unit dims aside), is the transpose of b. */
function isTransposeOf(a: Candidate, b: Candidate, av: ArrayLike<number | bigint>, bv: ArrayLike<number | bigint>): boolean {
  const ad = a.tensor.dims.map(Number).filter((d) => d !== 1);
  const bd = b.tensor.dims.map(Number).filter((d) => d !== 1);
  if (ad.length !== 2 || bd.length !== 2 || ad[0] !== bd[1] || ad[1] !== bd[0]) return false;
  const [rows, cols] = ad as [number, number];
  const transposedAt = (i: number) => (i % cols) * rows + Math.floor(i / cols);
  if (samplePositions(rows * cols).some((i) => !Object.is(av[i], bv[transposedAt(i)]))) return false;
  const [x, y] = [tensorArray(a.tensor), tensorArray(b.tensor)];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (!Object.is(x[r * cols + c], y[c * rows + r])) return false;
  }
  return true;
}

/**
 * The elements as numbers, half types decoded lazily: the rules mostly stop at the first few
 * elements, and converting a multi-GB fp16 model up front would cost more than the rules.
 */
function floatValues(t: TensorProto): ArrayLike<number> | undefined {
  const a = tensorElements(t);
  switch (t.dataType) {
    case DataType.FLOAT: case DataType.DOUBLE: return a as ArrayLike<number>;
    case DataType.FLOAT16: return decoded(a as ArrayLike<number>, halfToNumber);
    case DataType.BFLOAT16: return decoded(a as ArrayLike<number>, bfloatToNumber);
    default: return undefined;
  }
}

function decoded(bits: ArrayLike<number>, decode: (b: number) => number): ArrayLike<number> {
  return new Proxy({ length: bits.length } as ArrayLike<number>, {
    get: (target, key) => (typeof key === 'string' && key !== 'length' ? decode(bits[Number(key)]!) : Reflect.get(target, key)),
  });
}

const bfloatScratch = new DataView(new ArrayBuffer(4));

function bfloatToNumber(b: number): number {
  bfloatScratch.setUint32(0, b << 16);
  return bfloatScratch.getFloat32(0);
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
