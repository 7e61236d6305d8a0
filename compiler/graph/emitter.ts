/**
 * Emitter: writes new nodes into a graph in the form the graph's ai.onnx opset requires
 * (axes and split sizes as an attribute or an input, at the opsets compiler/ops/traits.ts names),
 * with typed constants, and with what is known of each value's type and shape. Gradient rules
 * and the training-graph builder both emit through it, so version differences live here only.
 */
import type { Attrs } from './attributes.ts';
import { GraphBuilder } from './builder.ts';
import type { Graph, Node } from './graph.ts';
import { DataType, dataTypeName } from '../onnx/dtype.ts';
import { makeTensor } from '../onnx/tensor.ts';
import type { TensorProto } from '../onnx/proto.ts';
import { isPlainSymbol, type Dim } from '../shapes/dim.ts';
import { valueTypeFromInfo, type ValueType } from '../shapes/types.ts';
import { UserError } from '../../contract/errors.ts';
import { inferDtypes } from './dtypes.ts';
import { constantNumbers, constantTensor, type ConstantScope } from './constants.ts';
import { operandInputSince } from '../ops/list-operands.ts';

export class Emitter {
  readonly b: GraphBuilder;
  private readonly consts = new Map<string, string>();
  private readonly shapeNodes = new Map<string, string>();
  /** Symbol -> the fed input and axis whose size it is at run time (readSizesFrom). */
  private readonly sizeSources = new Map<string, { value: string; axis: number }>();
  /** The fed inputs sizeSources reads from: their own shapes stay Shape(v). */
  private readonly sizeInputs = new Set<string>();
  private readonly producer = new Map<string, Node>();
  readonly dtypes: Map<string, number>;
  private readonly constants: ConstantScope;

  constructor(
    readonly graph: Graph,
    /** The graph's ai.onnx opset: decides the form of every emitted node. */
    readonly opset: number,
    /** Known static types (from compiler/shapes); may be empty. */
    readonly shapes: Map<string, ValueType> = new Map(),
    prefix = '',
  ) {
    this.b = new GraphBuilder(graph, prefix);
    // Without inference results, what the graph itself declares: initializer dims, input types.
    for (const [name, t] of graph.initializers) if (!shapes.has(name)) shapes.set(name, { dtype: t.dataType, shape: t.dims.map(Number) });
    for (const v of graph.inputs) {
      const t = valueTypeFromInfo(v);
      if (t && !shapes.has(v.name)) shapes.set(v.name, t);
    }
    this.dtypes = inferDtypes(graph, shapes);
    for (const n of graph.nodes) for (const o of n.outputs) if (o) this.producer.set(o, n);
    this.constants = { graph, producer: (v) => this.producer.get(v), rank: (v) => this.shapes.get(v)?.shape?.length };
  }

  // ---- knowledge about values -------------------------------------------------------------

  dtype(v: string): number | undefined {
    return this.dtypes.get(v);
  }

  shape(v: string): Dim[] | undefined {
    return this.shapes.get(v)?.shape;
  }

  rank(v: string): number | undefined {
    return this.shape(v)?.length;
  }

  /** Records that `v` has the type of `like` (a gradient has its forward value's type). */
  sameTypeAs(v: string, like: string): string {
    const t = this.shapes.get(like);
    if (t) this.shapes.set(v, t);
    const d = this.dtypes.get(like);
    if (d) this.dtypes.set(v, d);
    return v;
  }

  setType(v: string, type: ValueType): string {
    this.shapes.set(v, type);
    if (type.dtype) this.dtypes.set(v, type.dtype);
    return v;
  }

  /** A constant's numbers (axes, shapes, starts, exponents), when it is one (graph/constants.ts). */
  constInts(v: string | undefined): number[] | undefined {
    return constantNumbers(this.constants, v);
  }

  /** A constant tensor (initializer or Constant node) behind v, when it is one. */
  constTensor(v: string): TensorProto | undefined {
    return constantTensor(this.constants, v);
  }

  // ---- emission ---------------------------------------------------------------------------

  op(opType: string, inputs: string[], attrs?: Attrs, domain = ''): string {
    return this.b.op(opType, inputs, attrs, { domain });
  }

  opN(opType: string, inputs: string[], count: number, attrs?: Attrs): string[] {
    return this.b.opN(opType, inputs, count, attrs);
  }

