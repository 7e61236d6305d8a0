/**
 * A graph the step's nodes are emitted into (the train graph after its backward pass, or the
 * split update graph), with the typed binding of every input and output it gains: the
 * manifest is written from these bindings, never from the names.
 */
import type { IOInfo } from '../../contract/manifest.ts';
import type { Model } from '../graph/graph.ts';
import { Emitter } from '../graph/emitter.ts';
import { valueInfoFromType, type ValueType } from '../shapes/types.ts';

/** What a graph input or output carries: its manifest entry without the type (which the graph has). */
export type Binding = Omit<IOInfo, 'name' | 'dtype' | 'shape'>;

/** The bindings of one graph's inputs and outputs, by value name. */
export interface GraphInterface {
  inputs: Map<string, Binding>;
  outputs: Map<string, Binding>;
}

export class StepGraph {
  readonly e: Emitter;
  constructor(readonly model: Model, opset: number, shapes: Map<string, ValueType>, readonly io: GraphInterface) {
    this.e = new Emitter(model.graph, opset, shapes, 'step/');
  }

  /** A new graph input of this name and type, bound to what it carries. */
  input(name: string, type: ValueType, binding: Binding): string {
    this.e.b.claim(name);
    this.model.graph.inputs.push(valueInfoFromType(name, type));
    this.e.setType(name, type);
    this.io.inputs.set(name, binding);
    return name;
  }

  /** `value` as the graph output `name`, bound to what it carries. */
  output(value: string, name: string, binding: Binding): string {
    this.e.b.op('Identity', [value], undefined, { outputs: [this.e.b.claim(name)] });
    this.io.outputs.set(name, binding);
    return name;
  }
}
