import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, float32Entry, float32Values, type SafetensorsTensor } from '../../contract/safetensors.ts';
import { readSafetensors, writeSafetensors } from '../../contract/safetensors-file.ts';

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file assembled by hand from the format description, as Hugging Face's writer lays it out. */
function handMadeFile(header: string, data: Uint8Array): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('reads a file written to the specification by hand', (t) => {
  const w = Float32Array.from([1, -2, 3.5, 0.25]);
  const ids = BigInt64Array.from([7n, -1n]);
  const header = '{"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}   ';
  const file = decodeSafetensors(handMadeFile(header, new Uint8Array([...bytesOf(ids), ...bytesOf(w)])));
  t.deepEqual(file.metadata, { format: 'pt' });
  t.deepEqual([...file.tensors.keys()], ['ids', 'w']);
  t.deepEqual(file.tensors.get('w')!.shape, [2, 2]);
  t.deepEqual([...float32Values(file.tensors.get('w')!, 'w')], [1, -2, 3.5, 0.25]);
  const got = file.tensors.get('ids')!;
  t.deepEqual([...new BigInt64Array(got.data.slice().buffer)], [7n, -1n]);
});

test('round-trips tensors, metadata, scalars and empty tensors through a file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lor2c-st-'));
  const path = join(dir, 'a.safetensors');
  const tensors = new Map<string, SafetensorsTensor>([
    ['lor2c.m0.A', float32Entry([2, 3], Float32Array.from([0.1, 0.2, 0.3, -0.4, 5e-8, 1e30]))],
    ['scalar', float32Entry([], Float32Array.from([42]))],
    ['empty', float32Entry([0, 4], new Float32Array(0))],
    ['bytes', { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 255]) }],
    ['half', { dtype: 'F16', shape: [1], data: Uint8Array.from([0x00, 0x3c]) }],
  ]);
  writeSafetensors(path, tensors, { note: 'hi' });
  t.deepEqual(readdirSync(dir), ['a.safetensors'], 'no temporary file is left behind');
  const raw = readFileSync(path);
  const headerLength = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true));
  t.is(headerLength % 8, 0, 'header padded to 8 bytes');
  const back = readSafetensors(path);
  t.deepEqual(back.metadata, { note: 'hi' });
  for (const [name, entry] of tensors) {
    const got = back.tensors.get(name)!;
    t.is(got.dtype, entry.dtype, name);
    t.deepEqual(got.shape, entry.shape, name);
    t.deepEqual([...got.data], [...entry.data], name);
  }
  // Every tensor starts aligned to its element size within the data section.
  const dataStart = 8 + headerLength;
  for (const [name, size] of [['lor2c.m0.A', 4], ['scalar', 4], ['half', 2]] as const) {
    t.is((back.tensors.get(name)!.data.byteOffset - raw.byteOffset - dataStart) % size, 0, name);
  }
});

test('encoding is deterministic', (t) => {
  const a = { x: float32Entry([2], Float32Array.from([1, 2])), y: float32Entry([1], Float32Array.from([3])) };
  const b = { y: a.y, x: a.x };
  t.deepEqual(encodeSafetensors(a), encodeSafetensors(b));
});

const F32x2 = bytesOf(Float32Array.from([1, 2]));
const corrupt: { name: string; file: () => Uint8Array; message: RegExp }[] = [
  { name: 'too short', file: () => new Uint8Array(5), message: /shorter than the 8-byte header length/ },
  {
    name: 'header length beyond the file',
    file: () => { const b = handMadeFile('{}', new Uint8Array()); new DataView(b.buffer).setBigUint64(0, 1000n, true); return b; },
    message: /runs past the end/,
  },
  {
    name: 'header length over the bound',
    file: () => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 2n ** 40n, true); return b; },
    message: /exceeds the 100000000-byte limit/,
  },
  { name: 'not JSON', file: () => handMadeFile('{nope', new Uint8Array()), message: /not UTF-8 JSON/ },
  { name: 'not an object', file: () => handMadeFile('[1,2]', new Uint8Array()), message: /does not start with/ },
  { name: 'unknown dtype', file: () => handMadeFile('{"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}', F32x2), message: /unknown dtype "F128"/ },
  { name: 'negative dim', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', F32x2), message: /malformed shape/ },
  { name: 'offsets past the data', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', F32x2), message: /beyond the 8-byte data section/ },
  { name: 'byte length disagrees with shape', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', F32x2), message: /needs 12 bytes but data_offsets \[0, 8\] hold 8/ },
  {
    name: 'overlapping tensors',
    file: () => handMadeFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', F32x2),
    message: /overlaps the previous tensor/,
  },
  { name: 'a hole', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', F32x2), message: /a gap of 4 bytes precedes tensor 'a'/ },
  { name: 'trailing bytes', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', F32x2), message: /4 bytes after the last tensor/ },
  { name: 'reversed offsets', file: () => handMadeFile('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', F32x2), message: /end before they begin/ },
  { name: 'non-string metadata', file: () => handMadeFile('{"__metadata__":{"k":1}}', new Uint8Array()), message: /__metadata__\.k is not a string/ },
];

for (const c of corrupt) {
  test(`rejects a corrupt file: ${c.name}`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lor2c-st-'));
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, c.file());
    const e = t.throws(() => readSafetensors(path));
    t.regex(e!.message, c.message);
    t.true(e!.message.startsWith(path), 'the error names the file');
    t.is(e!.name, 'UserError');
  });
}

test('float32Values refuses other dtypes with the tensor name', (t) => {
  t.throws(() => float32Values({ dtype: 'F16', shape: [1], data: new Uint8Array(2) }, 'lor2c.m1.B'), { message: /'lor2c.m1.B' is F16/ });
});
