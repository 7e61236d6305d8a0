/**
 * Written-out GELU and SiLU as one node each, for the train graph before autodiff:
 *
 *   x * 0.5 * (1 + erf(x / sqrt 2))  (torch.onnx.export's nn.GELU, either Mul order,
 *                                     or x * (1 / sqrt 2))     -> com.microsoft Gelu(x)
 *   x * sigmoid(alpha x)             (nn.SiLU and LLaMA's SwiGLU gate at alpha 1, CLIP's
 *                                     quick_gelu)              -> com.microsoft QuickGelu(x, alpha)
 *
 * Written out, the backward of each op reads that op's own inputs or outputs, so every
 * intermediate stays alive from the forward until the backward reaches it: three values of the
 * FFN's width per GELU besides x, one per SiLU. Fused, the gradient rule reads x alone and
 * recomputes the rest (compiler/autodiff/activation.ts), and the forward runs one kernel. ORT
 * fuses these patterns itself in the eval and infer graphs (its GeluFusion and
 * QuickGeluFusion), where no backward reads the intermediates; the fused kernels are the ones
 * those graphs already run, so training and evaluation compute the same activation.
 *
 * Only float32 activations are fused (ORT's CPU kernels of both ops are float32), and only where
 * no intermediate has another reader or is a graph output.
 */
