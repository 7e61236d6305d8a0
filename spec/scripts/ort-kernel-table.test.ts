/**
 * The OperatorKernels.md converter reads the document's row format (signatures with several
 * variants, fixed types, sequence types, version ranges), and what it makes from rows of the
 * CUDA section agrees with the committed table for those ops.
 */
import test from 'ava';
import { kernelTableFromDoc } from '../../scripts/ort-kernel-table.ts';
import { lookupKernel, parseKernelTable } from '../../compiler/passes/kernel-table.ts';
import { cudaKernelTable } from '../../compiler/passes/op-coverage.ts';

// Rows in the document's format (not its full text): a CPU section, then the CUDA one.
const DOC = `## Operators implemented by CPUExecutionProvider

| Op Name | Parameters | OpSet Version | Types Supported |
|---------|------------|---------------|-----------------|
|**Operator Domain:** *ai.onnx*||||
|OneHot|*in* indices:**T1**<br> *in* depth:**T2**<br> *in* values:**T3**<br> *out* output:**T3**|11+|**T1** = tensor(float), tensor(int32), tensor(int64)<br/> **T2** = tensor(float), tensor(int32), tensor(int64)<br/> **T3** = tensor(double), tensor(float), tensor(int64)|

## Operators implemented by CUDAExecutionProvider

| Op Name | Parameters | OpSet Version | Types Supported |
|---------|------------|---------------|-----------------|
|**Operator Domain:** *ai.onnx*||||
|Add|*in* A:**T**<br> *in* B:**T**<br> *out* C:**T**|14+|**T** = tensor(bfloat16), tensor(double), tensor(float), tensor(float16), tensor(int16), tensor(int32), tensor(int64), tensor(int8), tensor(uint16), tensor(uint32), tensor(uint64), tensor(uint8)|
|||13|**T** = tensor(bfloat16), tensor(double), tensor(float), tensor(float16), tensor(int32), tensor(int64), tensor(uint32), tensor(uint64)|
|||[7, 12]|**T** = tensor(double), tensor(float), tensor(float16), tensor(int32), tensor(int64), tensor(uint32), tensor(uint64)|
|Expand|*in* input:**T**<br> *in* shape:**tensor(int64)**<br> *out* output:**T**|13+|**T** = tensor(bfloat16), tensor(bool), tensor(double), tensor(float), tensor(float16), tensor(int16), tensor(int32), tensor(int64), tensor(int8), tensor(uint16), tensor(uint32), tensor(uint64), tensor(uint8)|
|Identity|*in* input:**T**<br> *out* output:**T**<br><br>or<br><br>*in* input:**V**<br> *out* output:**V**|19+|**V** = seq(tensor(bfloat16)), seq(tensor(float)), tensor(bfloat16), tensor(bool), tensor(double), tensor(float), tensor(float16), tensor(float8e4m3fn), tensor(float8e4m3fnuz), tensor(float8e5m2), tensor(float8e5m2fnuz), tensor(int16), tensor(int32), tensor(int64), tensor(int8), tensor(uint16), tensor(uint32), tensor(uint64), tensor(uint8)|
|||13|**T** = tensor(bfloat16), tensor(bool), tensor(double), tensor(float), tensor(float16), tensor(int16), tensor(int32), tensor(int64), tensor(int8), tensor(uint16), tensor(uint32), tensor(uint64), tensor(uint8)|
|OneHot|*in* indices:**T1**<br> *in* depth:**T2**<br> *in* values:**T3**<br> *out* output:**T3**|11+|**T1** = tensor(int32), tensor(int64)<br/> **T2** = tensor(int32), tensor(int64)<br/> **T3** = tensor(float), tensor(float16), tensor(int64)|
| |
| |
|**Operator Domain:** *com.microsoft*||||
|FusedMatMul|*in* A:**T**<br> *in* B:**T**<br> *out* Y:**T**|1+|**T** = tensor(bfloat16), tensor(double), tensor(float), tensor(float16)|
| |
| |
|**Operator Domain:** *com.ms.internal.nhwc*||||
|Conv|*in* X:**T**<br> *in* W:**T**<br> *in* B:**T**<br> *out* Y:**T**|11+|**T** = tensor(float), tensor(float16)|
`;

test('the CUDA section becomes table lines: signatures merged over variants, fixed types kept, sequences and other domains left out', (t) => {
  const text = kernelTableFromDoc(DOC, 'CUDAExecutionProvider');
  const lines = text.trim().split('\n');
  t.deepEqual(lines.slice(0, 2), ['[ai.onnx]', 'Add in=T,T out=T | 14+ T=bfloat16,double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8 | 13 T=bfloat16,double,float,float16,int32,int64,uint32,uint64 | 7-12 T=double,float,float16,int32,int64,uint32,uint64']);
  t.true(lines.includes('Expand in=T,int64 out=T | 13+ T=bfloat16,bool,double,float,float16,int16,int32,int64,int8,uint16,uint32,uint64,uint8'));
  t.regex(text, /^Identity in=T\|V out=T\|V \| 19\+ V=bfloat16,bool,double,float,float16,float8e4m3fn,/m);
  t.notRegex(text, /seq/);
  t.false(text.includes('[com.ms.internal.nhwc]'));
  t.regex(text, /\[com\.microsoft\]\nFusedMatMul in=T,T out=T \| 1\+ T=bfloat16,double,float,float16\n$/);
  t.regex(kernelTableFromDoc(DOC, 'CPUExecutionProvider'), /OneHot in=T1,T2,T3 out=T3 \| 11\+ .*T3=double,float,int64/);
});

test('what the converter reads from those rows answers as the committed CUDA table does', (t) => {
  const fromDoc = parseKernelTable(kernelTableFromDoc(DOC, 'CUDAExecutionProvider'), {});
  const committed = cudaKernelTable();
  const cases: [string, string, number, (string | undefined)[], (string | undefined)[]][] = [
    ['', 'Add', 14, ['int8', 'int8'], ['int8']], ['', 'Add', 13, ['int8', 'int8'], ['int8']], ['', 'Add', 12, ['bfloat16', 'bfloat16'], ['bfloat16']],
    ['', 'Add', 6, ['float', 'float'], ['float']], ['', 'Expand', 18, ['float', 'int64'], ['float']], ['', 'Expand', 18, ['float', 'int32'], ['float']],
    ['', 'Identity', 13, ['float'], ['float']], ['', 'Identity', 21, ['float8e5m2'], ['float8e5m2']], ['', 'Identity', 13, ['string'], ['string']],
    ['', 'OneHot', 18, ['int64', 'int64', 'double'], ['double']], ['', 'OneHot', 18, ['int64', 'int64', 'float'], ['float']],
    ['com.microsoft', 'FusedMatMul', 1, ['double', 'double'], ['double']], ['com.microsoft', 'FusedMatMul', 1, ['int32', 'int32'], ['int32']],
  ];
  for (const [domain, op, opset, ins, outs] of cases) {
    t.deepEqual(lookupKernel(fromDoc, domain, op, opset, ins, outs).ok, lookupKernel(committed, domain, op, opset, ins, outs).ok, `${op} ${opset} ${ins.join(',')}`);
  }
  t.false(lookupKernel(fromDoc, '', 'OneHot', 18, ['int64', 'int64', 'double'], ['double']).ok);
});
