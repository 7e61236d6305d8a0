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
import { inferDtypes } from '../graph/dtypes.ts';
import { isOp, type Graph, type Model, type Node } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';

const MICROSOFT = 'com.microsoft';

export interface FusedActivations {
  gelu: number;
  quickGelu: number;
}

/** Fuses in place; returns the counts. */
export function fuseActivations(model: Model): FusedActivations {
  const graph = model.graph;
  const dtypes = inferDtypes(graph);
  const dtypeOf = (v: string) => dtypes.get(v);
  const p = new PatternReader(graph);
  const rewrite = new Rewrite();
  const counts: FusedActivations = { gelu: 0, quickGelu: 0 };
  for (const node of graph.nodes) {
    const gelu = isOp(node, 'Erf') ? matchGelu(p, node) : undefined;
    if (gelu && dtypeOf(gelu.x) === DataType.FLOAT && rewrite.replace(gelu.nodes, fused(`${gelu.last.name}/fused_gelu`, 'Gelu', gelu.x, gelu.last.outputs[0]!))) counts.gelu++;
    const silu = isOp(node, 'Sigmoid') ? matchQuickGelu(p, node) : undefined;
    if (silu && dtypeOf(silu.x) === DataType.FLOAT) {
      const quick = fused(`${silu.last.name}/fused_quick_gelu`, 'QuickGelu', silu.x, silu.last.outputs[0]!);
      quick.attributes = makeAttrs({ alpha: silu.alpha });
      if (rewrite.replace(silu.nodes, quick)) counts.quickGelu++;
    }
  }
  if (rewrite.apply(graph) && !model.opsets.has(MICROSOFT)) model.opsets.set(MICROSOFT, 1);
  return counts;
}

/** What a pattern matcher asks of the graph: producers, sole readers, scalar constants. */
class PatternReader {
  private readonly producers: Map<string, Node>;
  private readonly consumers: Map<string, Node[]>;
  private readonly outputs: Set<string>;
  private readonly scope: ConstantScope;

  constructor(graph: Graph) {
    this.producers = graph.producers();
    this.consumers = graph.consumers();
    this.outputs = new Set(graph.outputNames());
    this.scope = { graph, producer: (v) => this.producers.get(v) };
  }

  producer(value: string | undefined): Node | undefined {
    return value === undefined ? undefined : this.producers.get(value);
  }

  /** The node reading `value`, when it is the only reader and `value` is not a graph output. */
  soleReader(value: string): Node | undefined {
    const readers = this.consumers.get(value) ?? [];
    return readers.length === 1 && !this.outputs.has(value) ? readers[0] : undefined;
  }

  /** A one-element constant's value. */
  scalar(value: string | undefined): number | undefined {
    const n = constantNumbers(this.scope, value);
    return n && n.length === 1 ? n[0] : undefined;
  }

  /** The other input of binary node n, given one of them. */
  other(n: Node, one: string): string | undefined {
    return n.inputs.length === 2 && n.inputs.includes(one) ? n.inputs[n.inputs[0] === one ? 1 : 0] : undefined;
  }
}

/** Matched nodes (in any order; `last` writes the activation's value) and the activation's input. */
interface Match {
  nodes: Node[];
  last: Node;
  x: string;
}

/** x * 0.5 * (1 + erf(x / sqrt 2)) around this Erf node. */
function matchGelu(p: PatternReader, erf: Node): Match | undefined {
  const scaled = p.producer(erf.inputs[0]);
  if (!scaled || p.soleReader(scaled.outputs[0]!) !== erf) return undefined;
  const x = geluInput(p, scaled);
  const plusOne = p.soleReader(erf.outputs[0]!);
  if (x === undefined || !isOp(plusOne, 'Add') || p.scalar(p.other(plusOne, erf.outputs[0]!)) !== 1) return undefined;
  const tail = geluTail(p, plusOne, x);
  return tail && { nodes: [scaled, erf, plusOne, ...tail], last: tail[tail.length - 1]!, x };
}

