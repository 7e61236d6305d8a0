/**
 * Reading a model file's graph without the spec language: for the runtime's inference entry
 * ('lor2c/inference'), which reads PEFT adapters against a model and is loaded by generated
 * CommonJS bindings, so it must not load compiler/index.ts (that pulls the DSL's parser
 * library, ES-module only). The node-free rest of what it needs is in compiler/portable.ts.
 */
import { modelFromProto } from './graph/convert.ts';
import type { Graph } from './graph/graph.ts';
import { readModel } from './onnx/read.ts';

/** The main graph of the ONNX file at `path` (read with the compiler's checks). */
export function readModelGraph(path: string): Graph {
  return modelFromProto(readModel(path)).graph;
}
