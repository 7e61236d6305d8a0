/**
 * Conv (N-d, strides, pads, dilations, groups). dX is a ConvTranspose of dy with the same
 * weights; dW is itself a convolution: with batch and channels swapped, X convolved by dy
 * (strides and dilations exchanged) gives [C, O, k...], trimmed to the kernel and transposed.
 * dB sums dy over batch and space.
 */
import type { GradContext } from './context.ts';
import type { RuleTable } from './rule.ts';

interface ConvGeometry { k: number; kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; group: number; inSpatial?: (number | string)[] }

function geometry(g: GradContext): ConvGeometry {
  const wShape = g.shape(g.x(1));
  if (!wShape || !wShape.every((d) => typeof d === 'number')) g.unsupported('Conv whose weight shape is not known statically');
  const k = wShape.length - 2;
  const kernel = g.ints('kernel_shape') ?? (wShape.slice(2) as number[]);
  const strides = g.ints('strides') ?? new Array(k).fill(1);
  const dilations = g.ints('dilations') ?? new Array(k).fill(1);
  const group = g.int('group', 1);
  const inSpatial = g.shape(g.x())?.slice(2);
  const autoPad = g.string('auto_pad', 'NOTSET');
  let pads = g.ints('pads') ?? new Array(2 * k).fill(0);
  if (autoPad === 'VALID') pads = new Array(2 * k).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (!inSpatial || !inSpatial.every((d) => typeof d === 'number')) g.unsupported(`Conv with auto_pad ${autoPad} on an input whose spatial size is not known statically`);
    pads = new Array(2 * k).fill(0);
    for (let j = 0; j < k; j++) {
      const n = inSpatial[j] as number;
      const total = Math.max((Math.ceil(n / strides[j]!) - 1) * strides[j]! + (kernel[j]! - 1) * dilations[j]! + 1 - n, 0);
      const begin = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      pads[j] = begin;
      pads[k + j] = total - begin;
    }
  }
  return { k, kernel, strides, dilations, pads, group, inSpatial };
}

function inputGrad(g: GradContext, geo: ConvGeometry): string {
  const outputPadding = geo.strides.map((s, j) => {
    if (s === 1) return 0;
    const n = geo.inSpatial?.[j];
    if (typeof n !== 'number') g.unsupported('the input gradient of a strided Conv whose spatial input size is not known statically');
    return (n + geo.pads[j]! + geo.pads[geo.k + j]! - geo.dilations[j]! * (geo.kernel[j]! - 1) - 1) % s;
  });
  return g.like(g.op('ConvTranspose', [g.dy(), g.x(1)], {
    strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group: geo.group, kernel_shape: geo.kernel, output_padding: outputPadding,
  }), g.x());
}

function weightGrad(g: GradContext, geo: ConvGeometry): string {
  const swap = [1, 0, ...Array.from({ length: geo.k }, (_, j) => j + 2)];
  const wShape = g.shape(g.x(1)) as number[];
  const perGroupIn = wShape[1]!;
  const perGroupOut = wShape[0]! / geo.group;
  const xs = geo.group === 1 ? [g.x()] : g.split(g.x(), new Array(geo.group).fill(perGroupIn), 1, geo.group);
  const dys = geo.group === 1 ? [g.dy()] : g.split(g.dy(), new Array(geo.group).fill(perGroupOut), 1, geo.group);
  const parts = xs.map((x, i) => {
    const full = g.op('Conv', [g.op('Transpose', [x], { perm: swap }), g.op('Transpose', [dys[i]!], { perm: swap })], {
      strides: geo.dilations, dilations: geo.strides, pads: geo.pads,
    });
    const spatial = Array.from({ length: geo.k }, (_, j) => j + 2);
    const trimmed = g.opset >= 10
      ? g.op('Slice', [full, g.int64s(new Array(geo.k).fill(0)), g.int64s(geo.kernel), g.int64s(spatial)])
      : g.op('Slice', [full], { starts: new Array(geo.k).fill(0), ends: geo.kernel, axes: spatial });
    return g.op('Transpose', [trimmed], { perm: swap });
  });
  return g.like(parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: 0 }), g.x(1));
}

export const convRules: RuleTable = {
  Conv: {
    grad: (g) => {
      const geo = geometry(g);
      const others = [0, ...Array.from({ length: geo.k }, (_, j) => j + 2)];
      return [
        g.needs(0) && inputGrad(g, geo),
        g.needs(1) && weightGrad(g, geo),
        g.has(2) && g.needs(2) && g.like(g.reduceSum(g.dy(), others, false), g.x(2)),
      ];
    },
  },
};
