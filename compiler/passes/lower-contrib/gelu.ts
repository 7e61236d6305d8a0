/**
 * The GELU family: Gelu and BiasGelu (exact, with erf), FastGelu (the tanh approximation, with
 * the constants of the op's own function body) and QuickGelu (x * sigmoid(alpha x)). BiasGelu's
 * and FastGelu's bias is the preceding projection's, so it becomes the Add a projection's bias
 * is in an unfused export.
 */
import { attrFloat } from '../../graph/attributes.ts';
import type { Lowering, LoweringContext } from './context.ts';

function withBias(c: LoweringContext, biasInput: number): string {
  const x = c.required(0, 'X');
  const bias = c.input(biasInput);
  return bias ? c.e.op('Add', [x, bias]) : x;
}

/** 0.5 x (1 + erf(x / sqrt 2)), as torch.onnx.export writes nn.GELU(). */
function exactGelu(c: LoweringContext, x: string): string {
  const e = c.e;
  const erf = e.op('Erf', [e.op('Div', [x, c.scalar(Math.SQRT2)])]);
  return e.op('Mul', [e.op('Mul', [x, e.op('Add', [erf, c.scalar(1)])]), c.scalar(0.5)]);
}

export const gelu: Lowering = (c) => c.bind(0, exactGelu(c, c.required(0, 'X')));

export const biasGelu: Lowering = (c) => {
  c.required(1, 'B');
  c.bind(0, exactGelu(c, withBias(c, 1)));
};

export const fastGelu: Lowering = (c) => {
  const e = c.e;
  const x = withBias(c, 1);
  // 0.5 x (1 + tanh(0.797885 x + 0.035677 x^3))
  const inner = e.op('Mul', [x, e.op('Add', [c.scalar(0.797885), e.op('Mul', [c.scalar(0.035677), e.op('Mul', [x, x])])])]);
  const y = e.op('Mul', [c.scalar(0.5), e.op('Mul', [x, e.op('Add', [c.scalar(1), e.op('Tanh', [inner])])])]);
  c.bind(0, y);
};

export const quickGelu: Lowering = (c) => {
  const e = c.e;
  const x = c.required(0, 'X');
  const alpha = attrFloat(c.node, 'alpha', 1.702);
  c.bind(0, e.op('Mul', [x, e.op('Sigmoid', [e.op('Mul', [x, c.scalar(alpha)])])]));
};
