/**
 * The attribute parsers every rule shares: ONNX's defaults and the opset at which an operand
 * moved from an attribute to an input, as data (one row per case).
 */
import test from 'ava';
import { makeAttrs, type Attrs } from '../../../compiler/graph/attributes.ts';
import type { Node } from '../../../compiler/graph/graph.ts';
import { listOperand, padAttributes, swapsLastTwoAxes, transposePerm } from '../../../compiler/ops/attributes.ts';
import { LIST_OPERANDS } from '../../../compiler/ops/list-operands.ts';

const node = (opType: string, inputs: string[], attrs: Attrs = {}): Node => ({ name: 'n', opType, domain: '', inputs, outputs: ['y'], attributes: makeAttrs(attrs) });

test('Transpose: the perm attribute, or the axes reversed when the rank is known', (t) => {
  t.deepEqual(transposePerm(node('Transpose', ['x'], { perm: [0, 2, 1] }), 3), [0, 2, 1]);
  t.deepEqual(transposePerm(node('Transpose', ['x']), 3), [2, 1, 0]);
  t.is(transposePerm(node('Transpose', ['x']), undefined), undefined);
});

const swaps: [string, number[] | undefined, number | undefined, boolean][] = [
  ['2-D swap', [1, 0], 2, true],
  ['batched swap of the last two', [0, 1, 3, 2], 4, true],
  ['no perm at rank 2 (reversal)', undefined, 2, true],
  ['no perm at unknown rank (read as 2-D)', undefined, undefined, true],
  ['no perm at rank 3 (reversal moves the batch axis)', undefined, 3, false],
  ['last two swapped but leading axes permuted too', [1, 0, 3, 2], 4, false],
  ['identity', [0, 1], 2, false],
];
for (const [what, perm, rank, expected] of swaps) {
  test(`swapsLastTwoAxes: ${what}`, (t) => {
    t.is(swapsLastTwoAxes(node('Transpose', ['x'], perm ? { perm } : {}), rank), expected);
  });
}

test('Pad: pads as Pad-1 paddings, as the pads attribute, then as input 1', (t) => {
  t.deepEqual(padAttributes(node('Pad', ['x'], { paddings: [1, 0, 1, 0] }), 1).pads, { kind: 'attribute', values: [1, 0, 1, 0] });
  t.deepEqual(padAttributes(node('Pad', ['x'], { pads: [0, 2, 0, 2], value: 1.5 }), 2), {
    mode: 'constant',
    pads: { kind: 'attribute', values: [0, 2, 0, 2] },
    constantValue: { kind: 'attribute', value: 1.5 },
    axes: { kind: 'absent' },
  });
  t.deepEqual(padAttributes(node('Pad', ['x', 'p', 'v'], { mode: 'reflect' }), 13), {
    mode: 'reflect',
    pads: { kind: 'input', index: 1, value: 'p' },
    constantValue: { kind: 'input', index: 2, value: 'v' },
    axes: { kind: 'absent' },
  });
  // Opset 18's axes input; an omitted fill value ('') is absent.
  const at18 = padAttributes(node('Pad', ['x', 'p', '', 'a']), 18);
  t.deepEqual([at18.constantValue, at18.axes], [{ kind: 'absent' }, { kind: 'input', index: 3, value: 'a' }]);
  // Before opset 18 a fourth input is not axes.
  t.deepEqual(padAttributes(node('Pad', ['x', 'p', '', 'a']), 13).axes, { kind: 'absent' });
});

test('every list operand reads as an attribute before its opset and as its input from then on', (t) => {
  for (const [opType, operands] of Object.entries(LIST_OPERANDS)) {
    for (const [name, operand] of Object.entries(operands)) {
      const attribute = operand.renamed ? operand.renamed.from : name;
      const inputs = Array.from({ length: operand.input + 1 }, (_, i) => (i === operand.input ? 'given' : `x${i}`));
      const early = operand.renamed ? operand.renamed.at - 1 : operand.since - 1;
      t.deepEqual(listOperand(node(opType, ['x0'], { [attribute]: [1, 2] }), early, name), { kind: 'attribute', values: [1, 2] }, `${opType}.${name} at opset ${early}`);
      t.deepEqual(listOperand(node(opType, inputs), operand.since, name), { kind: 'input', index: operand.input, value: 'given' }, `${opType}.${name} at opset ${operand.since}`);
      t.deepEqual(listOperand(node(opType, ['x0']), operand.since, name), { kind: 'absent' }, `${opType}.${name} omitted`);
    }
  }
});

test('an operand an op does not have is an internal error naming the table', (t) => {
  t.throws(() => listOperand(node('Relu', ['x']), 13, 'axes'), { message: /Relu has no list operand 'axes' in compiler\/ops\/list-operands\.ts/ });
});