import { makeAttrs } from '../graph/attributes.ts';
import { constantNumbers, type ConstantScope } from '../graph/constants.ts';
import type { Model, Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';

const MICROSOFT = 'com.microsoft';

export interface FusedActivations {
  gelu: number;
  quickGelu: number;
}

/** Fuses in place; `dtypeOf` gives each value's element type where known. Returns the counts. */
export function fuseActivations(model: Model, dtypeOf: (value: string) => number | undefined): FusedActivations {
  const graph = model.graph;
  const producers = graph.producers();
  const consumers = graph.consumers();
  const outputs = new Set(graph.outputNames());
  const scope: ConstantScope = { graph, producer: (v) => producers.get(v) };
  const scalar = (v: string | undefined): number | undefined => {
    const n = constantNumbers(scope, v);
    return n && n.length === 1 ? n[0] : undefined;
  };
  /** The node reading `value`, when it is the only reader and `value` is not a graph output. */
  const soleReader = (value: string): Node | undefined => {
    const readers = consumers.get(value) ?? [];
    return readers.length === 1 && !outputs.has(value) ? readers[0] : undefined;
  };
  const isDefault = (n: Node | undefined, op: string): n is Node => n !== undefined && n.opType === op && (n.domain === '' || n.domain === 'ai.onnx');
  /** The other input of binary node n, given one of them. */
  const other = (n: Node, one: string): string | undefined => (n.inputs.length === 2 && n.inputs.includes(one) ? n.inputs[n.inputs[0] === one ? 1 : 0] : undefined);

  const replaced = new Map<Node, Node | undefined>();
  const fuse = (nodes: Node[], fused: Node) => {
    if (nodes.some((n) => replaced.has(n))) return false;
    nodes.forEach((n, i) => replaced.set(n, i === nodes.length - 1 ? fused : undefined));
    return true;
  };
  const counts: FusedActivations = { gelu: 0, quickGelu: 0 };

  for (const erf of graph.nodes) {
    if (!isDefault(erf, 'Erf')) continue;
    const scaled = producers.get(erf.inputs[0]!);
    if (!scaled || soleReader(scaled.outputs[0]!) !== erf) continue;
    const x = geluInput(scaled, scalar, isDefault);
    if (x === undefined || dtypeOf(x) !== DataType.FLOAT) continue;
    const plusOne = soleReader(erf.outputs[0]!);
    if (!isDefault(plusOne, 'Add') || scalar(other(plusOne, erf.outputs[0]!)) !== 1) continue;
    const match = geluTail(plusOne, x, soleReader, producers, scalar, isDefault, other);
    if (!match) continue;
    const y = match.last.outputs[0]!;
    if (fuse([scaled, erf, plusOne, ...match.nodes], fusedNode(`${match.last.name}/fused_gelu`, 'Gelu', x, y))) counts.gelu++;
  }

  for (const sigmoid of graph.nodes) {
    if (!isDefault(sigmoid, 'Sigmoid')) continue;
    let x = sigmoid.inputs[0]!;
    let alpha = 1;
    const chain: Node[] = [sigmoid];
    const inner = producers.get(x);
    if (isDefault(inner, 'Mul') && soleReader(x) === sigmoid) {
      const [a, b] = inner.inputs;
      const ka = scalar(a), kb = scalar(b);
      if (kb !== undefined && ka === undefined) { x = a!; alpha = kb; chain.unshift(inner); }
      else if (ka !== undefined && kb === undefined) { x = b!; alpha = ka; chain.unshift(inner); }
    }
    if (dtypeOf(x) !== DataType.FLOAT) continue;
    const gate = soleReader(sigmoid.outputs[0]!);
    if (!isDefault(gate, 'Mul') || other(gate, sigmoid.outputs[0]!) !== x) continue;
    const fused = fusedNode(`${gate.name}/fused_quick_gelu`, 'QuickGelu', x, gate.outputs[0]!);
    fused.attributes = makeAttrs({ alpha });
    if (fuse([...chain, gate], fused)) counts.quickGelu++;
  }

  if (replaced.size === 0) return counts;
  // Each fused node takes the place of the pattern's last node: x is computed before it.
  graph.nodes = graph.nodes.flatMap((n) => (replaced.has(n) ? (replaced.get(n) ? [replaced.get(n)!] : []) : [n]));
  const written = new Set(graph.nodes.flatMap((n) => n.outputs));
  for (const n of replaced.keys()) for (const o of n.outputs) if (!written.has(o)) graph.valueInfo.delete(o);
  if (!model.opsets.has(MICROSOFT)) model.opsets.set(MICROSOFT, 1);
  return counts;
}

function fusedNode(name: string, opType: string, x: string, y: string): Node {
  return { name, opType, domain: MICROSOFT, inputs: [x], outputs: [y], attributes: [] };
}

/** x when `scaled` is x / sqrt 2 or x * (1 / sqrt 2). */
function geluInput(scaled: Node, scalar: (v: string | undefined) => number | undefined, isDefault: (n: Node | undefined, op: string) => n is Node): string | undefined {
  const [a, b] = scaled.inputs;
  if (isDefault(scaled, 'Div')) return near(scalar(b), Math.SQRT2) ? a : undefined;
  if (!isDefault(scaled, 'Mul')) return undefined;
  if (near(scalar(b), Math.SQRT1_2)) return a;
  if (near(scalar(a), Math.SQRT1_2)) return b;
  return undefined;
}

/** A float32 constant of `want`, to float32's precision. */
function near(k: number | undefined, want: number): boolean {
  return k !== undefined && Math.abs(k - want) <= 1e-6 * want;
}

/**
 * After 1 + erf: (x * t) * 0.5 or (x * 0.5) * t, t the Add's output; the nodes after the Add,
 * the last one writing the GELU's value.
 */
function geluTail(
  plusOne: Node, x: string,
  soleReader: (v: string) => Node | undefined, producers: Map<string, Node>,
  scalar: (v: string | undefined) => number | undefined,
  isDefault: (n: Node | undefined, op: string) => n is Node,
  other: (n: Node, one: string) => string | undefined,
): { nodes: Node[]; last: Node } | undefined {
  const t = plusOne.outputs[0]!;
  const mul = soleReader(t);
  if (!isDefault(mul, 'Mul')) return undefined;
  const partner = other(mul, t);
  if (partner === x) {
    // (x * t) * 0.5
    const half = soleReader(mul.outputs[0]!);
    if (!isDefault(half, 'Mul') || scalar(other(half, mul.outputs[0]!)) !== 0.5) return undefined;
    return { nodes: [mul, half], last: half };
  }
  // (x * 0.5) * t: the half-x product feeds this Mul alone
  const halfX = partner === undefined ? undefined : producers.get(partner);
  if (!isDefault(halfX, 'Mul') || soleReader(partner!) !== mul) return undefined;
  if (other(halfX, x) === undefined || scalar(other(halfX, x)) !== 0.5) return undefined;
  return { nodes: [halfX, mul], last: mul };
}
