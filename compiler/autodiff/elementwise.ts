/** Gradients of broadcasting elementwise arithmetic and unary math. */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

export const elementwiseRules: RuleTable = {
  // y = a + b
  Add: { grad: (g) => [g.needs(0) && g.sumTo(g.dy(), 0), g.needs(1) && g.sumTo(g.dy(), 1)] },
  // y = a - b
  Sub: { grad: (g) => [g.needs(0) && g.sumTo(g.dy(), 0), g.needs(1) && g.sumTo(g.neg(g.dy()), 1)] },
  // y = a * b
  Mul: { grad: (g) => [g.needs(0) && g.sumTo(g.mul(g.dy(), g.x(1)), 0), g.needs(1) && g.sumTo(g.mul(g.dy(), g.x(0)), 1)] },
  // y = a / b:  da = dy / b,  db = -dy * y / b
  Div: {
    grad: (g) => [
      g.needs(0) && g.sumTo(g.div(g.dy(), g.x(1)), 0),
      g.needs(1) && g.sumTo(g.neg(g.div(g.mul(g.dy(), g.y()), g.x(1))), 1),
    ],
  },
  // y = a ^ b:  da = dy * b * a^(b-1),  db = dy * y * ln(a)
  Pow: {
    grad: (g) => {
      const exponent = g.castLike(g.x(1), g.x(0));
      const da = () => {
        const k = g.constInts(g.x(1));
        // a^2 is the common case (decomposed norms): da = 2 a dy, no Pow needed.
        if (k && k.length === 1 && k[0] === 2) return g.mul(g.dy(), g.mul(g.x(0), g.c(2)));
        return g.mul(g.dy(), g.mul(exponent, g.op('Pow', [g.x(0), g.sub(exponent, g.c(1))])));
      };
      return [g.needs(0) && g.sumTo(da(), 0), g.needs(1) && g.sumTo(g.mul(g.mul(g.dy(), g.y()), g.op('Log', [g.x(0)])), 1)];
    },
  },
  Neg: { grad: (g) => [g.neg(g.dy())] },
  Identity: { grad: (g) => [g.dy()] },
  // y = sqrt(x):  dx = dy / (2 y)
  Sqrt: { grad: (g) => [g.div(g.dy(), g.mul(g.y(), g.c(2)))] },
  // y = 1 / x:  dx = -dy y^2
  Reciprocal: { grad: (g) => [g.neg(g.mul(g.dy(), g.mul(g.y(), g.y())))] },
  Exp: { grad: (g) => [g.mul(g.dy(), g.y())] },
  Log: { grad: (g) => [g.div(g.dy(), g.x())] },
  Abs: { grad: (g) => [g.mul(g.dy(), g.op('Sign', [g.x()]))] },
  Sin: { grad: (g) => [g.mul(g.dy(), g.op('Cos', [g.x()]))] },
  Cos: { grad: (g) => [g.neg(g.mul(g.dy(), g.op('Sin', [g.x()])))] },
  // Sum of n inputs: each input gets dy, summed back to its shape.
  Sum: { grad: (g) => g.node.inputs.map((_, i) => g.needs(i) && g.sumTo(g.dy(), i)) },
  Mean: { grad: (g) => g.node.inputs.map((_, i) => g.needs(i) && g.sumTo(g.div(g.dy(), g.c(g.node.inputs.length)), i)) },
  // Max/Min of two inputs: the gradient goes to the selected input.
  Max: { grad: (g) => selectGrad(g, 'Less') },
  Min: { grad: (g) => selectGrad(g, 'Greater') },
  // y = where(c, a, b)
  Where: {
    grad: (g) => {
      const zero = g.c(0, g.y());
      return [undefined, g.needs(1) && g.sumTo(g.op('Where', [g.x(0), g.dy(), zero]), 1), g.needs(2) && g.sumTo(g.op('Where', [g.x(0), zero, g.dy()]), 2)];
    },
  },
  // y = clip(x, lo, hi): dx = dy where lo <= x <= hi; dlo = sum(dy where x < lo); dhi = sum(dy where x > hi).
  Clip: {
    grad: (g) => {
      const zero = g.c(0, g.y());
      let lo: string | undefined;
      let hi: string | undefined;
      if (g.opset >= 11) {
        if (g.has(1)) lo = g.castLike(g.x(1), g.x());
        if (g.has(2)) hi = g.castLike(g.x(2), g.x());
      } else {
        const min = g.float('min', -Infinity), max = g.float('max', Infinity);
        if (min > -Infinity) lo = g.c(min);
        if (max < Infinity) hi = g.c(max);
      }
      // Less / Greater (GreaterOrEqual is opset 12). Where lo > hi ONNX gives hi: x's gradient is 0 there.
      const below = lo ? g.op('Less', [g.x(), lo]) : undefined;
      const above = hi ? g.op('Greater', [g.x(), hi]) : undefined;
      let pass = g.dy();
      if (below) pass = g.op('Where', [below, zero, pass]);
      if (above) pass = g.op('Where', [above, zero, pass]);
      const boundGrad = (i: number, mask: string | undefined) => {
        if (!mask || !g.needs(i)) return false;
        let m = mask;
        if (i === 1 && above) m = g.op('And', [mask, g.op('Not', [above])]);
        return g.sumTo(g.like(g.op('Where', [m, g.dy(), zero]), g.y()), i);
      };
      return [g.needs(0) && pass, boundGrad(1, below), boundGrad(2, above)];
    },
  },
  // Cast between floating types: cast the gradient back. Casts to integers carry none.
  Cast: {
    grad: (g) => {
      return [g.castLike(g.dy(), g.x())];
    },
  },
  CastLike: { grad: (g) => [g.castLike(g.dy(), g.x(0))] },
};

// Where both inputs are equal the gradient goes to the first (ONNX has no tie rule; torch splits it evenly for max/min of two tensors).
function selectGrad(g: GradContext, losing: 'Less' | 'Greater') {
  const n = g.node.inputs.length;
  if (n === 1) return [g.dy()];
  if (n > 2) {
    // The inputs equal to the result share dy (ties split evenly, like ReduceMax).
    const hits = g.node.inputs.map((x) => g.castLike(g.op('Equal', [x, g.y()]), g.y()));
    const count = g.op('Sum', hits);
    return g.node.inputs.map((_, i) => g.needs(i) && g.sumTo(g.like(g.div(g.mul(g.dy(), hits[i]!), count), g.y()), i));
  }
  const first = g.op('Not', [g.op(losing, [g.x(0), g.x(1)])]);
  const zero = g.c(0, g.y());
  const toFirst = g.op('Where', [first, g.dy(), zero]);
  const toSecond = g.op('Where', [first, zero, g.dy()]);
  return [g.needs(0) && g.sumTo(toFirst, 0), g.needs(1) && g.sumTo(toSecond, 1)];
}
