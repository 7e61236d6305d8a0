/**
 * Softmax and LogSoftmax. From opset 13 they normalise along one axis (default -1); before,
 * the input is viewed as 2-D [prod(dims before axis), prod(dims from axis)] (default axis 1),
 * so the backward works on that flattened view and reshapes back.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';
import { softmaxAxis } from '../ops/attributes.ts';

/** Runs `body(y, dy, axis)` in the op's normalisation layout and returns dx in x's shape. */
function inSoftmaxLayout(g: GradContext, body: (y: string, dy: string, axis: number) => string): string {
  const axis = softmaxAxis(g.node, g.opset);
  if (g.opset >= 13) return g.like(body(g.y(), g.dy(), axis), g.x());
  const y2 = g.op('Flatten', [g.y()], { axis });
  const dy2 = g.op('Flatten', [g.dy()], { axis });
  return g.reshapeLike(body(y2, dy2, 1), g.x());
}

export const softmaxRules: RuleTable = {
  // dx = y * (dy - sum(dy * y, axis))
  Softmax: {
    grad: (g) => [inSoftmaxLayout(g, (y, dy, axis) => g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis], true))))],
  },
  // dx = dy - exp(y) * sum(dy, axis)
  LogSoftmax: {
    grad: (g) => [inSoftmaxLayout(g, (y, dy, axis) => g.sub(dy, g.mul(g.op('Exp', [y]), g.reduceSum(dy, [axis], true))))],
  },
};