  /** A scalar constant of an explicit type. */
  constant(value: number, dtype: number): string {
    const key = `${dtype}:${value}`;
    let name = this.consts.get(key);
    if (name) return name;
    const hint = `c_${dataTypeName(dtype)}_${String(value).replace(/[^0-9a-zA-Z]/g, '_')}`;
    switch (dtype) {
      case DataType.FLOAT: name = this.b.initializer(hint, makeTensor('', dtype, [], Float32Array.of(value))); break;
      case DataType.DOUBLE: name = this.b.initializer(hint, makeTensor('', dtype, [], Float64Array.of(value))); break;
      case DataType.INT64: name = this.b.initializer(hint, makeTensor('', dtype, [], BigInt64Array.of(BigInt(value)))); break;
      case DataType.INT32: name = this.b.initializer(hint, makeTensor('', dtype, [], Int32Array.of(value))); break;
      case DataType.BOOL: name = this.b.initializer(hint, makeTensor('', dtype, [], Uint8Array.of(value ? 1 : 0))); break;
      default: name = this.op('Cast', [this.constant(value, DataType.DOUBLE)], { to: dtype });
    }
    this.dtypes.set(name, dtype);
    this.shapes.set(name, { dtype, shape: [] });
    this.consts.set(key, name);
    return name;
  }

  /** A scalar constant of `like`'s element type (CastLike where that type is not known statically). */
  constLike(value: number, like: string): string {
    const dt = this.dtype(like);
    if (dt) return this.constant(value, dt);
    if (this.opset < 15) throw new Error(`internal error: the element type of '${like}' is unknown and opset ${this.opset} has no CastLike`);
    return this.op('CastLike', [this.constant(value, DataType.DOUBLE), like]);
  }

