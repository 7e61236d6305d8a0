/**
 * The split update's element-wise arithmetic as straight-line code, read off the finished update
 * graph (update-graph.ts), so the optimizer keeps its one home in optimizers.ts.
 *
 * Why: run by ORT a chunk at a time, AdamW's 14 element-wise nodes each make a pass over the
 * chunk, and onnxruntime-node copies every output into a fresh buffer that the trainer copies
 * again over the parameter: about 10 ns a value on the 2-core machine of docs/performance.md,
 * most of a full fine-tuning step's update. runtime/update-kernel.ts runs the same operations
 * in WebAssembly over small blocks held in cache, in place.
 *
 * What is read off: a node with a tensor operand is an element node; it must be one of
 * Add / Sub / Mul / Div / Sqrt / Neg (each one IEEE float32 operation, in WebAssembly as in
 * ORT's kernels: the same bits) or a Where whose condition is a bool scalar (read as float32 0
 * or 1), and its other operands float32 scalars: a constant (its value
 * goes into the code) or a value the graph computes from the step and the parameter's group
 * (it becomes a graph output, role 'operand', which the trainer reads from one run of the graph
 * on an empty chunk). The reductions behind the `nonfinite` flag are left to the kernel, which
 * checks every value it writes. Any other node over tensors (a Where on a condition per
 * element, a Cast) and no kernel is derived: the trainer then runs the graph a chunk at a time, as before.
 */
import { KERNEL_OPS, type KernelOp, type KernelOperand, type UpdateKernel } from '../../contract/manifest.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { constantTensor } from '../graph/constants.ts';
import type { Model } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import type { ValueInfoProto } from '../onnx/proto.ts';
import { tensorNumbers } from '../onnx/tensor.ts';
import { inferShapes } from '../shapes/infer.ts';
import { valueInfoFromType, valueTypeFromInfo } from '../shapes/types.ts';
import { NONFINITE } from './nonfinite.ts';
import type { GraphInterface } from './step-graph.ts';

const isKernelOp = (op: string): op is KernelOp => Object.hasOwn(KERNEL_OPS, op);

/** The kernel of a finished update graph, adding its computed scalar operands as outputs; undefined (the graph unchanged) where it has no such form. */
export function deriveUpdateKernel(model: Model, io: GraphInterface): UpdateKernel | undefined {
  const g = model.graph;
  const tensorInput = (v: ValueInfoProto) => {
    const role = io.inputs.get(v.name)?.role;
    return (role === 'param' || role === 'grad' || role === 'state') && isChunk(v);
  };
  const inputs = g.inputs.filter(tensorInput).map((v) => v.name);
  const register = new Map<string, number>(inputs.map((name, i) => [name, i]));
  // Values that only lead to the nonfinite flag: the reductions over the elements and what follows them.
  const flagOnly = new Set<string>();
  const producers = g.producers();
  const scope = { graph: g, producer: (v: string) => producers.get(v) };
  const types = inferShapes(model);
  const isScalarOf = (v: string, dtype: DataType) => types.get(v)?.dtype === dtype && types.get(v)?.shape?.length === 0;
  // Graph values the kernel reads per parameter; a Where's condition (a bool scalar, SGD's
  // first-step flag) is read cast to float32 0 or 1. Added as outputs once the kernel is whole.
  const computed: { value: string; cast: boolean }[] = [];
  const scalars: UpdateKernel['scalars'] = [];
  const scalarIndex = new Map<string, number>();
  const code: UpdateKernel['code'] = [];

  /** A scalar operand: float32, or with `condition` a bool (a Where's first input). */
  const scalarOperand = (v: string, condition = false): KernelOperand | undefined => {
    let k = scalarIndex.get(v);
    if (k === undefined) {
      const init = constantTensor(scope, v);
      if (init) {
        if (init.dataType !== (condition ? DataType.BOOL : DataType.FLOAT) || init.dims.length !== 0) return undefined;
        scalars.push({ value: Number(tensorNumbers(init)[0]!) });
      } else {
        if (flagOnly.has(v) || register.has(v) || !isScalarOf(v, condition ? DataType.BOOL : DataType.FLOAT)) return undefined;
        computed.push({ value: v, cast: condition });
        scalars.push({ output: `operand.${computed.length - 1}` });
      }
      k = scalars.length - 1;
      scalarIndex.set(v, k);
    }
    return { scalar: k };
  };

  for (const node of g.nodes) {
    const reads = node.inputs.filter(Boolean);
    const elementwise = reads.some((v) => register.has(v));
    if (reads.some((v) => flagOnly.has(v)) || (elementwise && node.opType === 'ReduceSum')) {
      for (const o of node.outputs) flagOnly.add(o);
      continue;
    }
    if (!elementwise) continue;
    const op = node.opType;
    if (node.domain !== '' || !isKernelOp(op) || node.outputs.length !== 1) return undefined;
    const args: KernelOperand[] = [];
    for (const [i, v] of reads.entries()) {
      const condition = op === 'Where' && i === 0;
      const r = register.get(v);
      // A condition per element has no form here; one per parameter does.
      const operand = r !== undefined ? (condition ? undefined : { register: r }) : scalarOperand(v, condition);
      if (!operand) return undefined;
      args.push(operand);
    }
    if (args.length !== KERNEL_OPS[op]) return undefined;
    register.set(node.outputs[0]!, inputs.length + code.length);
    code.push({ op, args });
  }

  const outputs: UpdateKernel['outputs'] = [];
  for (const v of g.outputs) {
    const binding = io.outputs.get(v.name);
    if (binding?.role === 'metric' && binding.metric === NONFINITE) continue;
    const r = register.get(v.name);
    if (r !== undefined) outputs.push({ name: v.name, register: r });
    // A scalar output (a parameter's update count) comes from the graph's own run; a tensor one must be in the code.
    else if (isChunk(v)) return undefined;
  }
  const b = new GraphBuilder(g, 'kernel/');
  computed.forEach(({ value, cast }, k) => {
    const name = `operand.${k}`;
    b.op(cast ? 'Cast' : 'Identity', [value], cast ? { to: DataType.FLOAT } : undefined, { outputs: [b.claim(name)] });
    g.outputs.push(valueInfoFromType(name, { dtype: DataType.FLOAT, shape: [] }));
    io.outputs.set(name, { role: 'operand' });
  });
  return { inputs, scalars, code, outputs };
}

/** Whether a graph input or output is one of the chunk-shaped ones: 1-D, where the parameter's count slot is a scalar. */
function isChunk(v: ValueInfoProto): boolean {
  return valueTypeFromInfo(v)?.shape?.length === 1;
}
