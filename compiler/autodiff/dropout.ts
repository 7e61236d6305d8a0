/**
 * Dropout. Inference-mode dropout is the identity. In training mode the forward node's mask
 * output is reused (saved: added to the node when absent), never redrawn: dx = dy * mask / (1 - ratio).
 *
 * Randomness: lor2c's train graphs contain no training-mode Dropout node; the train-graph
 * builder replaces each one with x * mask / (1 - p), the mask hashed in-graph from the step
 * counter (compiler/train/dropout.ts), so resumed runs match uninterrupted ones. This rule
 * serves graphs that keep ORT's Dropout (a user's own training-mode export).
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

/** Whether the node may drop (a training_mode input that is not a constant false); before opset 12 it never does here. */
function mayDrop(g: GradContext): boolean {
  if (g.opset < 12 || !g.has(2)) return false;
  const mode = g.constInts(g.x(2));
  return !(mode && mode[0] === 0);
}

function dropoutGrad(g: GradContext): string[] {
  if (!mayDrop(g)) return [g.dy()];
  const mode = g.constInts(g.x(2));
  const ratio = g.has(1) ? g.castLike(g.x(1), g.x()) : g.c(0.5);
  let scale = g.op('Reciprocal', [g.sub(g.c(1), ratio)]);
  // A training flag fed at run time: the mask is all true when it is off; the scale must be 1.
  if (!mode) scale = g.op('Where', [g.x(2), scale, g.c(1)]);
  const keep = g.castLike(g.y(1), g.x());
  return [g.like(g.mul(g.mul(g.dy(), keep), scale), g.x())];
}

export const dropoutRules: RuleTable = {
  Dropout: { saves: (g) => (mayDrop(g) ? [1] : []), grad: dropoutGrad },
};
