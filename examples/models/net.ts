/**
 * Net: a GraphBuilder that names things the way torch.onnx does. Code runs inside module
 * scopes (`net.within('encoder', () => net.within('layer.3', ...))`); nodes are named
 * `/encoder/layer.3/attention/self/query/MatMul` (then `MatMul_1`, ... within one scope),
 * their outputs `<node name>_output_0`, and parameters `encoder.layer.3.attention.self.query.weight`.
 * Small constants (shapes, axes, scalars) are Constant nodes, as torch emits them, so the
 * initializers are exactly the model's parameters.
 */
import { Graph, GraphBuilder, Model, modelToProto, type Attrs } from '../../compiler/graph/index.ts';
import {
  DataType, copyMessage, create, makeTensor,
  TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema,
  type ModelProto, type NumericArray, type TensorProto, type ValueInfoProto,
} from '../../compiler/onnx/index.ts';
import { normalValues } from './prng.ts';
import { anonymizeGraph } from './anonymize.ts';
import { irVersionFor, type InitMode } from './config.ts';

/** How a parameter starts: HF-style kinds, which init mode 'random' turns all random. */
export type ParamInit = 'normal' | 'zeros' | 'ones';

export interface NetOptions {
  opset: number;
  seed: number;
  init: InitMode;
  initStd: number;
  /**
   * Makes each parameter's tensor instead of the seeded float32 values in memory: a writer
   * that streams a model too large for memory to its data file gives its own (external
   * TensorProtos); `init` is the parameter's kind.
   */
  parameter?: (name: string, dims: number[], init: ParamInit) => TensorProto;
}

/** Largest float32, negated: the additive mask value Hugging Face uses (torch.finfo.min). */
export const FLOAT32_MIN = -3.4028234663852886e38;

export class Net {
  readonly graph = new Graph();
  readonly b: GraphBuilder;
  private readonly path: string[] = [];

  constructor(readonly options: NetOptions) {
    this.b = new GraphBuilder(this.graph);
  }

  get opset(): number {
    return this.options.opset;
  }

  /** Runs `fn` inside a module scope; `name` may hold dots ('layer.3'), as torch module paths do. */
  within<T>(name: string, fn: () => T): T {
    this.path.push(name);
    try {
      return fn();
    } finally {
      this.path.pop();
    }
  }

  /** '/encoder/layer.3/attention/self' (or '' at the root). */
  private scopePath(): string {
    return this.path.map((p) => `/${p}`).join('');
  }

  /** Appends a node; returns its single output. `output` names it (a graph output). */
  op(opType: string, inputs: string[], attrs?: Attrs, output?: string): string {
    return this.opN(opType, inputs, 1, attrs, output === undefined ? undefined : [output])[0]!;
  }

  opN(opType: string, inputs: string[], count: number, attrs?: Attrs, outputs?: string[]): string[] {
    const name = this.b.fresh(`${this.scopePath()}/${opType}`);
    const outs = outputs?.map((o) => this.b.claim(o)) ?? Array.from({ length: count }, (_, i) => this.b.claim(`${name}_output_${i}`));
    return this.b.opN(opType, inputs, count, attrs, { name, outputs: outs });
  }

  /** A parameter of the current module: `<module path>.<local>` as an initializer. */
  param(local: string, dims: number[], init: ParamInit): string {
    const name = this.b.claim([...this.path, local].join('.'));
    if (this.options.parameter) {
      this.graph.initializers.set(name, this.options.parameter(name, dims, init));
      return name;
    }
    const count = dims.reduce((a, d) => a * d, 1);
    const { seed, initStd } = this.options;
    const random = this.options.init === 'random';
    let values: Float32Array;
    if (init === 'normal' || random) values = normalValues(seed, name, count, initStd, init === 'ones' ? 1 : 0);
    else values = new Float32Array(count).fill(init === 'ones' ? 1 : 0);
    this.graph.initializers.set(name, makeTensor(name, DataType.FLOAT, dims, values));
    return name;
  }

  /** A Constant node holding a tensor. */
  constant(dtype: DataType, dims: number[], data: NumericArray): string {
    return this.op('Constant', [], { value: makeTensor('', dtype, dims, data) });
  }

  /** A 1-D int64 Constant (shapes, axes, starts, ends). */
  ints(values: number[]): string {
    return this.constant(DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /** A 0-D int64 Constant. */
  int(value: number): string {
    return this.constant(DataType.INT64, [], BigInt64Array.of(BigInt(value)));
  }

  /** A 0-D float32 Constant. */
  float(value: number): string {
    return this.constant(DataType.FLOAT, [], Float32Array.of(value));
  }

  /** ReduceMean over the last axis, keepdims; axes moved from attribute to input in opset 18. */
  reduceMeanLast(x: string): string {
    return this.opset >= 18 ? this.op('ReduceMean', [x, this.ints([-1])], { keepdims: 1 }) : this.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  }

  input(name: string, dtype: DataType, dims: (number | string)[]): string {
    this.graph.inputs.push(valueInfo(this.b.claim(name), dtype, dims));
    return name;
  }

  /** Makes `value` (a node output nobody reads yet) a graph output called `name`. */
  output(value: string, name: string, dtype: DataType, dims: (number | string)[]): void {
    const producer = this.graph.nodes.find((n) => n.outputs.includes(value));
    if (!producer) throw new Error(`no node produces '${value}'`);
    producer.outputs = producer.outputs.map((o) => (o === value ? this.b.claim(name) : o));
    this.graph.outputs.push(valueInfo(name, dtype, dims));
  }

  /** The finished model: ai.onnx at the chosen opset, IR version to match. */
  toModelProto(graphName: string, anonymous = false): ModelProto {
    this.graph.name = graphName;
    if (anonymous) anonymizeGraph(this.graph);
    const model = new Model(this.graph);
    model.opsets.set('', this.opset);
    const proto = modelToProto(model);
    return copyMessage(proto, { irVersion: BigInt(irVersionFor(this.opset)), producerName: 'lor2c examples/models', producerVersion: '1' });
  }
}

/** A tensor ValueInfoProto; string dims are symbolic ('batch', 'seq'). */
export function valueInfo(name: string, dtype: DataType, dims: (number | string)[]): ValueInfoProto {
  const dim = dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) } }));
  const tensorType = create(TypeProto_TensorSchema, { elemType: dtype, shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}
