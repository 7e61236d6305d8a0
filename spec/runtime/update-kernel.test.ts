/**
 * The update kernel in WebAssembly computes each instruction as one float32 operation: its
 * values equal a float32 reference bit for bit over blocks and tails of every length, outputs
 * may overwrite inputs, and a block with a NaN or an infinity is left unwritten and named.
 */
import test from 'ava';
import type { KernelOperand, UpdateKernel } from '../../contract/manifest.ts';
import { UpdateKernelRunner } from '../../runtime/update-kernel.ts';
import { mulberry32 } from '../../compiler/adapters/init.ts';

/** AdamW's shape of code: every op, scalars and registers on either side, a register read twice. */
const kernel: UpdateKernel = {
  inputs: ['p', 'g', 'm'],
  scalars: [{ value: 0.9 }, { output: 'operand.0' }, { value: 1e-8 }, { output: 'operand.1' }],
  code: [
    { op: 'Mul', args: [{ register: 2 }, { scalar: 0 }] }, // 3: m b1
    { op: 'Mul', args: [{ register: 1 }, { register: 1 }] }, // 4: g^2
    { op: 'Add', args: [{ register: 3 }, { register: 4 }] }, // 5
    { op: 'Sqrt', args: [{ register: 5 }] }, // 6
    { op: 'Add', args: [{ register: 6 }, { scalar: 2 }] }, // 7
    { op: 'Div', args: [{ register: 1 }, { register: 7 }] }, // 8
    { op: 'Mul', args: [{ scalar: 1 }, { register: 8 }] }, // 9
    { op: 'Sub', args: [{ register: 0 }, { register: 9 }] }, // 10
    { op: 'Neg', args: [{ register: 10 }] }, // 11
    { op: 'Where', args: [{ scalar: 3 }, { register: 11 }, { register: 2 }] }, // 12: the flag picks -p' or m
  ],
  outputs: [{ name: 'p.next', register: 10 }, { name: 'm.next', register: 5 }, { name: 'neg', register: 11 }, { name: 'picked', register: 12 }],
};

/** The same code in JS, each operation rounded to float32. */
function reference(k: UpdateKernel, inputs: Float32Array[], scalars: Float32Array): Float32Array[] {
  const n = inputs[0]!.length;
  const f = Math.fround;
  return k.outputs.map((o) => Float32Array.from({ length: n }, (_, i) => {
    const reg: number[] = inputs.map((a) => a[i]!);
    const value = (a: KernelOperand) => ('register' in a ? reg[a.register]! : scalars[a.scalar]!);
    for (const c of k.code) {
      const [x, y, z] = c.args.map(value) as [number, number, number];
      reg.push(c.op === 'Add' ? f(x + y) : c.op === 'Sub' ? f(x - y) : c.op === 'Mul' ? f(x * y) : c.op === 'Div' ? f(x / y) : c.op === 'Sqrt' ? f(Math.sqrt(x)) : c.op === 'Where' ? (x !== 0 ? y : z) : f(-x));
    }
    return reg[o.register]!;
  }));
}

function data(n: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  // Spread over many magnitudes, with zeros, subnormals and signs.
  const value = () => {
    const r = rand();
    if (r < 0.05) return 0;
    if (r < 0.1) return (rand() - 0.5) * 1e-40;
    return (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 6);
  };
  // m non-negative, as a second moment is: the square root stays real.
  return [0, 1, 2].map((j) => Float32Array.from({ length: n }, () => (j === 2 ? Math.abs(value()) : value())));
}

for (const [n, block] of [[0, 8], [1, 8], [3, 8], [37, 8], [1000, 37], [4096, 8192], [10_003, 64]] as const) {
  test(`${n} values in blocks of ${block}: the reference's bits`, (t) => {
    const inputs = data(n, n + block);
    // The flag on in some cases, off in others.
    const scalars = Float32Array.of(Math.fround(0.9), Math.fround(3e-4), Math.fround(1e-8), n % 2);
    const want = reference(kernel, inputs, scalars);
    const got = kernel.outputs.map(() => new Float32Array(n));
    t.is(new UpdateKernelRunner(kernel, block).apply(inputs, scalars, got), undefined);
    got.forEach((g, q) => t.true(g.every((v, i) => Object.is(v, want[q]![i])), `${kernel.outputs[q]!.name} differs`));
  });
}

