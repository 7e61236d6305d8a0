/**
 * Dropout. Inference-mode dropout is the identity. In training mode the forward node's mask
 * output is reused (added to the node when absent), never redrawn: dx = dy * mask / (1 - ratio).
 *
 * Randomness strategy: training-mode Dropout nodes draw their mask inside ORT's kernel. The
 * training-graph builder gives each one a `seed` attribute derived from the run seed and the
 * node name (compiler/train/dropout.ts), so a run is reproducible: ORT seeds a per-node
 * generator once per session, and the mask sequence over steps is the same on every run.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

function dropoutGrad(g: GradContext): string[] {
  if (g.opset < 12) return [g.dy()];
  if (!g.has(2)) return [g.dy()];
  const mode = g.constInts(g.x(2));
  if (mode && mode[0] === 0) return [g.dy()];
  const ratio = g.has(1) ? g.castLike(g.x(1), g.x()) : g.c(0.5);
  let scale = g.op('Reciprocal', [g.sub(g.c(1), ratio)]);
  // A training flag fed at run time: the mask is all true when it is off; the scale must be 1.
  if (!mode) scale = g.op('Where', [g.x(2), scale, g.c(1)]);
  const keep = g.castLike(g.y(1), g.x());
  return [g.like(g.mul(g.mul(g.dy(), keep), scale), g.x())];
}

export const dropoutRules: RuleTable = {
  Dropout: { differentiable: [0], grad: dropoutGrad },
};
