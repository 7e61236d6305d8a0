/**
 * The split update's kernel (contract/manifest.ts UpdateKernel, read off the update graph by
 * compiler/train/update-kernel.ts) compiled to WebAssembly and run over the parameters in place.
 *
 * The code is straight-line float32 arithmetic: four values at a time with SIMD (f32x4), the
 * last few one at a time. Each instruction is one IEEE-754 operation with round-to-nearest, in
 * WebAssembly as in ORT's CPU kernels, and WebAssembly never fuses a multiply and an add, so the
 * kernel writes the update graph's bits (spec/runtime/update-kernel.test.ts compares them).
 *
 * The values pass through the module's memory a block at a time (BLOCK values of each input and
 * output, a few hundred KiB: they stay in the cache while the code runs over them), and every
 * value written is checked finite: a block with a NaN or an infinity is not copied back.
 *
 * The module is compiled synchronously: AdamW's is 682 bytes, well under the 4 KiB that Chrome
 * allows a synchronous compile on a page's main thread.
 */
import { UserError } from '../contract/errors.ts';
import { KERNEL_OPS, type KernelOp, type KernelOperand, type UpdateKernel } from '../contract/manifest.ts';

/** Values per block: 8K float32 values, 32 KiB of each stream. */
export const KERNEL_BLOCK = 1 << 13;

const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

/** Unsigned LEB128. */
function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function s32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** The opcodes used, by their names in the WebAssembly text format. */
const OP = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, voidType: 0x40, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, i32Eqz: 0x45, i32GeU: 0x4f, i32Add: 0x6a, i32And: 0x71, i32Or: 0x72, i32Shl: 0x74,
  f32Load: 0x2a, f32Store: 0x38, f32Const: 0x43, f32Eq: 0x5b, f32Ne: 0x5c,
  f32Neg: 0x8c, f32Sqrt: 0x91, f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Div: 0x95,
} as const;
/** The SIMD opcodes used (after the 0xfd prefix). */
const SIMD = {
  v128Load: 0x00, v128Store: 0x0b, v128Const: 0x0c, f32x4Splat: 0x13, f32x4Eq: 0x41, f32x4Ne: 0x42,
  v128Not: 0x4d, v128Or: 0x50, v128Bitselect: 0x52, v128AnyTrue: 0x53,
  f32x4Neg: 0xe1, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7,
} as const;

const section = (id: number, body: number[]) => [id, ...u32(body.length), ...body];
const vec = (items: number[][]) => [...u32(items.length), ...items.flat()];
const name = (s: string) => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const simd = (op: number) => [0xfd, ...u32(op)];

/** The instruction bytes of each kernel op, after its operands: vector (f32x4) and scalar (f32) forms. */
const OPS: Record<KernelOp, { vector: number[]; scalar: number[] }> = {
  Add: { vector: simd(SIMD.f32x4Add), scalar: [OP.f32Add] },
  Sub: { vector: simd(SIMD.f32x4Sub), scalar: [OP.f32Sub] },
  Mul: { vector: simd(SIMD.f32x4Mul), scalar: [OP.f32Mul] },
  Div: { vector: simd(SIMD.f32x4Div), scalar: [OP.f32Div] },
  Sqrt: { vector: simd(SIMD.f32x4Sqrt), scalar: [OP.f32Sqrt] },
  Neg: { vector: simd(SIMD.f32x4Neg), scalar: [OP.f32Neg] },
  // Where(c, x, y), pushed as x, y, c: the lanes where c != 0 take x's bits (v128.bitselect),
  // or the scalar select does.
  Where: {
    vector: [...simd(SIMD.v128Const), ...new Array(16).fill(0), ...simd(SIMD.f32x4Ne), ...simd(SIMD.v128Bitselect)],
    scalar: [OP.f32Const, 0, 0, 0, 0, OP.f32Ne, OP.select],
  },
};

/** Byte layout of the module's memory: each input's block, each output's block, then the scalars. */
interface Layout {
  inputAt: (j: number) => number;
  outputAt: (q: number) => number;
  scalarsAt: number;
  bytes: number;
}

function layout(k: UpdateKernel, block: number): Layout {
  // Each stream starts 16-byte aligned, for the f32x4 loads and stores.
  const stream = Math.ceil(block / 4) * 16;
  const streams = k.inputs.length + k.outputs.length;
  return { inputAt: (j) => j * stream, outputAt: (q) => (k.inputs.length + q) * stream, scalarsAt: streams * stream, bytes: streams * stream + 4 * k.scalars.length };
}

/**
 * The module: `run(n)` computes n values from the inputs' blocks into the outputs' blocks and
 * returns 1 when any value written is NaN or infinite, else 0.
 */
