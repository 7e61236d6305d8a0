/**
 * The kernels onnxruntime's CUDA execution provider registers, per op: domain, opset ranges and
 * the element types each type constraint accepts in that range. Transcribed from ORT's
 * generated operator list, docs/OperatorKernels.md, at microsoft/onnxruntime commit 001d12d
 * (the list as of ORT 1.30, the onnxruntime-node version lor2c pins: it has the opset-25
 * kernels 1.30 loads). `scripts/ort-kernel-table.ts` turns that document into this format, so
 * a newer ORT is one command away.
 *
 * Format (kernel-table.ts reads it), one op per line:
 *   Op in=A,B,... out=C,... | RANGE C1=types;C2=types | RANGE ...
 * - `in`/`out` give each input's / output's type constraint in order (the last repeats for
 *   variadic ones); a lower-case ONNX type name is a fixed type; `-` is not checked; `X|Y`
 *   takes the first constraint the range defines (the doc lists several signatures).
 * - RANGE is `N+` (from opset N on), `N` (exactly), or `N-M`.
 * - Type groups stand for the doc's long lists (below). Sequence and optional types are left
 *   out: lor2c's graphs hold plain tensors.
 */
export const CUDA_TYPE_GROUPS: Readonly<Record<string, string>> = {
  FL: 'double,float,float16',
  BFL: 'bfloat16,double,float,float16',
  ALL12: 'bool,double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8',
  ALL: 'bfloat16,bool,double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8',
  ALLS: 'bfloat16,bool,double,float,float16,int16,int32,int64,int8,string,uint16,uint32,uint64,uint8',
  F8: 'float8e4m3fn,float8e4m3fnuz,float8e5m2,float8e5m2fnuz',
  NUM12: 'bfloat16,double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8',
  NUM11: 'double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8',
  NUM8: 'bfloat16,double,float,float16,int32,int64,uint32,uint64',
  NUM7: 'double,float,float16,int32,int64,uint32,uint64',
  IDX: 'int32,int64',
};

