/** Reading and writing node attributes (AttributeProto) by name, with ONNX's defaults spelled out at call sites. */
import { AttributeProtoSchema, AttributeType, create, type AttributeProto, type GraphProto, type TensorProto } from '../onnx/proto.ts';
import type { Node } from './graph.ts';

export function getAttr(node: Node, name: string): AttributeProto | undefined {
  return node.attributes.find((a) => a.name === name);
}

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = getAttr(node, name);
  return a ? Number(a.i) : fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? a.f : fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrFloats(node: Node, name: string): number[] | undefined {
  return getAttr(node, name)?.floats;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

export function attrTensor(node: Node, name: string): TensorProto | undefined {
  return getAttr(node, name)?.t;
}

/** A value the builder turns into an attribute; numbers become ints unless the name is a known float attribute. */
export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto | FloatAttr | FloatsAttr;
export type Attrs = Record<string, AttrValue | undefined>;

/** Forces a float attribute where the name alone does not say so. */
export class FloatAttr { constructor(readonly value: number) {} }
export class FloatsAttr { constructor(readonly value: number[]) {} }
export const float = (v: number) => new FloatAttr(v);
export const floats = (v: number[]) => new FloatsAttr(v);

/** Attributes ONNX declares as FLOAT / FLOATS, so `alpha: 1` still becomes a float. */
const FLOAT_NAMES = new Set(['alpha', 'beta', 'epsilon', 'gamma', 'ratio', 'value_float', 'lambd', 'bias', 'seed', 'scale', 'mean', 'high', 'low', 'min', 'max', 'spatial_scale', 'extrapolation_value', 'cubic_coeff_a', 'norm_coefficient', 'decay_factor', 'value_floats', 'scales', 'coefficients']);

function isTensor(v: object): v is TensorProto {
  return (v as { $typeName?: string }).$typeName === 'onnx.TensorProto';
}
function isGraph(v: object): v is GraphProto {
  return (v as { $typeName?: string }).$typeName === 'onnx.GraphProto';
}

export function makeAttr(name: string, value: AttrValue): AttributeProto {
  const enc = (s: string) => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;
  if (value instanceof FloatAttr) return create(AttributeProtoSchema, { name, type: AttributeType.FLOAT, f: value.value });
  if (value instanceof FloatsAttr) return create(AttributeProtoSchema, { name, type: AttributeType.FLOATS, floats: value.value });
  if (typeof value === 'number') {
    if (FLOAT_NAMES.has(name) || !Number.isInteger(value)) return create(AttributeProtoSchema, { name, type: AttributeType.FLOAT, f: value });
    return create(AttributeProtoSchema, { name, type: AttributeType.INT, i: BigInt(value) });
  }
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AttributeType.STRING, s: enc(value) });
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return create(AttributeProtoSchema, { name, type: AttributeType.STRINGS, strings: (value as string[]).map(enc) });
    const nums = value as number[];
    if (FLOAT_NAMES.has(name) || !nums.every(Number.isInteger)) return create(AttributeProtoSchema, { name, type: AttributeType.FLOATS, floats: nums });
    return create(AttributeProtoSchema, { name, type: AttributeType.INTS, ints: nums.map(BigInt) });
  }
  if (isTensor(value)) return create(AttributeProtoSchema, { name, type: AttributeType.TENSOR, t: value });
  if (isGraph(value)) return create(AttributeProtoSchema, { name, type: AttributeType.GRAPH, g: value });
  throw new Error(`cannot make attribute '${name}' from ${String(value)}`);
}

export function makeAttrs(attrs: Attrs = {}): AttributeProto[] {
  const out: AttributeProto[] = [];
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out.push(makeAttr(k, v));
  return out;
}

export function setAttr(node: Node, name: string, value: AttrValue): void {
  node.attributes = [...node.attributes.filter((a) => a.name !== name), makeAttr(name, value)];
}
