/**
 * The compiler's surface for code that reads a compiled model's graph without the spec language:
 * the ONNX reader, the graph form, attributes, a LoRA path's trace and half-precision decoding.
 * The runtime's inference entry ('lor2c/inference') reaches PEFT adapters through it, and must
 * not load compiler/index.ts: that pulls the DSL's parser library (chevrotain, ESM only), which
 * generated bindings loaded as CommonJS cannot require.
 */
import { modelFromProto } from './graph/convert.ts';
import type { Graph } from './graph/graph.ts';
import { readModel } from './onnx/read.ts';

export { attrInt } from './graph/attributes.ts';
export type { Graph, Node } from './graph/graph.ts';
export { traceLoraPath } from './adapters/lora-path.ts';
export { halfArrayToFloat } from './onnx/half.ts';

/** The main graph of the ONNX file at `path` (read with the compiler's checks). */
export function readModelGraph(path: string): Graph {
  return modelFromProto(readModel(path)).graph;
}