function moduleBytes(k: UpdateKernel, at: Layout): Uint8Array<ArrayBuffer> {
  const S = k.scalars.length;
  const R = k.inputs.length + k.code.length;
  // Locals after the parameter n (0): i (byte offset), vend, badScalar; bad, vtmp, S splats,
  // R vector registers; ftmp, S scalars, R scalar registers.
  const [N, I, VEND, BADS, BAD, VTMP] = [0, 1, 2, 3, 4, 5];
  const vScalar = (s: number) => 6 + s;
  const vReg = (r: number) => 6 + S + r;
  const FTMP = 6 + S + R;
  const fScalar = (s: number) => 7 + S + R + s;
  const fReg = (r: number) => 7 + 2 * S + R + r;
  const get = (l: number) => [OP.localGet, ...u32(l)];
  const set = (l: number) => [OP.localSet, ...u32(l)];
  const tee = (l: number) => [OP.localTee, ...u32(l)];
  const i32 = (v: number) => [OP.i32Const, ...s32(v)];
  const memarg = (align: number, offset: number) => [...u32(align), ...u32(offset)];
  const operand = (a: KernelOperand, vector: boolean) => ('register' in a ? get(vector ? vReg(a.register) : fReg(a.register)) : get(vector ? vScalar(a.scalar) : fScalar(a.scalar)));
  // Loads and stores at byte offset i of a stream: 16-byte vectors (align 2^4) or 4-byte floats (2^2).
  const load = (vector: boolean, at: number) => (vector ? [...simd(SIMD.v128Load), ...memarg(4, at)] : [OP.f32Load, ...memarg(2, at)]);
  const store = (vector: boolean, at: number) => (vector ? [...simd(SIMD.v128Store), ...memarg(4, at)] : [OP.f32Store, ...memarg(2, at)]);

  const body: number[] = [];
  // The scalars, read once: as f32 and splatted to f32x4.
  for (let s = 0; s < S; s++) body.push(...i32(0), OP.f32Load, ...memarg(2, at.scalarsAt + 4 * s), ...tee(fScalar(s)), ...simd(SIMD.f32x4Splat), ...set(vScalar(s)));
  // vend = (n & ~3) * 4: the bytes covered four values at a time.
  body.push(...get(N), ...i32(-4), OP.i32And, ...i32(2), OP.i32Shl, ...set(VEND));
  /** One loop over the values: i from where it stands to `end` (bytes), 16 or 4 bytes a turn. */
  const pass = (vector: boolean, end: number[]) => {
    body.push(OP.block, OP.voidType, OP.loop, OP.voidType, ...get(I), ...end, OP.i32GeU, OP.brIf, ...u32(1));
    k.inputs.forEach((_, j) => body.push(...get(I), ...load(vector, at.inputAt(j)), ...set(vector ? vReg(j) : fReg(j))));
    k.code.forEach((c, x) => {
      // Where's condition comes last on the stack: the selects take it after both values.
      const args = c.op === 'Where' ? [c.args[1]!, c.args[2]!, c.args[0]!] : c.args;
      for (const a of args) body.push(...operand(a, vector));
      body.push(...(vector ? OPS[c.op].vector : OPS[c.op].scalar), ...set(vector ? vReg(k.inputs.length + x) : fReg(k.inputs.length + x)));
    });
    k.outputs.forEach((o, q) => {
      const r = vector ? vReg(o.register) : fReg(o.register);
      body.push(...get(I), ...get(r), ...store(vector, at.outputAt(q)));
      // x - x is 0 for every finite x and NaN for NaN and both infinities; NaN != NaN.
      if (vector) body.push(...get(BAD), ...get(r), ...get(r), ...simd(SIMD.f32x4Sub), ...tee(VTMP), ...get(VTMP), ...simd(SIMD.f32x4Eq), ...simd(SIMD.v128Not), ...simd(SIMD.v128Or), ...set(BAD));
      else body.push(...get(BADS), ...get(r), ...get(r), OP.f32Sub, ...tee(FTMP), ...get(FTMP), OP.f32Eq, OP.i32Eqz, OP.i32Or, ...set(BADS));
    });
    body.push(...get(I), ...i32(vector ? 16 : 4), OP.i32Add, ...set(I), OP.br, ...u32(0), OP.end, OP.end);
  };
  pass(true, get(VEND));
  pass(false, [...get(N), ...i32(2), OP.i32Shl]);
  body.push(...get(BAD), ...simd(SIMD.v128AnyTrue), ...get(BADS), OP.i32Or, OP.end);

  const locals = vec([[...u32(3), I32], [...u32(2 + S + R), V128], [...u32(1 + S + R), F32]]);
  const func = [...locals, ...body];
  const pages = Math.max(1, Math.ceil(at.bytes / 65536));
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])),
    ...section(3, vec([u32(0)])),
    ...section(5, vec([[0x00, ...u32(pages)]])),
    ...section(7, vec([[...name('run'), 0x00, ...u32(0)], [...name('mem'), 0x02, ...u32(0)]])),
    ...section(10, vec([[...u32(func.length), ...func]])),
  ]);
}