test('outputs written over their inputs: each block is read before it is written', (t) => {
  const inputs = data(999, 7);
  const scalars = Float32Array.of(0.5, 2, 1, 1);
  const want = reference(kernel, inputs, scalars);
  const [p, , m] = inputs as [Float32Array, Float32Array, Float32Array];
  const neg = new Float32Array(999);
  const picked = new Float32Array(999);
  t.is(new UpdateKernelRunner(kernel, 16).apply(inputs, scalars, [p, m, neg, picked]), undefined);
  t.true(p.every((v, i) => Object.is(v, want[0]![i])));
  t.true(m.every((v, i) => Object.is(v, want[1]![i])));
});

for (const [where, at] of [['in a vector of four', 40], ['in the last values, one at a time', 46]] as const) {
  test(`a non-finite value ${where}: its block and the rest stay unwritten, the earlier blocks are written`, (t) => {
    const inputs = data(47, 3);
    inputs[1]![at] = Number.POSITIVE_INFINITY; // g: inf / inf in the update, inf in the square
    const scalars = Float32Array.of(0.9, 1e-3, 1e-8, 0);
    const got = kernel.outputs.map(() => new Float32Array(47).fill(7));
    const refused = new UpdateKernelRunner(kernel, 16).apply(inputs, scalars, got);
    t.deepEqual(refused, { from: 32, to: 46, outputs: ['p.next', 'm.next', 'neg'] }, 'picked is m here, finite');
    const want = reference(kernel, inputs, scalars);
    t.true(got[0]!.subarray(0, 32).every((v, i) => Object.is(v, want[0]![i])), 'the blocks before it');
    t.true(got[0]!.subarray(32).every((v) => v === 7), 'its block and after: untouched');
  });
}

test('a NaN scalar makes every block non-finite: nothing is written', (t) => {
  const inputs = data(20, 5);
  const got = kernel.outputs.map(() => new Float32Array(20));
  t.deepEqual(new UpdateKernelRunner(kernel, 8).apply(inputs, Float32Array.of(0.9, Number.NaN, 1e-8, 1), got)?.from, 0);
  t.true(got[0]!.every((v) => v === 0));
});

test('a malformed kernel in a manifest is refused with what is wrong, not compiled', (t) => {
  const broken: [string, UpdateKernel, RegExp][] = [
    ['a register read before it is written', { ...kernel, code: [{ op: 'Mul', args: [{ register: 3 }, { scalar: 0 }] }] }, /instruction 0 \(Mul\) reads \{"register":3\}/],
    ['an unknown op', { ...kernel, code: [{ op: 'Exp' as 'Neg', args: [{ register: 0 }] }] }, /the op "Exp"/],
    ['a missing operand', { ...kernel, code: [{ op: 'Add', args: [{ register: 0 }] }] }, /1 operands, not 2/],
    ['a scalar out of range', { ...kernel, code: [{ op: 'Add', args: [{ register: 0 }, { scalar: 9 }] }] }, /reads \{"scalar":9\}/],
    ['an output past the registers', { ...kernel, outputs: [{ name: 'p.next', register: 99 }] }, /output "p.next" names register 99/],
    ['a condition per element', { ...kernel, code: [{ op: 'Where', args: [{ register: 0 }, { register: 1 }, { register: 2 }] }] }, /condition per element/],
  ];
  for (const [what, k, message] of broken) {
    const e = t.throws(() => new UpdateKernelRunner(k), undefined, what);
    t.regex(e!.message, message, what);
    t.is(e!.name, 'UserError', what);
  }
});
