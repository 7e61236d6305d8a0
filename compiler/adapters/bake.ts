/**
 * An adapter baked into a graph: each trainable-parameter input of an inference graph becomes
 * an initializer holding its value, so the model runs standalone; optionally LoRA is then folded
 * into the weights it adapts (fold-lora.ts), the Transposes of constants are computed once
 * (passes/fold-constant-transposes.ts), and what is left unused is removed.
 */
import type { GraphInfo, Manifest } from '../../contract/manifest.ts';
import { eliminateDeadCode } from '../passes/dce.ts';
import { foldConstantTransposes } from '../passes/fold-constant-transposes.ts';
import type { Graph } from '../graph/graph.ts';
import { DataType } from '../onnx/dtype.ts';
import { makeTensor } from '../onnx/tensor.ts';
import { UserError } from '../../contract/errors.ts';
import { foldLora, type FoldReport } from './fold-lora.ts';

export interface BakeOptions {
  /** Fold LoRA into the weights it adapts where the graph allows. */
  foldLora?: boolean;
  /** Names the graph's file in errors. */
  file: string;
}

/** `values` holds every manifest parameter (checked by the caller) by parameter name. */
export function bakeAdapter(graph: Graph, info: GraphInfo, manifest: Manifest, values: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, opts: BakeOptions): { fold?: FoldReport } {
  // Each parameter input becomes an initializer of the same name.
  const names = new Map<string, string>();
  const paramInputs = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const io of info.inputs) {
    if (io.role !== 'param') continue;
    const name = io.of ?? io.name;
    paramInputs.set(io.name, values.get(name)!);
    names.set(name, io.name);
  }
  const declared = new Set(graph.inputNames());
  const absent = [...paramInputs.keys()].filter((n) => !declared.has(n));
  if (absent.length > 0) throw new UserError(`${opts.file} does not have the parameter inputs the manifest lists: ${absent.join(', ')}`, 'the artifacts directory is inconsistent; recompile it');
  graph.inputs = graph.inputs.filter((v) => !paramInputs.has(v.name));
  for (const [name, t] of paramInputs) graph.initializers.set(name, makeTensor(name, DataType.FLOAT, t.shape, t.data));

  const fold = opts.foldLora ? foldLora(graph, manifest, names) : undefined;
  // The factors are constants now: paths that stay read them transposed once, not per run.
  eliminateDeadCode(graph);
  foldConstantTransposes(graph);
  eliminateDeadCode(graph);
  return { fold };
}