/**
 * What is wrong with a kernel read from a manifest, if anything: every operand names a scalar
 * or a register written before it, every op has its operand count, every output a register.
 */
function kernelProblem(k: UpdateKernel): string | undefined {
  const count = (v: unknown) => (Array.isArray(v) ? v.length : -1);
  if (count(k?.inputs) < 1 || count(k.scalars) < 0 || count(k.code) < 0 || count(k.outputs) < 1) return 'it needs inputs, scalars, code and outputs as lists';
  const index = (v: unknown, below: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < below;
  const has = (v: unknown, key: string) => typeof v === 'object' && v !== null && key in v;
  for (const [x, c] of k.code.entries()) {
    if (!Object.hasOwn(KERNEL_OPS, c?.op)) return `instruction ${x} has the op ${JSON.stringify(c?.op)}`;
    const arity = KERNEL_OPS[c.op];
    if (count(c.args) !== arity) return `instruction ${x} (${c.op}) has ${count(c.args)} operands, not ${arity}`;
    if (c.op === 'Where' && !has(c.args[0], 'scalar')) return `instruction ${x} (Where) has a condition per element; it takes one per parameter`;
    for (const a of c.args) {
      const ok = has(a, 'register') ? index((a as { register: unknown }).register, k.inputs.length + x) : has(a, 'scalar') ? index((a as { scalar: unknown }).scalar, k.scalars.length) : false;
      if (!ok) return `instruction ${x} (${c.op}) reads ${JSON.stringify(a)}, which is not a scalar or a register written before it`;
    }
  }
  for (const o of k.outputs) if (!index(o?.register, k.inputs.length + k.code.length)) return `output ${JSON.stringify(o?.name)} names register ${JSON.stringify(o?.register)}`;
  for (const [i, sc] of k.scalars.entries()) if (!((has(sc, 'value') && typeof (sc as { value: unknown }).value === 'number') || (has(sc, 'output') && typeof (sc as { output: unknown }).output === 'string'))) return `scalar ${i} is neither a value nor an output`;
  return undefined;
}

/** A block with a non-finite value: its values' range and the outputs that had one. */
export interface KernelRefusal {
  from: number;
  to: number;
  outputs: string[];
}

/** One kernel, compiled once, run over any number of parameters. */
export class UpdateKernelRunner {
  private readonly run: (n: number) => number;
  private readonly memory: Float32Array;
  private readonly at: Layout;

  constructor(readonly kernel: UpdateKernel, readonly block = KERNEL_BLOCK) {
    if (!Number.isInteger(block) || block < 1) throw new Error(`internal error: a kernel block is a positive number of values, not ${block}`);
    const wrong = kernelProblem(kernel);
    if (wrong) throw new UserError(`the artifacts' update kernel (manifest.json graphs.update.kernel) is malformed: ${wrong}`, 'recompile the artifacts with `lor2c compile`');
    this.at = layout(kernel, block);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(kernel, this.at)));
    const exports = instance.exports as { run: (n: number) => number; mem: WebAssembly.Memory };
    this.run = exports.run;
    this.memory = new Float32Array(exports.mem.buffer);
  }

  /**
   * Computes every value of `inputs` (in kernel.inputs order, equal lengths) with `scalars` (in
   * kernel.scalars order, the computed ones filled in), writing kernel.outputs into `outputs`
   * block by block. An output may be an input's array: a block is read before it is written.
   * Stops at the first block with a non-finite value, leaving it and what follows unwritten.
   */
  apply(inputs: readonly Float32Array[], scalars: Float32Array, outputs: readonly Float32Array[]): KernelRefusal | undefined {
    const { memory, at, block } = this;
    memory.set(scalars, at.scalarsAt / 4);
    const n = inputs[0]?.length ?? 0;
    for (let lo = 0; lo < n; lo += block) {
      const hi = Math.min(n, lo + block);
      inputs.forEach((a, j) => memory.set(a.subarray(lo, hi), at.inputAt(j) / 4));
      if (this.run(hi - lo) !== 0) return { from: lo, to: hi - 1, outputs: this.kernel.outputs.filter((_, q) => !this.written(q, hi - lo).every(Number.isFinite)).map((o) => o.name) };
      outputs.forEach((a, q) => a.set(this.written(q, hi - lo), lo));
    }
    return undefined;
  }

  /** The first n values of output q's block. */
  private written(q: number, n: number): Float32Array {
    const from = this.at.outputAt(q) / 4;
    return this.memory.subarray(from, from + n);
  }
}
