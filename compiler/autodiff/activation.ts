/** Gradients of activation functions. */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_CUBIC = 0.044715;

/*
 * The GELU derivatives run over the FFN's widest activation ([tokens, 4 d]) in every block,
 * and ORT's CPU provider ships no fused kernel for them, so each op is a pass over memory: they
 * are written in as few passes as their formulas allow. HardSigmoid(v, alpha, beta) =
 * clip(alpha v + beta, 0, 1) is an affine map in one pass where its result is known to stay in
 * [0, 1] (it replaces an Add and a Mul).
 */
function affineIntoUnit(g: GradContext, v: string, alpha: number, beta: number): string {
  return g.op('HardSigmoid', [v], { alpha, beta });
}

/**
 * d gelu(x) / dx, exact: Phi(x) + x phi(x), with Phi(x) = 0.5 + 0.5 erf(x / sqrt 2) and
 * x phi(x) = x / exp(x^2 / 2) / sqrt(2 pi) (where exp overflows, x / inf is the limit, 0).
 */
function geluExactDerivative(g: GradContext, x: string): string {
  const u = g.mul(x, g.c(Math.SQRT1_2));
  const cdf = affineIntoUnit(g, g.op('Erf', [u]), 0.5, 0.5);
  const xPdf = g.mul(g.div(x, g.op('Exp', [g.mul(u, u)])), g.c(INV_SQRT_2PI));
  return g.add(cdf, xPdf);
}

/**
 * d/dx of 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) = x (a + b x^2):
 * 0.5 (1 + t) + 0.5 (1 - t^2) x du/dx, du/dx = a + 3 b x^2, t = tanh(u).
 */
function geluTanhDerivative(g: GradContext, x: string): string {
  const a = SQRT_2_OVER_PI, b = SQRT_2_OVER_PI * GELU_CUBIC;
  const x2 = g.mul(x, x);
  const t = g.op('Tanh', [g.mul(x, g.add(g.mul(x2, g.c(b)), g.c(a)))]);
  const left = affineIntoUnit(g, t, 0.5, 0.5);
  const halfSech2 = affineIntoUnit(g, g.mul(t, t), -0.5, 0.5);
  const du = g.add(g.mul(x2, g.c(3 * b)), g.c(a));
  return g.add(left, g.mul(g.mul(x, du), halfSech2));
}

export const activationRules: RuleTable = {
  Relu: { grad: (g) => [g.op('Where', [g.op('Greater', [g.x(), g.c(0)]), g.dy(), g.c(0)])] },
  LeakyRelu: { grad: (g) => [g.op('Where', [g.op('Greater', [g.x(), g.c(0)]), g.dy(), g.mul(g.dy(), g.c(g.float('alpha', 0.01)))])] },
  // sigmoid' = y (1 - y)
  Sigmoid: { grad: (g) => [g.mul(g.dy(), g.mul(g.y(), g.sub(g.c(1), g.y())))] },
  // tanh' = 1 - y^2
  Tanh: { grad: (g) => [g.mul(g.dy(), g.sub(g.c(1), g.mul(g.y(), g.y())))] },
  // erf' = 2/sqrt(pi) exp(-x^2)
  Erf: { grad: (g) => [g.mul(g.dy(), g.mul(g.c(2 / Math.sqrt(Math.PI)), g.op('Exp', [g.neg(g.mul(g.x(), g.x()))])))] },
  // softplus' = sigmoid(x)
  Softplus: { grad: (g) => [g.mul(g.dy(), g.op('Sigmoid', [g.x()]))] },
  // x * sigmoid(x) written out is fused into com.microsoft QuickGelu for training (below); HardSwish etc. are not covered.
  Elu: {
    grad: (g) => {
      const alpha = g.float('alpha', 1);
      // x <= 0: y = alpha (e^x - 1), so dy/dx = y + alpha
      return [g.op('Where', [g.op('Greater', [g.x(), g.c(0)]), g.dy(), g.mul(g.dy(), g.add(g.y(), g.c(alpha)))])];
    },
  },
  // opset 20 Gelu: approximate = 'none' | 'tanh'
  Gelu: { grad: (g) => [g.mul(g.dy(), g.string('approximate', 'none') === 'tanh' ? geluTanhDerivative(g, g.x()) : geluExactDerivative(g, g.x()))] },
  'com.microsoft:Gelu': { grad: (g) => [g.mul(g.dy(), geluExactDerivative(g, g.x()))] },
  // QuickGelu(x) = x s, s = sigmoid(alpha x): dx = s (1 + alpha x (1 - s)). s is recomputed from
  // x, so the backward keeps x alone (compiler/passes/fuse-activations.ts fuses SiLU into this).
  'com.microsoft:QuickGelu': {
    grad: (g) => {
      const alpha = g.float('alpha', 1.702);
      const ax = alpha === 1 ? g.x() : g.mul(g.x(), g.c(alpha));
      const s = g.op('Sigmoid', [ax]);
      return [g.mul(g.dy(), g.mul(s, g.add(g.c(1), g.mul(ax, g.sub(g.c(1), s)))))];
    },
  },
  // FastGelu(x, bias?) = tanh-approximated gelu of x + bias
  'com.microsoft:FastGelu': {
    grad: (g) => {
      const z = g.has(1) ? g.add(g.x(0), g.x(1)) : g.x(0);
      const dz = g.like(g.mul(g.dy(), geluTanhDerivative(g, z)), g.y());
      return [g.needs(0) && g.sumTo(dz, 0), g.has(1) && g.needs(1) && g.sumTo(dz, 1)];
    },
  },
  'com.microsoft:BiasGelu': {
    grad: (g) => {
      const dz = g.like(g.mul(g.dy(), geluExactDerivative(g, g.add(g.x(0), g.x(1)))), g.y());
      return [g.needs(0) && g.sumTo(dz, 0), g.needs(1) && g.sumTo(dz, 1)];
    },
  },
};
