/**
 * Writes a LLaMA-shaped base as its float16 export (`model.half()`), streaming each weight to
 * the data file as it is made: memory holds one weight at a time, so a 7B-shaped base (13.5 GB
 * of float16) is written on a machine with less memory than that. The values are distinct per
 * tensor (a hash of its name seeds them) and small (|x| in [2^-9, 2^-5)), not a trained
 * model's: `lor2c compile` never reads them.
 *
 *   npx tsx bench/write-half-llama.ts --out DIR/base.onnx [--layers 32] [--d 4096] [--ffn 11008]
 *        [--heads 32] [--kv-heads 32] [--vocab 32000] [--max-positions 4096]
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { renameInto, temporaryName } from '../contract/atomic.ts';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { create, DataLocation, DataType, StringStringEntryProtoSchema, TensorProtoSchema, makeTensor, writeModel, type TensorProto } from '../compiler/onnx/index.ts';
import { buildLlama, toHalfExport } from '../examples/models/index.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' }, layers: { type: 'string', default: '32' }, d: { type: 'string', default: '4096' }, ffn: { type: 'string', default: '11008' },
    heads: { type: 'string', default: '32' }, 'kv-heads': { type: 'string', default: '32' }, vocab: { type: 'string', default: '32000' }, 'max-positions': { type: 'string', default: '4096' },
  },
});
if (!values.out) throw new Error('--out is required');
const out = values.out;
const dataPath = `${out}.data`;
const tmp = temporaryName(dataPath, 'partial');
const fd = openSync(tmp, 'w');
let size = 0;
const INLINE = 64 << 10;

/** Half bits for |x| in [2^-9, 2^-5), from a xorshift stream seeded by the name. */
function halfValues(name: string, count: number): Uint16Array {
  let s = 2166136261;
  for (let i = 0; i < name.length; i++) s = Math.imul(s ^ name.charCodeAt(i), 16777619);
  s = s >>> 0 || 1;
  const v = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    v[i] = ((s >>> 31) << 15) | ((6 + ((s >>> 10) & 3)) << 10) | (s & 0x3ff);
  }
  return v;
}

function parameter(name: string, dims: number[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  const values = halfValues(name, count);
  if (values.byteLength < INLINE) return makeTensor(name, DataType.FLOAT16, dims, values);
  const offset = Math.ceil(size / 4096) * 4096;
  const bytes = new Uint8Array(values.buffer);
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
  size = offset + bytes.length;
  const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
  return create(TensorProtoSchema, {
    name, dataType: DataType.FLOAT16, dims: dims.map(BigInt), dataLocation: DataLocation.EXTERNAL,
    externalData: [entry('location', basename(dataPath)), entry('offset', String(offset)), entry('length', String(bytes.length))],
  });
}

const n = (k: keyof typeof values) => Number(values[k]);
const { model } = buildLlama({ layers: n('layers'), dModel: n('d'), ffn: n('ffn'), heads: n('heads'), kvHeads: n('kv-heads'), vocabSize: n('vocab'), maxPositions: n('max-positions') }, parameter);
closeSync(fd);
// The rest (Casts, outputs, float Constants) as a half export has them; the weights are half already.
toHalfExport(model);
writeModel(model, out, { threshold: Infinity });
renameInto(tmp, dataPath);
console.log(`wrote ${out}: ${model.graph!.initializer.length} float16 weights, ${size} bytes of external data`);
