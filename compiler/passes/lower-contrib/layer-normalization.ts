/**
 * com.microsoft LayerNormalization and SimplifiedLayerNormalization (RMSNorm): normalised over
 * the axes from `axis` to the last, with Mean / InvStdDev outputs written when read.
 */
import { attrFloat, attrInt } from '../../graph/attributes.ts';
import type { Lowering, LoweringContext } from './context.ts';
import { normalize } from './normalize.ts';

/** The normalised axes, from the `axis` attribute: [-1] needs no rank, others do. */
function trailingAxes(c: LoweringContext, x: string): number[] {
  const axis = attrInt(c.node, 'axis', -1);
  if (axis === -1) return [-1];
  const rank = c.dims(x)?.length;
  if (rank === undefined) c.refuse(`axis ${axis} on an input of unknown rank`, "give the model's inputs static ranks (or normalise over the last axis only)");
  const first = axis < 0 ? axis + rank : axis;
  return Array.from({ length: rank - first }, (_, i) => first + i);
}

export const layerNormalization: Lowering = (c) => {
  const x = c.required(0, 'X');
  const n = normalize(c.e, x, x, trailingAxes(c, x), attrFloat(c.node, 'epsilon', 1e-5), c.required(1, 'Scale'), c.input(2), false, { mean: c.wants(1), invStd: c.wants(2) });
  if (c.wants(2)) c.bind(2, n.invStd());
  if (c.wants(1)) c.bind(1, n.mean!);
  c.bind(0, n.y);
};

export const simplifiedLayerNormalization: Lowering = (c) => {
  const x = c.required(0, 'X');
  const n = normalize(c.e, x, x, trailingAxes(c, x), attrFloat(c.node, 'epsilon', 1e-5), c.required(1, 'scale'), undefined, true);
  if (c.wants(1)) c.bind(1, n.invStd());
  c.bind(0, n.y);
};
