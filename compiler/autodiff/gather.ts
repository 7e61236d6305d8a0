/**
 * Gathers: the gradient scatters dy back to the gathered positions, ADDING where an index
 * repeats (an embedding row used by several tokens): ScatterND / ScatterElements with
 * reduction = 'add' (opset 16). Index inputs carry no gradient.
 */
import { DataType } from '../onnx/dtype.ts';
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

function asInt64(g: GradContext, idx: string): string {
  return g.e.dtype(idx) === DataType.INT64 ? idx : g.op('Cast', [idx], { to: DataType.INT64 });
}

function gatherGrad(g: GradContext): string[] {
  const data = g.x(0);
  const r = g.rank(data);
  let axis = g.int('axis', 0);
  if (axis < 0) {
    if (r === undefined) g.unsupported('Gather with a negative axis on data of unknown rank (run shape inference first)');
    axis += r;
  }
  const dim = g.op('Reshape', [g.e.dimOf(data, axis), g.e.ints([])]);
  const raw = asInt64(g, g.x(1));
  // Indices may count from the end; scatter them to the positions they read.
  const idx = g.op('Where', [g.op('Less', [raw, g.e.int(0)]), g.add(raw, dim), raw]);
  const zeros = g.e.zerosLike(data);
  if (g.opset < 16) {
    // No accumulating scatter before opset 16: one-hot rows times dy (2-D tables, axis 0).
    if (axis !== 0 || r !== 2) g.unsupported('Gather needs opset 16 (ScatterND with reduction) unless it is a 2-D table gathered along axis 0');
    const oneHot = g.castLike(g.op('OneHot', [g.op('Reshape', [idx, g.e.ints([-1])]), dim, g.e.ints([0, 1])], { axis: -1 }), data);
    const rows = g.op('Reshape', [g.dy(), g.op('Concat', [g.e.ints([-1]), g.e.dimOf(data, 1)], { axis: 0 })]);
    return [g.like(g.op('MatMul', [g.op('Transpose', [oneHot], { perm: [1, 0] }), rows]), data)];
  }
  if (axis === 0) {
    return [g.like(g.op('ScatterND', [zeros, g.e.unsqueeze(idx, [-1]), g.dy()], { reduction: 'add' }), data)];
  }
  const q = g.rank(g.x(1));
  if (r === undefined || q === undefined) g.unsupported('Gather along a non-leading axis with operands of unknown rank (run shape inference first)');
  // Bring indices to rank 1 and dy to data's rank, then scatter along `axis`.
  let dy = g.dy();
  let flat = idx;
  if (q === 0) {
    dy = g.e.unsqueeze(dy, [axis]);
    flat = g.op('Reshape', [idx, g.e.ints([1])]);
  } else if (q > 1) {
    flat = g.op('Reshape', [idx, g.e.ints([-1])]);
    const before = Array.from({ length: axis }, (_, i) => g.e.dimOf(data, i));
    const after = Array.from({ length: r - axis - 1 }, (_, i) => g.e.dimOf(data, axis + 1 + i));
    dy = g.op('Reshape', [dy, g.op('Concat', [...before, g.e.ints([-1]), ...after], { axis: 0 })]);
  }
  const view = Array.from({ length: r }, (_, i) => (i === axis ? -1 : 1));
  const spread = g.op('Expand', [g.op('Reshape', [flat, g.e.ints(view)]), g.e.shapeOf(dy)]);
  return [g.like(g.op('ScatterElements', [zeros, spread, dy], { axis, reduction: 'add' }), data)];
}

export const gatherRules: RuleTable = {
  Gather: { differentiable: [0], grad: gatherGrad },
  GatherElements: {
    differentiable: [0],
    grad: (g) => {
      g.e.requireOpset(16, `the gradient of GatherElements '${g.node.name}' (ScatterElements with reduction)`);
      return [g.like(g.op('ScatterElements', [g.e.zerosLike(g.x()), g.x(1), g.dy()], { axis: g.int('axis', 0), reduction: 'add' }), g.x())];
    },
  },
  GatherND: {
    differentiable: [0],
    grad: (g) => {
      if (g.int('batch_dims', 0) !== 0) g.unsupported('GatherND with batch_dims');
      g.e.requireOpset(16, `the gradient of GatherND '${g.node.name}' (ScatterND with reduction)`);
      return [g.like(g.op('ScatterND', [g.e.zerosLike(g.x()), asInt64(g, g.x(1)), g.dy()], { reduction: 'add' }), g.x())];
    },
  },
};
