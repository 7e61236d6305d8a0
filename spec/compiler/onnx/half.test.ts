/** Float16 / bfloat16 bit patterns against values fixed by IEEE 754 (and bfloat16's definition). */
import test from 'ava';
import { bfloat16ToFloat, floatToHalf, halfToFloat } from '../../../compiler/onnx/index.ts';

test('float16 encodes and decodes normals, subnormals, limits and ties to even', (t) => {
  const cases: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [0, 0x0000], [0.1, 0x2e66]];
  for (const [value, bits] of cases) {
    t.is(floatToHalf(value), bits, `encode ${value}`);
    t.is(halfToFloat(bits), value === 0.1 ? 0.0999755859375 : value, `decode ${bits.toString(16)}`);
  }
  t.is(floatToHalf(1 + 2 ** -11), 0x3c00, 'a tie rounds to the even mantissa');
  t.is(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  t.is(floatToHalf(65520), 0x7c00, 'beyond the largest half: infinity');
  t.is(floatToHalf(2 ** -26), 0x0000, 'below half the smallest subnormal: zero');
  t.is(halfToFloat(0x7c00), Infinity);
  t.true(Number.isNaN(halfToFloat(0x7e00)));
  t.is(floatToHalf(-0), 0x8000);
});

test('bfloat16 is the top half of a float32', (t) => {
  t.is(bfloat16ToFloat(0x3f80), 1);
  t.is(bfloat16ToFloat(0xc0a0), -5);
  t.is(bfloat16ToFloat(0xc61c), -9984);
});
