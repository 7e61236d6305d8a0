/**
 * Lowering of onnxruntime's fused contrib ops (com.microsoft Attention, SkipLayerNormalization,
 * EmbedLayerNormalization, BiasGelu, ...; what its transformer optimizer and Optimum write)
 * into the ordinary ONNX ops an unfused export has. Runs when a model is read, before block
 * discovery and autodiff, so both see residual Adds, norms and projections where the fused
 * ops hid them, and no gradient rule is needed for a fused op. Each lowering computes what the
 * op's CPU kernel computes; a variant it cannot reproduce exactly is refused by name
 * (context.ts), never approximated. One file per op family; this table is where they meet.
 */
import { describeNode, normalizeDomain, type Model, type Node } from '../../graph/graph.ts';
import { Emitter } from '../../graph/emitter.ts';
import { makeAttrs } from '../../graph/attributes.ts';
import { inferGraphShapes, inferShapes } from '../../shapes/index.ts';
import { UserError } from '../../../contract/errors.ts';
import { LoweringContext, REEXPORT_HINT, type Lowering } from './context.ts';
import { attention } from './attention.ts';
import { embedLayerNormalization } from './embed-layer-normalization.ts';
import { fusedMatMul } from './fused-matmul.ts';
import { multiHeadAttention } from './multi-head-attention.ts';
import { rotaryEmbedding } from './rotary-embedding.ts';
import { biasGelu, fastGelu, gelu, quickGelu } from './gelu.ts';
import { layerNormalization, simplifiedLayerNormalization } from './layer-normalization.ts';
import { skipLayerNormalization, skipSimplifiedLayerNormalization } from './skip-layer-normalization.ts';

const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Attention: attention,
  MultiHeadAttention: multiHeadAttention,
  RotaryEmbedding: rotaryEmbedding,
  EmbedLayerNormalization: embedLayerNormalization,
  SkipLayerNormalization: skipLayerNormalization,
  SkipSimplifiedLayerNormalization: skipSimplifiedLayerNormalization,
  LayerNormalization: layerNormalization,
  SimplifiedLayerNormalization: simplifiedLayerNormalization,
  FusedMatMul: fusedMatMul,
  Gelu: gelu,
  BiasGelu: biasGelu,
  FastGelu: fastGelu,
  QuickGelu: quickGelu,
};

/** Fused ops the optimizer writes that are not lowered yet: refused by name rather than left for autodiff to trip on. */
const NOT_LOWERED: Readonly<Record<string, string>> = {
  GroupQueryAttention: 'GroupQueryAttention (a key/value cache with sequence lengths)',
  DecoderMaskedMultiHeadAttention: 'DecoderMaskedMultiHeadAttention (one-token decoding with a cache)',
  PackedAttention: 'PackedAttention (padding removed)',
  PackedMultiHeadAttention: 'PackedMultiHeadAttention (padding removed)',
};

/**
 * onnxruntime's own ops it registers in the default domain: SimplifiedLayerNormalization (no
 * ai.onnx op has the name). Its LayerNormalization there is ai.onnx's before that existed, and
 * autodiff and discovery read it as such.
 */
const DEFAULT_DOMAIN_FUSED = new Set(['SimplifiedLayerNormalization']);

function isContrib(n: Node): boolean {
  const domain = normalizeDomain(n.domain);
  return domain === 'com.microsoft' || (domain === '' && DEFAULT_DOMAIN_FUSED.has(n.opType));
}

/** The fused ops of `model` that have a lowering (or a refusal). */
export function fusedOps(model: Model): Node[] {
  return model.graph.nodes.filter((n) => isContrib(n) && (n.opType in LOWERINGS || n.opType in NOT_LOWERED));
}

export interface LoweringResult {
  /** How many fused nodes were rewritten, by op type. */
  lowered: Record<string, number>;
}

/** Rewrites every fused op of the main graph in place; throws a UserError on a variant it refuses. */
export function lowerContribOps(model: Model): LoweringResult {
  const graph = model.graph;
  const lowered: Record<string, number> = {};
  const fused = new Set(fusedOps(model));
  if (fused.size === 0) return { lowered };
  const e = new Emitter(graph, model.opset('') ?? 1, inferShapes(model), 'lowered/');
  const read = new Set<string>(graph.outputNames());
  for (const n of graph.nodes) for (const i of n.inputs) if (i) read.add(i);
  const original = graph.nodes;
  const weights = new Set(graph.initializers.keys());
  graph.nodes = [];
  let learnedAt = -1;
  const learn = (value: string) => {
    // What the nodes written so far say (a lowered EmbedLayerNormalization's mask_index), once per position.
    if (learnedAt === graph.nodes.length || !graph.nodes.some((n) => n.outputs.includes(value))) return;
    learnedAt = graph.nodes.length;
    for (const [name, t] of inferGraphShapes(graph, model.opsets)) if (!e.shapes.get(name)?.shape) e.setType(name, t);
  };
  try {
    for (const n of original) {
      if (!fused.has(n)) {
        graph.nodes.push(n);
        continue;
      }
      const refused = NOT_LOWERED[n.opType];
      if (refused) throw new UserError(`com.microsoft ${describeNode(n)}: lor2c does not rewrite ${refused} into plain ONNX ops yet`, REEXPORT_HINT);
      LOWERINGS[n.opType]!(new LoweringContext(e, n, read, graph.nodes.length, learn));
      lowered[n.opType] = (lowered[n.opType] ?? 0) + 1;
    }
  } catch (error) {
    graph.nodes = original;
    for (const name of [...graph.initializers.keys()]) if (!weights.has(name)) graph.initializers.delete(name);
    throw error;
  }
  constantsAsNodes(graph, weights);
  return { lowered };
}

/**
 * The lowerings' constants (epsilons, scales, shape lists) become Constant nodes, as an
 * exporter writes them: an initializer is a weight to the parameter count and to a `trainable
 * "*"`, and these are not weights.
 */
function constantsAsNodes(graph: Model['graph'], before: ReadonlySet<string>): void {
  const constants: Node[] = [];
  for (const [name, tensor] of graph.initializers) {
    if (before.has(name)) continue;
    graph.initializers.delete(name);
    constants.push({ name: `${name}_node`, opType: 'Constant', domain: '', inputs: [], outputs: [name], attributes: makeAttrs({ value: tensor }) });
  }
  graph.nodes.unshift(...constants);
}
