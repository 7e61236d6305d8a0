/**
 * Op cases for shape inference, as data: input types (and, where a rule reads them, input
 * contents), attributes, opset -> expected output types. Types are written 'float32[batch, seq, 768]';
 * '?' alone is an unknown rank, 'unk' inside a shape matches any generated (fresh) symbol.
 * A value is written after '=': 'int64[3]=[0, batch, -1]'; in an expected output it is checked,
 * and '=?' says inference must not claim one.
 */
import type { AttrValue } from '../../../compiler/graph/attributes.ts';
import { DataType } from '../../../compiler/onnx/dtype.ts';
import { scalarTensor } from '../../../compiler/onnx/tensor.ts';

export interface OpCase {
  name: string;
  op: string;
  domain?: string;
  opset?: number;
  inputs: (string | null)[];
  attrs?: Record<string, AttrValue>;
  outputs: (string | null)[];
}

export const OP_CASES: OpCase[] = [
  // Matrix products
  { name: 'MatMul batched', op: 'MatMul', inputs: ['float32[batch, seq, 768]', 'float32[768, 3072]'], outputs: ['float32[batch, seq, 3072]'] },
  { name: 'MatMul broadcast batch', op: 'MatMul', inputs: ['float32[batch, 12, seq, 64]', 'float32[batch, 12, 64, seq]'], outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'MatMul 1-D x 2-D', op: 'MatMul', inputs: ['float32[4]', 'float32[4, 5]'], outputs: ['float32[5]'] },
  { name: 'MatMul 2-D x 1-D', op: 'MatMul', inputs: ['float32[3, 4]', 'float32[4]'], outputs: ['float32[3]'] },
  { name: 'MatMul 1-D x 1-D', op: 'MatMul', inputs: ['float32[4]', 'float32[4]'], outputs: ['float32[]'] },
  { name: 'MatMul 3-D x 1-D', op: 'MatMul', inputs: ['float32[2, 3, 4]', 'float32[4]'], outputs: ['float32[2, 3]'] },
  { name: 'MatMul mismatched k is unknown', op: 'MatMul', inputs: ['float32[3, 4]', 'float32[5, 6]'], outputs: [null] },
  { name: 'Gemm transB', op: 'Gemm', inputs: ['float32[batch, 768]', 'float32[2, 768]', 'float32[2]'], attrs: { transB: 1 }, outputs: ['float32[batch, 2]'] },
  { name: 'Gemm transA', op: 'Gemm', inputs: ['float32[7, 3]', 'float32[7, 5]'], attrs: { transA: 1 }, outputs: ['float32[3, 5]'] },
  { name: 'FusedMatMul transB', op: 'FusedMatMul', domain: 'com.microsoft', opset: 1, inputs: ['float32[batch, 12, seq, 64]', 'float32[batch, 12, seq, 64]'], attrs: { transB: 1, alpha: 0.125 }, outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'Einsum explicit', op: 'Einsum', inputs: ['float32[batch, seq, 12, 64]', 'float32[batch, seq, 12, 64]'], attrs: { equation: 'bqhd,bkhd->bhqk' }, outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'Einsum implicit', op: 'Einsum', inputs: ['float32[3, 4]', 'float32[4, 5]'], attrs: { equation: 'ij,jk' }, outputs: ['float32[3, 5]'] },
  { name: 'Einsum ellipsis', op: 'Einsum', inputs: ['float32[batch, seq, 8]', 'float32[8, 16]'], attrs: { equation: '...i,ij->...j' }, outputs: ['float32[batch, seq, 16]'] },
  { name: 'Einsum trace', op: 'Einsum', inputs: ['float32[5, 5]'], attrs: { equation: 'ii->' }, outputs: ['float32[]'] },

  // Broadcasting arithmetic and unary maps
  { name: 'Add broadcast', op: 'Add', inputs: ['float32[batch, seq, 768]', 'float32[768]'], outputs: ['float32[batch, seq, 768]'] },
  { name: 'Add mask broadcast', op: 'Add', inputs: ['float32[batch, 12, seq, seq]', 'float32[batch, 1, 1, seq]'], outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'Sub scalar', op: 'Sub', inputs: ['float32[]', 'float32[2, 3]'], outputs: ['float32[2, 3]'] },
  { name: 'Mul symbol with number', op: 'Mul', inputs: ['float32[n, 1]', 'float32[1, 4]'], outputs: ['float32[n, 4]'] },
  { name: 'Div', op: 'Div', inputs: ['float16[2, 1, 5]', 'float16[3, 1]'], outputs: ['float16[2, 3, 5]'] },
  { name: 'Pow keeps the base type', op: 'Pow', inputs: ['float32[batch, seq, 768]', 'int64[]'], outputs: ['float32[batch, seq, 768]'] },
  { name: 'Add of incompatible dims is unknown', op: 'Add', inputs: ['float32[3]', 'float32[4]'], outputs: [null] },
  { name: 'Relu', op: 'Relu', inputs: ['float32[batch, seq]'], outputs: ['float32[batch, seq]'] },
  ...['Erf', 'Tanh', 'Sigmoid', 'Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Reciprocal'].map((op) => ({ name: op, op, inputs: ['float32[batch, 4]'], outputs: ['float32[batch, 4]'] })),
  { name: 'Gelu opset 20', op: 'Gelu', opset: 20, inputs: ['float32[batch, seq, 3072]'], attrs: { approximate: 'tanh' }, outputs: ['float32[batch, seq, 3072]'] },
  { name: 'Gelu com.microsoft', op: 'Gelu', domain: 'com.microsoft', opset: 1, inputs: ['float16[batch, seq, 3072]'], outputs: ['float16[batch, seq, 3072]'] },
  { name: 'Softmax opset 11', op: 'Softmax', opset: 11, inputs: ['float32[batch, 12, seq, seq]'], attrs: { axis: 1 }, outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'Softmax opset 13', op: 'Softmax', opset: 13, inputs: ['float32[batch, 12, seq, seq]'], outputs: ['float32[batch, 12, seq, seq]'] },
  { name: 'LogSoftmax', op: 'LogSoftmax', inputs: ['float32[batch, vocab]'], outputs: ['float32[batch, vocab]'] },
  { name: 'Clip with bounds', op: 'Clip', inputs: ['float32[batch, 3]', 'float32[]', 'float32[]'], outputs: ['float32[batch, 3]'] },
  { name: 'Min variadic', op: 'Min', inputs: ['float32[2, 1]', 'float32[3]', 'float32[1, 1]'], outputs: ['float32[2, 3]'] },
  { name: 'Sum variadic', op: 'Sum', inputs: ['float32[batch, 4]', 'float32[4]', 'float32[batch, 1]'], outputs: ['float32[batch, 4]'] },
  { name: 'Mean', op: 'Mean', inputs: ['float64[5]', 'float64[5]'], outputs: ['float64[5]'] },
  { name: 'Max', op: 'Max', inputs: ['int32[5]'], outputs: ['int32[5]'] },

  // Comparisons and logic
  { name: 'Equal', op: 'Equal', inputs: ['int64[batch, seq]', 'int64[]'], outputs: ['bool[batch, seq]'] },
  { name: 'Less', op: 'Less', inputs: ['float32[3, 1]', 'float32[1, 4]'], outputs: ['bool[3, 4]'] },
  { name: 'Greater', op: 'Greater', inputs: ['float32[3]', 'float32[3]'], outputs: ['bool[3]'] },
  { name: 'LessOrEqual', op: 'LessOrEqual', inputs: ['float32[3]', 'float32[]'], outputs: ['bool[3]'] },
  { name: 'GreaterOrEqual', op: 'GreaterOrEqual', inputs: ['int32[2, 3]', 'int32[3]'], outputs: ['bool[2, 3]'] },
  { name: 'Not', op: 'Not', inputs: ['bool[seq, seq]'], outputs: ['bool[seq, seq]'] },
  { name: 'And', op: 'And', inputs: ['bool[2, 1]', 'bool[1, 5]'], outputs: ['bool[2, 5]'] },
  { name: 'Or', op: 'Or', inputs: ['bool[4]', 'bool[4]'], outputs: ['bool[4]'] },
  { name: 'Where', op: 'Where', inputs: ['bool[1, 1, seq, seq]', 'float32[batch, 12, seq, seq]', 'float32[]'], outputs: ['float32[batch, 12, seq, seq]'] },

  // Values with symbols: torch's expand/repeat writes Shape -> ConstantOfShape -> Mul -> Equal ->
  // Where -> Expand; the shape vector must come through with its symbols. Symbols are sizes
  // (never negative), so comparisons with a bound on one side are decided.
  { name: 'Equal of a shape vector with -1 (no dim is -1)', op: 'Equal', inputs: ['int64[3]=[batch, -1, -1]', 'int64[3]=[-1, -1, -1]'], outputs: ['bool[3]=[0, 1, 1]'] },
  { name: 'Equal of identical symbols', op: 'Equal', inputs: ['int64[2]=[batch, seq+1]', 'int64[2]=[batch, 1+seq]'], outputs: ['bool[2]=[1, 1]'] },
  { name: 'Equal of seq+1 with 0 (never)', op: 'Equal', inputs: ['int64[1]=[seq+1]', 'int64[]=[0]'], outputs: ['bool[1]=[0]'] },
  { name: 'Equal of a symbol with a size it may be is unknown', op: 'Equal', inputs: ['int64[1]=[batch]', 'int64[]=[3]'], outputs: ['bool[1]=?'] },
  { name: 'Equal of seq-1 with -1 is unknown (seq may be 0)', op: 'Equal', inputs: ['int64[1]=[seq-1]', 'int64[]=[-1]'], outputs: ['bool[1]=?'] },
  { name: 'Equal of two unrelated symbols is unknown', op: 'Equal', inputs: ['int64[1]=[batch]', 'int64[1]=[seq]'], outputs: ['bool[1]=?'] },
  { name: 'Less of a symbol than 0 (never)', op: 'Less', inputs: ['int64[1]=[batch]', 'int64[]=[0]'], outputs: ['bool[1]=[0]'] },
  { name: 'Less of -batch than 0 is unknown (batch may be 0): no value at all', op: 'Less', inputs: ['int64[2]=[batch, -batch]', 'int64[]=[0]'], outputs: ['bool[2]=?'] },
  { name: 'Less of -batch-1 than 0 (always)', op: 'Less', inputs: ['int64[2]=[-batch-1, batch]', 'int64[]=[0]'], outputs: ['bool[2]=[1, 0]'] },
  { name: 'Greater of seq+1 than seq', op: 'Greater', inputs: ['int64[1]=[seq+1]', 'int64[1]=[seq]'], outputs: ['bool[1]=[1]'] },
  { name: 'Greater of a symbol than 0 is unknown (it may be 0)', op: 'Greater', inputs: ['int64[1]=[seq]', 'int64[]=[0]'], outputs: ['bool[1]=?'] },
  { name: 'GreaterOrEqual of seq-2 and 0 is unknown: no value at all', op: 'GreaterOrEqual', inputs: ['int64[2]=[seq, seq-2]', 'int64[]=[0]'], outputs: ['bool[2]=?'] },
  { name: 'GreaterOrEqual of symbols and bounds', op: 'GreaterOrEqual', inputs: ['int64[2]=[seq, -seq-1]', 'int64[]=[0]'], outputs: ['bool[2]=[1, 0]'] },
  { name: 'LessOrEqual of seq with seq+2', op: 'LessOrEqual', inputs: ['int64[1]=[seq]', 'int64[1]=[seq+2]'], outputs: ['bool[1]=[1]'] },
  { name: 'Where with a known condition picks symbols', op: 'Where', inputs: ['bool[3]=[0, 1, 1]', 'int64[3]=[1, 1, 1]', 'int64[3]=[batch, -1, -1]'], outputs: ['int64[3]=[batch, 1, 1]'] },
  { name: 'Where with an unknown condition over equal branches', op: 'Where', inputs: ['bool[2]', 'int64[2]=[batch, 4]', 'int64[2]=[batch, 4]'], outputs: ['int64[2]=[batch, 4]'] },
  { name: 'Where with an unknown condition over different branches', op: 'Where', inputs: ['bool[1]', 'int64[1]=[batch]', 'int64[1]=[1]'], outputs: ['int64[1]=?'] },
  { name: 'ConstantOfShape of a known length gives its contents', op: 'ConstantOfShape', inputs: ['int64[1]=[3]'], attrs: { value: scalarTensor('value', DataType.INT64, 1, [1]) }, outputs: ['int64[3]=[1, 1, 1]'] },
  { name: 'ConstantOfShape default fill', op: 'ConstantOfShape', inputs: ['int64[2]=[2, 1]'], outputs: ['float32[2, 1]=[0, 0]'] },
  { name: 'Mul of a shape vector by -1', op: 'Mul', inputs: ['int64[3]=[1, 1, 1]', 'int64[]=[-1]'], outputs: ['int64[3]=[-1, -1, -1]'] },
  { name: 'Mul of symbols', op: 'Mul', inputs: ['int64[2]=[batch, seq]', 'int64[2]=[seq, 2]'], outputs: ['int64[2]=[batch*seq, 2*seq]'] },
  { name: 'Add of symbols', op: 'Add', inputs: ['int64[2]=[past, seq]', 'int64[2]=[seq, 1]'], outputs: ['int64[2]=[past+seq, seq+1]'] },
  { name: 'Sub of symbols', op: 'Sub', inputs: ['int64[2]=[seq+1, seq]', 'int64[]=[seq]'], outputs: ['int64[2]=[1, 0]'] },
  { name: 'Div of symbols, exact', op: 'Div', inputs: ['int64[2]=[2*seq, batch*seq]', 'int64[2]=[2, seq]'], outputs: ['int64[2]=[seq, batch]'] },
  { name: 'Div of a symbol, inexact, is unknown', op: 'Div', inputs: ['int64[1]=[seq]', 'int64[]=[2]'], outputs: ['int64[1]=?'] },
  { name: 'Div of float values with a symbol is unknown', op: 'Div', inputs: ['float32[1]=[seq]', 'float32[]=[2]'], outputs: ['float32[1]=?'] },
  { name: 'Expand by a symbolic target (1 broadcasts)', op: 'Expand', inputs: ['float32[1, 1, 32]', 'int64[3]=[batch, 1, 1]'], outputs: ['float32[batch, 1, 32]'] },
  { name: 'Expand target 1 keeps a symbolic dim', op: 'Expand', inputs: ['float32[1, seq]', 'int64[2]=[batch, 1]'], outputs: ['float32[batch, seq]'] },
  { name: 'Expand to a higher rank', op: 'Expand', inputs: ['float32[3, 1]', 'int64[3]=[2, 1, 6]'], outputs: ['float32[2, 3, 6]'] },
  { name: 'Expand carries a small value', op: 'Expand', inputs: ['int64[1]=[seq]', 'int64[1]=[3]'], outputs: ['int64[3]=[seq, seq, seq]'] },
  { name: 'Expand with -1 in the target is no shape (-1 is not special)', op: 'Expand', inputs: ['float32[1, 4]', 'int64[2]=[-1, 4]'], outputs: ['float32?'] },

  // Normalizations
  { name: 'LayerNormalization with stats', op: 'LayerNormalization', opset: 17, inputs: ['float32[batch, seq, 768]', 'float32[768]', 'float32[768]'], attrs: { axis: -1, epsilon: 1e-5 }, outputs: ['float32[batch, seq, 768]', 'float32[batch, seq, 1]', 'float32[batch, seq, 1]'] },
  { name: 'LayerNormalization axis 1', op: 'LayerNormalization', opset: 17, inputs: ['float16[batch, seq, 768]', 'float16[seq, 768]'], attrs: { axis: 1 }, outputs: ['float16[batch, seq, 768]', 'float32[batch, 1, 1]', 'float32[batch, 1, 1]'] },
  { name: 'RMSNormalization', op: 'RMSNormalization', opset: 23, inputs: ['float32[batch, seq, 512]', 'float32[512]'], outputs: ['float32[batch, seq, 512]'] },
  { name: 'SkipLayerNormalization', op: 'SkipLayerNormalization', domain: 'com.microsoft', opset: 1, inputs: ['float32[batch, seq, 768]', 'float32[batch, seq, 768]', 'float32[768]', 'float32[768]'], outputs: ['float32[batch, seq, 768]', 'float32[batch, seq, 1]', 'float32[batch, seq, 1]', 'float32[batch, seq, 768]'] },
  { name: 'BatchNormalization', op: 'BatchNormalization', opset: 15, inputs: ['float32[n, 16, h, w]', 'float32[16]', 'float32[16]', 'float32[16]', 'float32[16]'], outputs: ['float32[n, 16, h, w]'] },

  // Reductions: axes as attribute and as input, keepdims, noop_with_empty_axes
  { name: 'ReduceMean axes attr (opset 13)', op: 'ReduceMean', opset: 13, inputs: ['float32[batch, seq, 768]'], attrs: { axes: [-1] }, outputs: ['float32[batch, seq, 1]'] },
  { name: 'ReduceMean axes input (opset 18)', op: 'ReduceMean', opset: 18, inputs: ['float32[batch, seq, 768]', 'int64[1]=[-1]'], attrs: { keepdims: 0 }, outputs: ['float32[batch, seq]'] },
  { name: 'ReduceSum axes attr (opset 11)', op: 'ReduceSum', opset: 11, inputs: ['float32[2, 3, 4]'], attrs: { axes: [0, 2], keepdims: 0 }, outputs: ['float32[3]'] },
  { name: 'ReduceSum axes input (opset 13)', op: 'ReduceSum', opset: 13, inputs: ['float32[2, 3, 4]', 'int64[1]=[1]'], outputs: ['float32[2, 1, 4]'] },
  { name: 'ReduceSum no axes reduces all', op: 'ReduceSum', opset: 13, inputs: ['float32[2, 3, 4]'], attrs: { keepdims: 0 }, outputs: ['float32[]'] },
  { name: 'ReduceSum noop_with_empty_axes', op: 'ReduceSum', opset: 13, inputs: ['float32[2, 3, 4]'], attrs: { noop_with_empty_axes: 1 }, outputs: ['float32[2, 3, 4]'] },
  { name: 'ReduceSum runtime axes keepdims', op: 'ReduceSum', opset: 13, inputs: ['float32[2, 1, 4]', 'int64[1]'], outputs: ['float32[unk, 1, unk]'] },
  { name: 'ReduceMax opset 18', op: 'ReduceMax', opset: 18, inputs: ['float32[batch, 10]', 'int64[1]=[1]'], outputs: ['float32[batch, 1]'] },
  { name: 'ReduceMin opset 13 attr', op: 'ReduceMin', opset: 13, inputs: ['float32[batch, 10]'], attrs: { axes: [0] }, outputs: ['float32[1, 10]'] },
  { name: 'ReduceL2', op: 'ReduceL2', opset: 18, inputs: ['float32[3, 4]', 'int64[1]=[0]'], attrs: { keepdims: 0 }, outputs: ['float32[4]'] },
  { name: 'ArgMax', op: 'ArgMax', inputs: ['float32[batch, seq, vocab]'], attrs: { axis: -1, keepdims: 0 }, outputs: ['int64[batch, seq]'] },

  // Layout
  { name: 'Reshape with 0 and -1', op: 'Reshape', inputs: ['float32[batch, seq, 768]', 'int64[4]=[0, 0, 12, -1]'], outputs: ['float32[batch, seq, 12, 64]'] },
  { name: 'Reshape -1 folds symbols', op: 'Reshape', inputs: ['float32[batch, seq, 768]', 'int64[2]=[-1, 768]'], outputs: ['float32[batch*seq, 768]'] },
  { name: 'Reshape allowzero keeps 0', op: 'Reshape', opset: 14, inputs: ['float32[0, 4]', 'int64[2]=[4, 0]'], attrs: { allowzero: 1 }, outputs: ['float32[4, 0]'] },
  { name: 'Reshape runtime target keeps rank', op: 'Reshape', inputs: ['float32[6]', 'int64[2]'], outputs: ['float32[unk, unk]'] },
  { name: 'Reshape symbolic target', op: 'Reshape', inputs: ['float32[batch, seq, 768]', 'int64[3]=[batch, seq, 768]'], outputs: ['float32[batch, seq, 768]'] },
  { name: 'Transpose perm', op: 'Transpose', inputs: ['float32[batch, seq, 12, 64]'], attrs: { perm: [0, 2, 1, 3] }, outputs: ['float32[batch, 12, seq, 64]'] },
  { name: 'Transpose default reverses', op: 'Transpose', inputs: ['float32[2, 3, 4]'], outputs: ['float32[4, 3, 2]'] },
  { name: 'Squeeze axes attr (opset 11)', op: 'Squeeze', opset: 11, inputs: ['float32[batch, 1, seq]'], attrs: { axes: [1] }, outputs: ['float32[batch, seq]'] },
  { name: 'Squeeze axes input (opset 13)', op: 'Squeeze', opset: 13, inputs: ['float32[batch, 1, seq]', 'int64[1]=[-2]'], outputs: ['float32[batch, seq]'] },
  { name: 'Squeeze all ones', op: 'Squeeze', opset: 13, inputs: ['float32[1, 3, 1]'], outputs: ['float32[3]'] },
  { name: 'Unsqueeze axes attr (opset 11)', op: 'Unsqueeze', opset: 11, inputs: ['int64[batch, seq]'], attrs: { axes: [1, 2] }, outputs: ['int64[batch, 1, 1, seq]'] },
  { name: 'Unsqueeze axes input (opset 13)', op: 'Unsqueeze', opset: 13, inputs: ['int64[batch, seq]', 'int64[2]=[1, -1]'], outputs: ['int64[batch, 1, seq, 1]'] },
  { name: 'Concat symbolic axis', op: 'Concat', inputs: ['float32[batch, past, 64]', 'float32[batch, seq, 64]'], attrs: { axis: 1 }, outputs: ['float32[batch, past+seq, 64]'] },
  { name: 'Split equal (opset 13)', op: 'Split', opset: 13, inputs: ['float32[batch, seq, 2304]'], attrs: { axis: -1 }, outputs: ['float32[batch, seq, 768]', 'float32[batch, seq, 768]', 'float32[batch, seq, 768]'] },
  { name: 'Split attr (opset 11)', op: 'Split', opset: 11, inputs: ['float32[6, 2]'], attrs: { split: [2, 4] }, outputs: ['float32[2, 2]', 'float32[4, 2]'] },
  { name: 'Split input (opset 13)', op: 'Split', opset: 13, inputs: ['float32[6, 2]', 'int64[2]=[1, 5]'], outputs: ['float32[1, 2]', 'float32[5, 2]'] },
  { name: 'Split num_outputs uneven (opset 18)', op: 'Split', opset: 18, inputs: ['float32[7]'], attrs: { num_outputs: 3 }, outputs: ['float32[3]', 'float32[3]', 'float32[1]'] },
  { name: 'Slice clamps and steps', op: 'Slice', inputs: ['float32[20, 10, 5]', 'int64[2]=[0, 1]', 'int64[2]=[3, 1000]', 'int64[2]=[0, 1]', 'int64[2]=[1, 2]'], outputs: ['float32[3, 5, 5]'] },
  { name: 'Slice negative step', op: 'Slice', inputs: ['float32[20, 10]', 'int64[1]=[-1]', 'int64[1]=[-1000]', 'int64[1]=[1]', 'int64[1]=[-3]'], outputs: ['float32[20, 4]'] },
  { name: 'Slice negative start on symbol', op: 'Slice', inputs: ['float32[batch, seq, vocab]', 'int64[1]=[-1]', 'int64[1]=[9223372036854775807]', 'int64[1]=[1]'], outputs: ['float32[batch, 1, vocab]'] },
  { name: 'Slice shift by one', op: 'Slice', inputs: ['float32[batch, seq, vocab]', 'int64[1]=[0]', 'int64[1]=[-1]', 'int64[1]=[1]'], outputs: ['float32[batch, seq-1, vocab]'] },
  { name: 'Slice to symbolic end', op: 'Slice', inputs: ['float32[1, 1, 1024, 1024]', 'int64[1]=[0]', 'int64[1]=[seq]', 'int64[1]=[2]'], outputs: ['float32[1, 1, seq, 1024]'] },
  { name: 'Slice attrs (opset 9)', op: 'Slice', opset: 9, inputs: ['float32[4, 6]'], attrs: { starts: [1], ends: [-1], axes: [1] }, outputs: ['float32[4, 4]'] },
  { name: 'Gather embedding', op: 'Gather', inputs: ['float32[30522, 768]', 'int64[batch, seq]'], outputs: ['float32[batch, seq, 768]'] },
  { name: 'Gather scalar index axis 1', op: 'Gather', inputs: ['float32[batch, seq, 768]', 'int64[]=[0]'], attrs: { axis: 1 }, outputs: ['float32[batch, 768]'] },
  { name: 'GatherElements', op: 'GatherElements', inputs: ['float32[3, 4]', 'int64[3, 2]'], attrs: { axis: 1 }, outputs: ['float32[3, 2]'] },
  { name: 'ScatterND', op: 'ScatterND', inputs: ['float32[batch, 8]', 'int64[2, 2]', 'float32[2]'], outputs: ['float32[batch, 8]'] },
  { name: 'ScatterElements', op: 'ScatterElements', inputs: ['float32[3, 3]', 'int64[2, 3]', 'float32[2, 3]'], attrs: { reduction: 'add' }, outputs: ['float32[3, 3]'] },
  { name: 'Expand symbolic', op: 'Expand', inputs: ['float32[1, 1, seq]', 'int64[3]=[batch, 1, 1]'], outputs: ['float32[batch, 1, seq]'] },
  { name: 'Cast', op: 'Cast', inputs: ['bool[batch, seq]'], attrs: { to: 1 }, outputs: ['float32[batch, seq]'] },
  { name: 'CastLike', op: 'CastLike', inputs: ['int64[batch, seq]', 'float16[]'], outputs: ['float16[batch, seq]'] },
  { name: 'Shape', op: 'Shape', inputs: ['float32[batch, seq, 768]'], outputs: ['int64[3]'] },
  { name: 'Shape start/end (opset 15)', op: 'Shape', opset: 15, inputs: ['float32[batch, seq, 768]'], attrs: { start: 1, end: -1 }, outputs: ['int64[1]'] },
  { name: 'Size', op: 'Size', inputs: ['float32[batch, 3]'], outputs: ['int64[]'] },
  { name: 'ConstantOfShape from a symbolic shape', op: 'ConstantOfShape', inputs: ['int64[2]=[batch, seq]'], outputs: ['float32[batch, seq]'] },
  { name: 'Range symbolic', op: 'Range', inputs: ['int64[]=[0]', 'int64[]=[seq]', 'int64[]=[1]'], outputs: ['int64[seq]'] },
  { name: 'Range numbers', op: 'Range', inputs: ['float32[]=[1]', 'float32[]=[2]', 'float32[]=[0.3]'], outputs: ['float32[4]'] },
  { name: 'Trilu', op: 'Trilu', inputs: ['float32[seq, seq]', 'int64[]=[1]'], attrs: { upper: 1 }, outputs: ['float32[seq, seq]'] },
  { name: 'Dropout mask', op: 'Dropout', opset: 13, inputs: ['float32[batch, seq, 768]'], outputs: ['float32[batch, seq, 768]', 'bool[batch, seq, 768]'] },
  { name: 'Identity', op: 'Identity', inputs: ['float32[batch]'], outputs: ['float32[batch]'] },
  { name: 'Constant value tensor', op: 'Constant', inputs: [], attrs: { value_ints: [1, 2, 3] }, outputs: ['int64[3]'] },
  { name: 'Constant value_float', op: 'Constant', inputs: [], attrs: { value_float: 0.5 }, outputs: ['float32[]'] },
  { name: 'Constant value_strings', op: 'Constant', inputs: [], attrs: { value_strings: ['a', 'b'] }, outputs: ['string[2]'] },
  { name: 'Flatten', op: 'Flatten', inputs: ['float32[batch, 3, 4, 5]'], attrs: { axis: 2 }, outputs: ['float32[3*batch, 20]'] },
  { name: 'Tile', op: 'Tile', inputs: ['float32[batch, 3]', 'int64[2]=[2, 2]'], outputs: ['float32[2*batch, 6]'] },
  { name: 'Pad', op: 'Pad', opset: 13, inputs: ['float32[1, 3, 4, 5]', 'int64[8]=[0, 0, 1, 2, 0, 0, 3, 4]'], outputs: ['float32[1, 3, 8, 11]'] },
  { name: 'NonZero', op: 'NonZero', inputs: ['float32[3, 4]'], outputs: ['int64[2, unk]'] },
  { name: 'TopK', op: 'TopK', inputs: ['float32[batch, 100]', 'int64[1]=[5]'], outputs: ['float32[batch, 5]', 'int64[batch, 5]'] },
  { name: 'OneHot', op: 'OneHot', inputs: ['int64[batch]', 'int64[]=[10]', 'float32[2]'], outputs: ['float32[batch, 10]'] },

  // Convolution and pooling
  { name: 'Conv pads strides', op: 'Conv', inputs: ['float32[n, 3, 224, 224]', 'float32[64, 3, 7, 7]'], attrs: { pads: [3, 3, 3, 3], strides: [2, 2] }, outputs: ['float32[n, 64, 112, 112]'] },
  { name: 'Conv dilation', op: 'Conv', inputs: ['float32[1, 1, 7, 7]', 'float32[1, 1, 3, 3]'], attrs: { dilations: [2, 2] }, outputs: ['float32[1, 1, 3, 3]'] },
  { name: 'Conv SAME_UPPER', op: 'Conv', inputs: ['float32[1, 1, 5, 5]', 'float32[1, 1, 3, 3]'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, outputs: ['float32[1, 1, 3, 3]'] },
  { name: 'Conv group (depthwise)', op: 'Conv', inputs: ['float32[1, 32, 10, 10]', 'float32[32, 1, 3, 3]'], attrs: { group: 32, pads: [1, 1, 1, 1] }, outputs: ['float32[1, 32, 10, 10]'] },
  { name: 'Conv 1-D symbolic length', op: 'Conv', inputs: ['float32[batch, 4, seq]', 'float32[8, 4, 3]'], attrs: { pads: [1, 1] }, outputs: ['float32[batch, 8, seq]'] },
  { name: 'MaxPool ceil_mode', op: 'MaxPool', inputs: ['float32[1, 1, 4, 4]'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, outputs: ['float32[1, 1, 2, 2]'] },
  { name: 'AveragePool', op: 'AveragePool', inputs: ['float32[1, 3, 32, 32]'], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, outputs: ['float32[1, 3, 16, 16]'] },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', inputs: ['float32[n, 512, 7, 7]'], outputs: ['float32[n, 512, 1, 1]'] },

  // Losses
  { name: 'SoftmaxCrossEntropyLoss mean', op: 'SoftmaxCrossEntropyLoss', inputs: ['float32[batch, 2]', 'int64[batch]'], outputs: ['float32[]', 'float32[batch, 2]'] },
  { name: 'SoftmaxCrossEntropyLoss none', op: 'SoftmaxCrossEntropyLoss', inputs: ['float32[batch, vocab, seq]', 'int64[batch, seq]'], attrs: { reduction: 'none' }, outputs: ['float32[batch, seq]', 'float32[batch, vocab, seq]'] },

  // Unknown ops and malformed input
  { name: 'unknown op gives unknown outputs', op: 'NoSuchOp', inputs: ['float32[3]'], outputs: [null] },
  { name: 'Transpose with a bad perm is unknown', op: 'Transpose', inputs: ['float32[2, 3]'], attrs: { perm: [0, 5] }, outputs: [null] },
  { name: 'Concat of unknown rank keeps dtype', op: 'Concat', inputs: ['float32?', 'float32[2]'], attrs: { axis: 0 }, outputs: ['float32?'] },
];