export const CUDA_KERNELS = `
[ai.onnx]
Abs in=T out=T | 13+ T=NUM12 | 6-12 T=NUM11
Add in=T,T out=T | 14+ T=NUM12 | 13 T=NUM8 | 7-12 T=NUM7
Affine in=T out=T | 1+ T=FL
And in=T,T out=T1 | 7+ T=bool;T1=bool
ArgMax in=T out=int64 | 13+ T=FL | 12 T=FL | 1-11 T=FL
ArgMin in=T out=int64 | 13+ T=FL | 12 T=FL | 1-11 T=FL
Attention in=T1,T1,T2,U,T1,T2,int64 out=T1,T1,T2,T1 | 24+ T1=bfloat16,float,float16;T2=bfloat16,float,float16;U=bfloat16,bool,float,float16 | 23 T1=bfloat16,float,float16;T2=bfloat16,float,float16;U=bfloat16,bool,float,float16
AveragePool in=T out=T | 22+ T=BFL | 19-21 T=FL | 11-18 T=FL | 10 T=FL | 7-9 T=FL
BatchNormalization in=T,T1|T,T1|T,T2|U|T,T2|U|T out=T,T2|U|T,T2|U|T | 15+ T=FL;T1=FL;T2=FL | 14 T=FL;U=FL | 9-13 T=FL | 7-8 T=FL
Cast in=T1 out=T2 | 23+ T1=ALL,float4e2m1,float8e4m3fn,float8e5m2;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2 | 21-22 T1=ALL,float8e4m3fn,float8e5m2;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2 | 19-20 T1=ALL,float8e4m3fn,float8e5m2;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2 | 13-18 T1=ALL;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2 | 9-12 T1=ALL12;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2 | 6-8 T1=ALL12;T2=ALL,float4e2m1,float8e4m3fn,float8e5m2
Ceil in=T out=T | 13+ T=FL | 6-12 T=FL
Clip in=T,T,T out=T | 13+ T=double,float,float16,int64,int8,uint64,uint8 | 12 T=double,float,float16,int64,int8,uint64,uint8 | 11 T=float | 6-10 T=float
Compress in=T,T1 out=T | 11+ T=ALL;T1=bool | 9-10 T=ALL;T1=bool
Concat in=T out=T | 13+ T=ALL | 11-12 T=ALL | 4-10 T=ALL
ConcatFromSequence in=- out=T | 11+
ConstantOfShape in=T1 out=T2 | 9+ T1=int64;T2=ALL
Conv in=T,T,T out=T | 22+ T=BFL | 11-21 T=FL | 1-10 T=FL
ConvTranspose in=T,T,T out=T | 11+ T=FL | 1-10 T=FL
Cos in=T out=T | 7+ T=FL
Crop in=T out=T | 1+ T=FL
CumSum in=T,T2 out=T | 14+ T=double,float,float16,int32,int64,uint32,uint64;T2=IDX | 11-13 T=double,float,int32,int64,uint32,uint64;T2=IDX
DepthToSpace in=T out=T | 13+ T=FL | 11-12 T=FL | 1-10 T=FL
DequantizeLinear in=T1|T,T2|float,T1|T out=T2|float | 21+ T1=float8e4m3fn,float8e5m2,int4,int8,uint4,uint8;T2=float,float16 | 19-20 T1=float8e4m3fn,float8e5m2,int8,uint8;T2=float,float16 | 13-18 T=int8,uint8 | 10-12 T=int8,uint8
Div in=T,T out=T | 14+ T=NUM12 | 13 T=NUM8 | 7-12 T=NUM7
Dropout in=T,T1,T2 out=T,T2|T1|T | 13+ T=BFL;T1=BFL;T2=bool | 12 T=FL;T1=FL;T2=bool | 10-11 T=FL;T1=bool | 7-9 T=FL
DynamicSlice in=T,Tind,Tind,Tind out=T | 1+ T=ALL;Tind=IDX
Einsum in=T out=T | 12+ T=FL
Elu in=T out=T | 6+ T=FL
Equal in=T,T out=T1 | 13+ T=bool,double,float,float16,int32,int64,uint32,uint64;T1=bool | 11-12 T=bool,double,float,float16,int32,int64,uint32,uint64 | 7-10 T=bool,int32,int64
Erf in=T out=T | 13+ T=BFL | 9-12 T=FL
Exp in=T out=T | 13+ T=BFL | 6-12 T=FL
Expand in=T,int64 out=T | 13+ T=ALL | 8-12 T=ALL
EyeLike in=T1 out=T2 | 9+ T1=double,float,int32,int64,uint64;T2=double,float,int32,int64,uint64
Flatten in=T out=T | 13+ T=ALL | 11-12 T=ALL | 9-10 T=ALL | 1-8 T=ALL
Floor in=T out=T | 13+ T=FL | 6-12 T=FL
GRU in=T,T,T,T,T1,T out=T,T | 14+ T=FL;T1=int32 | 7-13 T=FL;T1=int32
Gather in=T,Tind out=T | 13+ T=ALL;Tind=IDX | 11-12 T=ALL;Tind=IDX | 1-10 T=ALL;Tind=IDX
GatherElements in=T,Tind out=T | 13+ T=ALL;Tind=IDX | 11-12 T=ALL;Tind=IDX
GatherND in=T,int64 out=T | 13+ T=bfloat16,bool,double,float,float16,int64 | 12 T=bool,double,float,float16,int64 | 11 T=bool,double,float,float16,int64
Gelu in=T out=T | 20+ T=BFL
Gemm in=T,T,T out=T | 13+ T=BFL | 11-12 T=FL | 9-10 T=FL | 7-8 T=FL
GlobalAveragePool in=T out=T | 1+ T=FL
GlobalMaxPool in=T out=T | 1+ T=FL
Greater in=T,T out=T1 | 13+ T=NUM7;T1=bool | 9-12 T=NUM7 | 7-8 T=FL
GreaterOrEqual in=T,T out=T1 | 16+ T=NUM7;T1=bool | 12-15 T=NUM7;T1=bool
GridSample in=T1,T2 out=T1 | 22+ T1=float;T2=float | 20-21 T1=float;T2=float | 16-19 T1=float;T2=float
HardSigmoid in=T out=T | 22+ T=BFL | 6-21 T=FL
HardSwish in=T out=T | 22+ T=BFL | 14-21 T=FL
Identity in=V|T out=V|T | 19+ V=ALL,F8 | 14-18 V=ALL | 13 T=ALL | 1-12 T=ALL
If in=B out=V | 19+ B=bool;V=ALLS,F8 | 13-18 B=bool;V=ALLS | 11-12 B=bool;V=ALL | 1-10 B=bool;V=ALL
ImageScaler in=T out=T | 1+ T=FL
InstanceNormalization in=T,T,T out=T | 6+ T=FL
IsInf in=T1 out=T2 | 20+ T1=bfloat16,double,float,float16,F8;T2=bool | 10-19 T1=double,float;T2=bool
IsNaN in=T1 out=T2 | 20+ T1=bfloat16,double,float,float16,F8;T2=bool | 13-19 T1=BFL;T2=bool | 9-12 T1=FL;T2=bool
LRN in=T out=T | 13+ T=FL | 1-12 T=FL
LSTM in=T,T,T,T,T1,T,T,T out=T,T,T | 14+ T=FL;T1=int32 | 7-13 T=FL;T1=int32
LayerNormalization in=T,V|T,V|T out=V|T,U,U | 17+ T=BFL;U=float | 1-16 T=BFL;U=double,float;V=BFL
LeakyRelu in=T out=T | 16+ T=FL | 6-15 T=FL
Less in=T,T out=T1 | 13+ T=NUM7;T1=bool | 9-12 T=NUM7 | 7-8 T=FL
LessOrEqual in=T,T out=T1 | 16+ T=NUM7;T1=bool | 12-15 T=NUM7;T1=bool
Log in=T out=T | 13+ T=FL | 6-12 T=FL
LogSoftmax in=T out=T | 13+ T=FL | 11-12 T=FL | 1-10 T=FL
Loop in=I,B,V out=V | 19+ B=bool;I=int64;V=ALLS,F8 | 13-18 B=bool;I=int64;V=ALLS | 11-12 B=bool;I=int64;V=ALL | 1-10 B=bool;I=int64;V=ALL
MatMul in=T,T out=T | 13+ T=BFL | 9-12 T=FL | 1-8 T=FL
MatMulInteger in=T1,T2,T1,T2 out=T3 | 10+ T1=int8;T2=int8;T3=int32
Max in=T out=T | 13+ T=NUM8 | 12 T=NUM8 | 6-11 T=BFL
MaxPool in=T out=T,I | 12+ I=int64;T=double,float,float16,int8,uint8 | 11 I=int64;T=FL | 10 I=int64;T=FL | 8-9 I=int64;T=FL | 1-7 T=FL
MemcpyFromHost in=T out=T | 1+ T=ALL,F8
MemcpyToHost in=T out=T | 1+ T=ALL,F8
Min in=T out=T | 13+ T=NUM8 | 12 T=NUM8 | 6-11 T=BFL
Mod in=T,T out=T | 13+ T=NUM8 | 10-12 T=NUM7
Mul in=T,T out=T | 14+ T=NUM12 | 13 T=NUM8 | 7-12 T=NUM7
Neg in=T out=T | 13+ T=bfloat16,double,float,float16,int16,int32,int64,int8 | 6-12 T=double,float,float16,int16,int32,int64,int8
NonZero in=T out=int64 | 13+ T=bool,float,float16,int32,int64,uint8 | 9-12 T=bool,float,float16,int32,int64,uint8
Not in=T out=T | 1+ T=bool
OneHot in=T1,T2,T3 out=T3 | 11+ T1=IDX;T2=IDX;T3=float,float16,int64
Or in=T,T out=T1 | 7+ T=bool;T1=bool
PRelu in=T,T out=T | 16+ T=FL | 9-15 T=FL | 7-8 T=FL
Pad in=T,int64,T,Tind out=T | 18+ T=bool,double,float,float16 | 13-17 T=bool,double,float,float16 | 11-12 T=FL | 2-10 T=FL
ParametricSoftplus in=T out=T | 1+ T=FL
Pow in=T,T1|T out=T | 15+ T=bfloat16,double,float,float16,int32,int64;T1=bfloat16,double,float,float16,int32,int64 | 13-14 T=bfloat16,double,float,float16,int32,int64;T1=double,float,float16,int32,int64 | 12 T=double,float,float16,int32,int64;T1=double,float,float16,int32,int64 | 7-11 T=FL
QuantizeLinear in=T1,-,T2 out=T2 | 21+ T1=float,float16;T2=float8e4m3fn,float8e5m2,int4,int8,uint4,uint8 | 19-20 T1=float,float16;T2=float8e4m3fn,float8e5m2,int8,uint8 | 13-18 T1=float;T2=int8,uint8 | 10-12 T1=float;T2=int8,uint8
RMSNormalization in=T,V out=V | 23+ T=BFL;V=BFL
RNN in=T,T,T,T,T1,T out=T,T | 14+ T=FL;T1=int32 | 7-13 T=FL;T1=int32
RandomNormal in= out=T | 1+ T=FL
RandomNormalLike in=T1 out=T2 | 1+ T1=ALLS;T2=FL
RandomUniform in= out=T | 1+ T=FL
RandomUniformLike in=T1 out=T2 | 1+ T1=ALLS;T2=FL
Range in=T,T,T out=T | 11+ T=double,float,int16,int32,int64
Reciprocal in=T out=T | 13+ T=FL | 6-12 T=FL
ReduceL1 in=T,int64 out=T | 18+ T=double,float,float16,int32 | 1-17 T=double,float,float16,int32
ReduceL2 in=T,int64 out=T | 18+ T=double,float,float16,int32 | 1-17 T=double,float,float16,int32
ReduceLogSum in=T,int64 out=T | 18+ T=FL | 1-17 T=FL
ReduceLogSumExp in=T,int64 out=T | 18+ T=FL | 1-17 T=FL
ReduceMax in=T,int64 out=T | 18+ T=double,float,float16,int32,int64 | 1-17 T=double,float,float16,int32,int64
ReduceMean in=T,int64 out=T | 18+ T=double,float,float16,int32 | 1-17 T=double,float,float16,int32
ReduceMin in=T,int64 out=T | 18+ T=double,float,float16,int32,int64,int8,uint8 | 1-17 T=double,float,float16,int32,int64,int8,uint8
ReduceProd in=T,int64 out=T | 18+ T=double,float,float16,int32 | 1-17 T=double,float,float16,int32
ReduceSum in=T,int64 out=T | 13+ T=bfloat16,double,float,float16,int32,int64 | 1-12 T=double,float,float16,int32,int64
ReduceSumSquare in=T,int64 out=T | 18+ T=FL | 1-17 T=FL
Relu in=T out=T | 14+ T=BFL | 13 T=BFL | 6-12 T=FL
Reshape in=T,int64 out=T | 23+ T=ALL,F8 | 21-22 T=ALL,F8 | 19-20 T=ALL,F8 | 14-18 T=ALL | 13 T=ALL | 5-12 T=ALL | 1-4 T=ALL
Resize in=T1|T,- out=T1|T | 19+ T1=double,float,float16,int32,uint8 | 18 T1=double,float,float16,int32,uint8 | 13-17 T1=double,float,float16,int32,uint8 | 11-12 T1=double,float,float16,int32,uint8 | 10 T=double,float,float16,int32,uint8
ReverseSequence in=T,int64 out=T | 10+ T=ALL
RoiAlign in=T1,T1,T2 out=T1 | 10+ T1=double,float;T2=int64
RotaryEmbedding in=T,T,T,M out=T | 23+ M=int64;T=bfloat16,float,float16
Round in=T out=T | 11+ T=FL
ScaledTanh in=T out=T | 1+ T=FL
Scan in=V out=V | 19+ V=ALL,F8 | 16-18 V=ALL | 11-15 V=ALL | 9-10 V=ALL | 8 I=int64;V=ALLS
Scatter in=T,Tind,T out=T | 9-10 T=ALL;Tind=IDX
ScatterElements in=T,Tind,T out=T | 18+ T=ALL;Tind=IDX | 16-17 T=ALL;Tind=IDX | 13-15 T=ALL;Tind=IDX | 11-12 T=ALL;Tind=IDX
ScatterND in=T,int64,T out=T | 18+ T=ALL | 16-17 T=ALL | 13-15 T=ALL | 11-12 T=ALL
Selu in=T out=T | 6+ T=FL
SequenceAt in=-,I out=T | 11+ I=IDX;T=ALL
SequenceConstruct in=T out=- | 11+ T=ALL
SequenceEmpty in= out=- | 11+
SequenceErase in=-,I out=- | 11+ I=IDX
SequenceInsert in=-,T,I out=- | 11+ I=IDX
SequenceLength in=- out=I | 11+ I=int64
Shape in=T out=T1 | 23+ T=ALL,F8;T1=int64 | 21-22 T=ALL,F8;T1=int64 | 19-20 T=ALL,F8;T1=int64 | 15-18 T=ALL;T1=int64 | 13-14 T=ALL;T1=int64 | 1-12 T=ALL;T1=int64
Shrink in=T out=T | 9+ T=NUM11
Sigmoid in=T out=T | 13+ T=BFL | 6-12 T=FL
Sign in=T out=T | 13+ T=NUM12
SimplifiedLayerNormalization in=T,V out=V,U | 1+ T=BFL;U=double,float;V=BFL
Sin in=T out=T | 7+ T=FL
Size in=T out=T1 | 13+ T=ALLS;T1=int64 | 1-12 T=ALLS;T1=int64
Slice in=T,Tind,Tind,Tind,Tind out=T | 13+ T=ALL;Tind=IDX | 11-12 T=ALL;Tind=IDX | 10 T=ALL;Tind=IDX | 1-9 T=ALL
Softmax in=T out=T | 13+ T=BFL | 11-12 T=FL | 1-10 T=FL
Softplus in=T out=T | 1+ T=FL
Softsign in=T out=T | 1+ T=FL
SpaceToDepth in=T out=T | 13+ T=FL | 1-12 T=FL
Split in=T,- out=T | 18+ T=ALL | 13-17 T=ALL | 11-12 T=ALL | 2-10 T=ALL
Sqrt in=T out=T | 13+ T=BFL | 6-12 T=FL
Squeeze in=T,int64 out=T | 23+ T=ALL | 21-22 T=ALL | 13-20 T=ALL | 11-12 T=ALL | 1-10 T=ALL
Sub in=T,T out=T | 14+ T=NUM12 | 13 T=NUM8 | 7-12 T=NUM7
Sum in=T out=T | 13+ T=BFL | 8-12 T=BFL | 6-7 T=BFL
Tanh in=T out=T | 13+ T=BFL | 6-12 T=FL
TensorScatter in=T,T,int64 out=T | 24+ T=ALL
ThresholdedRelu in=T out=T | 10+ T=FL | 1+ T=FL
Tile in=T,T1 out=T | 13+ T=bfloat16,double,float,float16,int32,int64;T1=int64 | 6-12 T=double,float,float16,int32,int64;T1=int64
TopK in=T,int64 out=T,I | 11+ I=int64;T=double,float,float16,int32,int64 | 10 I=int64;T=double,float,float16,int32,int64 | 1-9 T=double,float,float16,int32,int64
Transpose in=T out=T | 23+ T=ALL | 21-22 T=ALL | 13-20 T=ALL | 1-12 T=ALL
Trilu in=T,int64 out=T | 14+ T=ALL
Unsqueeze in=T,int64 out=T | 23+ T=ALL | 21-22 T=ALL | 13-20 T=ALL | 11-12 T=ALL | 1-10 T=ALL
Upsample in=T,float out=T | 9 T=double,float,float16,int32,uint8 | 7-8 T=double,float,float16,int32,uint8
Where in=B,T,T out=T | 16+ B=bool;T=bfloat16,double,float,float16,int32,int64,uint8 | 9-15 B=bool;T=double,float,float16,int32,int64,uint8
Xor in=T,T out=T1 | 7+ T=bool;T1=bool

[com.microsoft]
Attention in=T,T,T,M,T,T,M out=T,T | 1+ T=bfloat16,float,float16
BeamSearch in=- out=- | 1+ T=float,float16
BiasAdd in=T,T,T out=T | 1+ T=float,float16
BiasDropout in=T,T,T,T1,T2 out=T,T2 | 1+ T=BFL;T1=BFL;T2=bool
BiasGelu in=T,T out=T | 1+ T=BFL
BiasSoftmax in=T,T out=T | 1+ T=FL
BiasSplitGelu in=T,T out=T | 1+ T=float,float16
BitmaskBiasDropout in=T,T,T,T1,T2 out=T,T3 | 1+ T=BFL;T1=BFL;T2=bool;T3=uint32
BitmaskDropout in=T,T1,T2 out=T,T3 | 1+ T=BFL;T1=BFL;T2=bool;T3=uint32
ComplexMul in=T,T out=T | 1+ T=float,float16
ComplexMulConj in=T,T out=T | 1+ T=float,float16
ConvTransposeWithDynamicPads in=T,T,int64,T out=T | 1+ T=float
DecoderAttention in=T,T,T,T,T out=T,T,T | 1+ T=float,float16
DecoderMaskedMultiHeadAttention in=T,T,T out=T,T,T,QK | 1+ QK=float,float16;T=float,float16
DecoderMaskedSelfAttention in=T,T,T out=T,T | 1+ T=float,float16
DequantizeLinear in=T1,T2,T1 out=T2 | 1+ T1=int8,uint8;T2=float16
DequantizeWithOrder in=Q,S out=F | 1+ F=float,float16;Q=int8;S=float
DynamicTimeWarping in=F out=I | 1+ F=float;I=int32
EmbedLayerNormalization in=T1,T1,T,T,T,T,T,T1,T1 out=T,T1,T | 1+ T=float,float16
FastGelu in=T,T out=T | 1+ T=BFL
FusedConv in=T,T,T,T out=T | 1+ T=float
FusedMatMul in=T,T out=T | 1+ T=BFL
GatedRelativePositionBias in=T,T,T,T,T,T,M out=T | 1+ T=float,float16
GatherBlockQuantized in=T1,Tind,T2,T1 out=T2 | 1+ T1=int4,uint4,uint8;T2=bfloat16,float,float16;Tind=IDX
Gelu in=T out=T | 1+ T=BFL
GemmFloat8 in=TA,TB,TC,TS,TS,TS out=TR | 1+ TA=bfloat16,float,float16,float8e4m3fn,float8e5m2;TB=bfloat16,float,float16,float8e4m3fn,float8e5m2;TR=bfloat16,float,float16,float8e4m3fn,float8e5m2;TS=float
GemmaRotaryEmbedding in=U,T,T,T,T out=T,T | 1+ T=float16;U=float
GreedySearch in=- out=- | 1+ T=float,float16
GridSample in=T1,T1 out=T2 | 1+ T1=float;T2=float
GroupNorm in=T,M,M out=T | 1+ T=float,float16
GroupQueryAttention in=T,T,T,T_CACHE,T_CACHE,M,M,T,T,int64,T,T,T_KV_SCALE,T_KV_SCALE out=T,T_CACHE,T_CACHE,T | 1+ M=int32;T=bfloat16,float16;T_CACHE=bfloat16,float16,float8e4m3fn,int8;T_KV_SCALE=float
Inverse in=T out=T | 1+ T=FL
Irfft in=T out=T | 1+ T=FL
LongformerAttention in=T,T,T,T,T,T,G out=T | 1+ T=float,float16
MatMulBnb4 in=T1,T2,T1 out=T1 | 1+ T1=bfloat16,float,float16;T2=uint8
MatMulNBits in=T1,T2,T1,T3,T4,T1 out=T1 | 1+ T1=bfloat16,float,float16;T2=uint8;T3=bfloat16,float,float16,uint8
MoE in=T,T,T,T,T,T,T,T out=T | 1+ T=bfloat16,float,float16
MultiHeadAttention in=T,T,T,T,M,T,T,T,M,M out=T,T,T,QK | 1+ QK=bfloat16,float,float16;T=bfloat16,float,float16
NGramRepeatBlock in=Tid,T out=T | 1+ T=float;Tid=int64
NhwcConv in=T,T,T out=T | 1+ T=float,float16
PackedAttention in=T,T,T,M,M,T out=T | 1+ T=float,float16
PackedMultiHeadAttention in=T,T,T,T,M,M,T out=T | 1+ T=float,float16
PagedAttention in=T,T,T,T,T,S,S,S,T,T out=T,T,T | 1+ S=int32;T=bfloat16,float16
QAttention in=T1,T2,T3,T3,T3,T4,T1,T2,T3 out=T3,T3 | 1+ T1=int8;T2=int8;T3=float,float16;T4=int32
QMoE in=T,T,T1,T2,T,T1,T2,T,T1,T2,T,T1,T1,T1 out=T | 1+ T=bfloat16,float16;T1=uint8;T2=bfloat16,float16
QOrderedAttention in=Q,S out=Q | 1+ G=int32;Q=int8;S=float
QOrderedGelu in=Q,S,S out=Q | 1+ Q=int8;S=float
QOrderedLayerNormalization in=Q,S,F,F,S out=Q | 1+ F=float,float16;Q=int8;S=float
QOrderedLongformerAttention in=Q,S out=Q | 1+ F=float16;G=int32;Q=int8;S=float
QOrderedMatMul in=Q,S,Q,S,S,S,Q,S out=Q | 1+ Q=int8;S=float
QuantizeLinear in=T1,T1,T2 out=T2 | 1+ T1=float16;T2=int8,uint8
QuantizeWithOrder in=F,S out=Q | 1+ F=float,float16;Q=int8;S=float
QuickGelu in=T out=T | 1+ T=BFL
RelativePositionBias in=T,U,U out=T | 1+ T=float,float16
RemovePadding in=T,M out=T,M,M,M | 1+ T=float,float16
RestorePadding in=T,M out=T | 1+ T=float,float16
Rfft in=T out=T | 1+ T=FL
RotaryEmbedding in=T,M,T,T out=T | 1+ M=int64;T=bfloat16,float,float16
Sampling in=- out=- | 1+ T=float,float16
SkipGroupNorm in=T,M,M,T,T out=T,T | 1+ T=float,float16
SkipLayerNormalization in=T,T,T,T,T out=T,U,U,T | 1+ T=bfloat16,float,float16
SkipSimplifiedLayerNormalization in=T,T,T,T out=T,U,U,T | 1+ T=bfloat16,float,float16
SparseAttention in=T,T,T,T,T,M,M,M,M,T,T out=T,T,T | 1+ M=int32;T=bfloat16,float16
TransposeMatMul in=T,T out=T | 1+ T=BFL
Trilu in=T,int64 out=T | 1+ T=ALL
UnfoldTensor in=T out=T | 1+ T=ALLS
WhisperBeamSearch in=- out=- | 1+ T=float,float16
`;
