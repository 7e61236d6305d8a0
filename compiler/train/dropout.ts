/**
 * Training-mode dropout for the train graph. Each Dropout node gets training_mode = true and a
 * `seed` attribute derived from the run seed and the node's name: ORT seeds one generator per
 * node per session, so the sequence of masks over steps is a function of (seed, node) and a run
 * repeats bit for bit. The backward reuses the forward mask (compiler/autodiff/dropout.ts).
 * Eval and inference graphs keep dropout off.
 */
import { AttributeProtoSchema, AttributeType, create } from '../onnx/proto.ts';
import type { Graph } from '../graph/graph.ts';
import type { Emitter } from '../autodiff/emitter.ts';
import { DataType } from '../onnx/dtype.ts';

/** FNV-1a of the node name mixed with the run seed. */
export function dropoutSeed(runSeed: number, nodeName: string): number {
  let h = 0x811c9dc5 ^ (runSeed >>> 0);
  for (let i = 0; i < nodeName.length; i++) h = Math.imul(h ^ nodeName.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/** Switches every Dropout node (opset >= 12) to training mode with a reproducible seed. Returns how many. */
export function enableTrainingDropout(graph: Graph, e: Emitter, runSeed: number): number {
  if (e.opset < 12) return 0;
  let count = 0;
  const on = e.constant(1, DataType.BOOL);
  for (const node of graph.nodes) {
    if (node.opType !== 'Dropout' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    while (node.inputs.length < 3) node.inputs.push('');
    node.inputs[2] = on;
    // Dropout's seed is an INT attribute (the builder's name table would make 'seed' a float).
    const seed = create(AttributeProtoSchema, { name: 'seed', type: AttributeType.INT, i: BigInt(dropoutSeed(runSeed, node.name || node.outputs[0]!)) });
    node.attributes = [...node.attributes.filter((a) => a.name !== 'seed'), seed];
    count++;
  }
  return count;
}
