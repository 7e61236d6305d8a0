/**
 * Training-mode dropout for the train graph. Every Dropout node is REPLACED by
 * `y = x * keep * 1/(1-p)` whose keep mask is hashed inside the graph from the train graph's
 * step counter, the element index and a per-node salt (compiler/train/hashed-dropout.ts).
 * ORT's own training-mode Dropout seeds one generator per node per session, so a run resumed
 * from a checkpoint, or continued after a Merge/Inject recompile, would draw other masks
 * than an uninterrupted run; the hashed mask is a function of (run seed, node name, step,
 * element) only, so runs repeat and resume bit for bit. The backward needs no special rule:
 * the mask is a constant factor of a Mul. Eval and inference graphs keep dropout off.
 *
 * Both Dropout forms: opset >= 12 (ratio as an optional input, default 0.5, and a
 * training_mode input, overridden: the train graph trains every dropout, as model.train()
 * does in PyTorch) and opset < 12 (ratio attribute). A used mask output (the second one)
 * becomes the keep mask (bool; in x's type before opset 10, where the mask had it).
 */
import type { Graph, Node } from '../graph/graph.ts';
import type { Emitter } from '../graph/emitter.ts';
import { attrFloat } from '../graph/attributes.ts';
import { describeNode } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { makeTensor, tensorNumbers } from '../onnx/tensor.ts';
import { UserError } from '../../contract/errors.ts';
import { hashedKeepMask, type DropoutRatio } from './hashed-dropout.ts';

/** FNV-1a of the node name mixed with the run seed: the salt of one Dropout node's masks. */
export function dropoutSeed(runSeed: number, nodeName: string): number {
  let h = 0x811c9dc5 ^ (runSeed >>> 0);
  for (let i = 0; i < nodeName.length; i++) h = Math.imul(h ^ nodeName.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/** The name the train graph gives its step counter (compiler/train/build.ts). */
export const DEFAULT_STEP_INPUT = 'step';

/**
 * Replaces every Dropout node of the train graph with hashed training-mode dropout. `step`
 * names the int64 scalar that differs between forward passes (the train graph's `step`
 * input: optimizer updates already applied); it may be declared after this call. Returns how
 * many nodes were replaced.
 */
export function enableTrainingDropout(graph: Graph, e: Emitter, runSeed: number, step: string = DEFAULT_STEP_INPUT): number {
  const consumed = new Set<string>(graph.outputNames());
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumed.add(i);
  let count = 0;
  for (let at = 0; at < graph.nodes.length; at++) {
    const node = graph.nodes[at]!;
    if (node.opType !== 'Dropout' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    const start = graph.nodes.length;
    emitHashedDropout(node, e, dropoutSeed(runSeed, node.name || node.outputs[0]!), step, consumed);
    // The replacement takes the Dropout's place, so the node order stays topological.
    const added = graph.nodes.splice(start);
    graph.nodes.splice(at, 1, ...added);
    at += added.length - 1;
    count++;
  }
  return count;
}

function ratioOf(node: Node, e: Emitter): DropoutRatio {
  if (e.opset < 12) return attrFloat(node, 'ratio', 0.5);
  const r = node.inputs[1];
  if (!r) return 0.5;
  const t = e.constTensor(r);
  if (!t) return r;
  const v = tensorNumbers(t)[0];
  if (v === undefined || !(v >= 0 && v < 1)) throw new UserError(`${describeNode(node)} has dropout ratio ${v}; it must be in [0, 1)`);
  return v;
}

function emitHashedDropout(node: Node, e: Emitter, salt: number, step: string, consumed: ReadonlySet<string>): void {
  const b = e.b;
  const x = node.inputs[0]!;
  const [y, maskOut] = node.outputs;
  const p = ratioOf(node, e);
  if (p !== 0 && e.opset < 11) {
    throw new UserError(`${describeNode(node)}: training-mode dropout needs ai.onnx opset 11 or later (Range); the model imports opset ${e.opset}`, 'convert the model to a newer opset (onnx.version_converter), or set dropout 0');
  }
  const dtype = e.dtype(x);
  const wantMask = !!maskOut && consumed.has(maskOut);
  // The mask output's type: bool from opset 10, the input's type before.
  const maskAsInput = e.opset < 10;
  if (p === 0) {
    if (y) b.op('Identity', [x], undefined, { outputs: [y] });
    if (wantMask) {
      const all = b.op('ConstantOfShape', [b.op('Shape', [x])], { value: makeTensor('value', DataType.BOOL, [1], Uint8Array.of(1)) });
      b.op(maskAsInput ? 'CastLike' : 'Identity', maskAsInput ? [all, x] : [all], undefined, { outputs: [maskOut] });
    }
    return;
  }
  const keep = hashedKeepMask(b, x, p, step, salt);
  if (wantMask) b.op(maskAsInput ? 'CastLike' : 'Identity', maskAsInput ? [keep, x] : [keep], undefined, { outputs: [maskOut] });
  if (!y) return;
  let scale: string;
  if (typeof p === 'number') scale = dtype !== undefined ? e.constant(1 / (1 - p), dtype) : b.op('CastLike', [e.constant(1 / (1 - p), DataType.DOUBLE), x]);
  else {
    const ratio = dtype !== undefined ? b.op('Cast', [p], { to: dtype }) : b.op('CastLike', [p, x]);
    const one = dtype !== undefined ? e.constant(1, dtype) : b.op('CastLike', [e.constant(1, DataType.DOUBLE), x]);
    scale = b.op('Div', [one, b.op('Sub', [one, ratio])]);
  }
  // The mask as x's factor: 1/(1-p) where kept, else 0, as keep cast to x's type times the
  // scale. Where(keep, scale, 0) gives the same numbers in one pass, but ORT's CPU Where
  // broadcasts its scalars element by element: on [1024, 768], with the product with x, the
  // Cast and the Mul take 0.5 ms where the Where took 0.9 (docs/performance.md).
  const factor = b.op('Mul', [dtype !== undefined ? b.op('Cast', [keep], { to: dtype }) : b.op('CastLike', [keep, x]), scale]);
  b.op('Mul', [x, factor], undefined, { outputs: [y] });
}