/** x when `scaled` is x / sqrt 2 or x * (1 / sqrt 2). */
function geluInput(p: PatternReader, scaled: Node): string | undefined {
  const [a, b] = scaled.inputs;
  if (isOp(scaled, 'Div')) return near(p.scalar(b), Math.SQRT2) ? a : undefined;
  if (!isOp(scaled, 'Mul')) return undefined;
  if (near(p.scalar(b), Math.SQRT1_2)) return a;
  if (near(p.scalar(a), Math.SQRT1_2)) return b;
  return undefined;
}

/** A float32 constant of `want`, to float32's precision. */
function near(k: number | undefined, want: number): boolean {
  return k !== undefined && Math.abs(k - want) <= 1e-6 * want;
}

/** After 1 + erf, with t its output: (x * t) * 0.5 or (x * 0.5) * t; the nodes after the Add, the last one writing the GELU. */
function geluTail(p: PatternReader, plusOne: Node, x: string): Node[] | undefined {
  const t = plusOne.outputs[0]!;
  const mul = p.soleReader(t);
  if (!isOp(mul, 'Mul')) return undefined;
  const partner = p.other(mul, t);
  if (partner === x) {
    const half = p.soleReader(mul.outputs[0]!);
    return isOp(half, 'Mul') && p.scalar(p.other(half, mul.outputs[0]!)) === 0.5 ? [mul, half] : undefined;
  }
  // (x * 0.5) * t: the half-x product feeds this Mul alone.
  const halfX = p.producer(partner);
  if (!isOp(halfX, 'Mul') || p.soleReader(partner!) !== mul) return undefined;
  return p.scalar(p.other(halfX, x)) === 0.5 ? [halfX, mul] : undefined;
}

/** x * sigmoid(x) or x * sigmoid(alpha x) around this Sigmoid node. */
function matchQuickGelu(p: PatternReader, sigmoid: Node): (Match & { alpha: number }) | undefined {
  let x = sigmoid.inputs[0]!;
  let alpha = 1;
  const nodes: Node[] = [sigmoid];
  const inner = p.producer(x);
  if (isOp(inner, 'Mul') && p.soleReader(x) === sigmoid) {
    const [a, b] = inner.inputs;
    const ka = p.scalar(a), kb = p.scalar(b);
    // One constant operand: x * alpha (either order).
    if ((ka === undefined) !== (kb === undefined)) {
      x = (ka === undefined ? a : b)!;
      alpha = (ka ?? kb)!;
      nodes.unshift(inner);
    }
  }
  const gate = p.soleReader(sigmoid.outputs[0]!);
  if (!isOp(gate, 'Mul') || p.other(gate, sigmoid.outputs[0]!) !== x) return undefined;
  return { nodes: [...nodes, gate], last: gate, x, alpha };
}

function fused(name: string, opType: string, x: string, y: string): Node {
  return { name, opType, domain: MICROSOFT, inputs: [x], outputs: [y], attributes: [] };
}

/** Patterns to replace: each pattern's nodes go, its fused node takes the place of its last. */
class Rewrite {
  private readonly replaced = new Map<Node, Node | undefined>();

  /** Claims the nodes (the last one writes the value) for `replacement`; false, claiming nothing, when one is already in another pattern. */
  replace(nodes: readonly Node[], replacement: Node): boolean {
    if (nodes.some((n) => this.replaced.has(n))) return false;
    nodes.forEach((n, i) => this.replaced.set(n, i === nodes.length - 1 ? replacement : undefined));
    return true;
  }

  /** Rewrites the graph; whether anything changed. x is computed before each pattern's last node. */
  apply(graph: Graph): boolean {
    if (this.replaced.size === 0) return false;
    graph.nodes = graph.nodes.flatMap((n) => (this.replaced.has(n) ? (this.replaced.get(n) ? [this.replaced.get(n)!] : []) : [n]));
    const written = new Set(graph.nodes.flatMap((n) => n.outputs));
    for (const n of this.replaced.keys()) for (const o of n.outputs) if (!written.has(o)) graph.valueInfo.delete(o);
    return true;
  }
}