  /** A 1-D int64 constant. */
  ints(values: readonly number[]): string {
    const key = `ints:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.b.constant(`ints_${values.join('_').replace(/-/g, 'm').slice(0, 40)}`, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
      this.dtypes.set(name, DataType.INT64);
      this.shapes.set(name, { dtype: DataType.INT64, shape: [values.length] });
      this.consts.set(key, name);
    }
    return name;
  }

  int(value: number): string {
    return this.constant(value, DataType.INT64);
  }

  /**
   * From now on, read every symbolic size that one of `inputs` (fed graph inputs) carries as a
   * plain symbol from that input's shape, wherever a value's shape is asked for. The caller
   * vouches that the feeds give each symbol one size (the trainer's batches do: examples are
   * checked and padded per symbol). A backward that asks for a forward value's shape then
   * does not read the value itself: ORT would keep it alive until that Shape node ran, only
   * for its dims (on a 1.1B LLaMA-shaped base, 0.5 GiB of activations at the peak).
   */
  readSizesFrom(inputs: readonly string[]): void {
    for (const v of inputs) {
      (this.shape(v) ?? []).forEach((d, axis) => {
        if (typeof d === 'string' && isPlainSymbol(d) && !this.sizeSources.has(d)) {
          this.sizeSources.set(d, { value: v, axis });
          this.sizeInputs.add(v);
        }
      });
    }
  }

  /** v's shape as a 1-D int64 value, emitted once per value: a constant when static, from the fed inputs' sizes when readSizesFrom covers every symbol, else Shape(v). */
  shapeOf(v: string): string {
    let s = this.shapeNodes.get(v);
    if (!s) {
      s = this.shapeFromSizes(v) ?? this.op('Shape', [v]);
      this.dtypes.set(s, DataType.INT64);
      this.shapeNodes.set(v, s);
    }
    return s;
  }

  /** v's shape built from constants and the fed inputs' sizes, undefined when a dim is neither (or v is such an input). */
  private shapeFromSizes(v: string): string | undefined {
    const dims = this.shape(v);
    if (!dims || this.sizeSources.size === 0 || this.sizeInputs.has(v)) return undefined;
    if (!dims.every((d) => typeof d === 'number' || this.sizeSources.has(d))) return undefined;
    if (dims.every((d) => typeof d === 'number')) return this.ints(dims as number[]);
    const pieces: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === 'number') { run.push(d); continue; }
      if (run.length) pieces.push(this.ints(run));
      run = [];
      const src = this.sizeSources.get(d)!;
      pieces.push(this.dimOf(src.value, src.axis));
    }
    if (run.length) pieces.push(this.ints(run));
    return pieces.length === 1 ? pieces[0]! : this.op('Concat', pieces, { axis: 0 });
  }

  /** A static shape as an int64 constant when fully known, else shapeOf(v). */
  shapeTensor(v: string): string {
    const s = this.shape(v);
    if (s && s.every((d) => typeof d === 'number')) return this.ints(s as number[]);
    return this.shapeOf(v);
  }

  /**
   * v reshaped to the exact shape of `like`. From opset 14 with allowzero, so a zero-size dim
   * in the target is a zero, not "copy the input's dim".
   */
  reshapeLike(v: string, like: string): string {
    return this.sameTypeAs(this.op('Reshape', [v, this.shapeTensor(like)], this.opset >= 14 ? { allowzero: 1 } : undefined), like);
  }

  /** Size of dimension `axis` of v as a 1-element int64 tensor. */
  dimOf(v: string, axis: number): string {
    const s = this.shape(v);
    const r = s?.length;
    const d = s && r !== undefined ? s[axis < 0 ? axis + r : axis] : undefined;
    if (typeof d === 'number') return this.ints([d]);
    const src = typeof d === 'string' ? this.sizeSources.get(d) : undefined;
    if (src && src.value !== v) return this.dimOf(src.value, src.axis);
    return this.op('Gather', [this.shapeOf(v), this.ints([axis])], { axis: 0 });
  }

  /** ReduceSum over `axes` (a constant list or an int64 tensor's name; undefined = all). */
  reduceSum(x: string, axes: readonly number[] | string | undefined, keepdims: boolean): string {
    if (this.takesInput('ReduceSum', 'axes')) {
      const inputs = axes === undefined ? [x] : [x, typeof axes === 'string' ? axes : this.ints(axes)];
      return this.op('ReduceSum', inputs, { keepdims: keepdims ? 1 : 0, ...(typeof axes === 'string' ? { noop_with_empty_axes: 1 } : {}) });
    }
    if (typeof axes === 'string') throw new Error(`internal error: dynamic reduction axes need opset ${operandInputSince('ReduceSum', 'axes')}`);
    return this.op('ReduceSum', [x], { axes: axes as number[] | undefined, keepdims: keepdims ? 1 : 0 });
  }

  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.takesInput('ReduceMean', 'axes')) return this.op('ReduceMean', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.takesInput('Unsqueeze', 'axes')) return this.op('Unsqueeze', [x, this.ints(axes)]);
    return this.op('Unsqueeze', [x], { axes: [...axes] });
  }

  squeeze(x: string, axes: readonly number[]): string {
    if (this.takesInput('Squeeze', 'axes')) return this.op('Squeeze', [x, this.ints(axes)]);
    return this.op('Squeeze', [x], { axes: [...axes] });
  }

  /** Split along `axis` into parts of the given sizes (a constant list, or an int64 tensor from opset 13). */
  split(x: string, sizes: readonly number[] | string, axis: number, count: number): string[] {
    if (this.takesInput('Split', 'split')) return this.opN('Split', [x, typeof sizes === 'string' ? sizes : this.ints(sizes)], count, { axis });
    if (typeof sizes === 'string') throw new Error(`internal error: dynamic split sizes need opset ${operandInputSince('Split', 'split')}`);
    return this.opN('Split', [x], count, { axis, split: [...sizes] });
  }

  /** A tensor of zeros shaped and typed like v. */
  zerosLike(v: string): string {
    const dt = this.dtype(v);
    if (dt === DataType.FLOAT || dt === DataType.DOUBLE) {
      const z = this.op('ConstantOfShape', [this.shapeTensor(v)], { value: makeTensor('value', dt, [1], dt === DataType.FLOAT ? new Float32Array(1) : new Float64Array(1)) });
      return this.sameTypeAs(z, v);
    }
    const z = this.op('ConstantOfShape', [this.shapeTensor(v)]);
    if (dt) return this.sameTypeAs(this.op('Cast', [z], { to: dt }), v);
    return this.op('CastLike', [z, v]);
  }

  /** Whether, at this graph's opset, op takes the list operand `name` as an input (else as an attribute). */
  private takesInput(op: string, name: string): boolean {
    return this.opset >= operandInputSince(op, name)!;
  }

  /** Raised where a rule needs a form that the graph's opset lacks. */
  requireOpset(version: number, what: string): void {
    if (this.opset < version) throw new UserError(`${what} needs ai.onnx opset ${version} or later; the model imports opset ${this.opset}`, 'convert the model to a newer opset (onnx.version_converter) before compiling');
  }
}
