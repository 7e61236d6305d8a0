/**
 * What each GraphProto read from an untrusted file must satisfy, beyond its tensors
 * (check-tensor.ts): initializer names defined once, and declared shapes (graph inputs,
 * outputs, value_info) whose fixed dims are neither negative nor larger than a tensor may be.
 * Both kinds of damage were otherwise silent: a duplicate initializer made an arbitrary copy
 * win, and a negative dim left shape inference with "unknown" and a misleading error later.
 */
import type { GraphProto, TypeProto, ValueInfoProto } from './proto.ts';
import type { TensorLimits } from './check-tensor.ts';
import { UserError } from '../../contract/errors.ts';

export function checkGraph(g: GraphProto, where: string, label: string, limits: TensorLimits): void {
  checkUniqueInitializers(g, where, label);
  for (const [kind, values] of [['input', g.input], ['output', g.output], ['value_info entry', g.valueInfo]] as const) {
    for (const v of values) checkDeclaredShape(v, `${kind} '${v.name}' of the ${where} of '${label}'`, limits);
  }
}

/** A graph defines each initializer once: with two of one name, which one a reader uses is arbitrary. */
function checkUniqueInitializers(g: GraphProto, where: string, label: string): void {
  const seen = new Set<string>();
  const names = [...g.initializer.map((t) => t.name), ...g.sparseInitializer.map((s) => s.values?.name ?? '')];
  for (const name of names) {
    if (seen.has(name)) {
      throw new UserError(`initializer '${name}' is defined twice in the ${where} of '${label}'`, 'the file is corrupt or was merged badly: each initializer name must be unique (onnx.checker refuses it too)');
    }
    seen.add(name);
  }
}

function checkDeclaredShape(v: ValueInfoProto, name: string, limits: TensorLimits): void {
  if (v.type) checkType(v.type, name, limits);
}

/** Tensor and sparse-tensor shapes, also inside sequence, map and optional types. */
function checkType(type: TypeProto, name: string, limits: TensorLimits): void {
  const t = type.value;
  switch (t.case) {
    case 'tensorType':
    case 'sparseTensorType': {
      const dims = t.value.shape?.dim ?? [];
      if (dims.length > limits.maxRank) throw new UserError(`${name} declares rank ${dims.length}, over the limit of ${limits.maxRank}`);
      for (const d of dims) {
        if (d.value.case !== 'dimValue') continue;
        const v = d.value.value;
        if (v < 0n) throw new UserError(`${name} declares a negative dimension ${v}`, 'the file is corrupt: a dimension is a size (>= 0) or a symbolic name');
        if (v > BigInt(limits.maxElements)) throw new UserError(`${name} declares a dimension of ${v}, an absurd size`, 'the file is corrupt or not a model lor2c can hold');
      }
      return;
    }
    case 'sequenceType':
    case 'optionalType':
      if (t.value.elemType) checkType(t.value.elemType, name, limits);
      return;
    case 'mapType':
      if (t.value.valueType) checkType(t.value.valueType, name, limits);
      return;
    default:
      return;
  }
}
