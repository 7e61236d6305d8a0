/**
 * A minimal training loop over a compiled train graph, for tests: feeds parameters and
 * optimizer state, carries `<name>.next` outputs back into the next step.
 */
import * as ort from 'onnxruntime-node';
import { modelToProto, type Model } from '../../../compiler/graph/index.ts';
import { encodeModel, tensorArray, DataType, type TensorProto } from '../../../compiler/onnx/index.ts';
import type { TrainingGraphs } from '../../../compiler/train/index.ts';

export async function sessionOf(m: Model, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(modelToProto(m)), { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 });
}

function floatTensor(dtype: number, data: Float32Array | Float64Array, dims: number[]): ort.Tensor {
  return new ort.Tensor(dtype === DataType.DOUBLE ? 'float64' : 'float32', data, dims);
}

export class Stepper {
  readonly values = new Map<string, ort.Tensor>();
  step = 0;
  /** Micro-batches fed since the last update (gradient accumulation). */
  micro = 0;
  constructor(readonly graphs: TrainingGraphs, readonly session: ort.InferenceSession, initial: Map<string, TensorProto>) {
    for (const p of graphs.parameters) {
      const t = initial.get(p.name)!;
      const data = tensorArray(t) as Float32Array;
      this.values.set(p.name, floatTensor(p.dtype, data.slice(), p.dims));
      for (const s of p.state) this.values.set(s.input, floatTensor(p.dtype, new (data.constructor as Float32ArrayConstructor)(s.dims.reduce((a, b) => a * b, 1)), s.dims));
      if (graphs.applyUpdate) this.values.set(`${p.name}.grad_accum`, floatTensor(p.dtype, new Float32Array(data.length), p.dims));
    }
  }

  static async create(graphs: TrainingGraphs, initial: Map<string, TensorProto>): Promise<Stepper> {
    return new Stepper(graphs, await sessionOf(graphs.train), initial);
  }

  /** One micro-step; with accumulation, `apply` says whether this one updates. */
  async run(batch: Record<string, ort.Tensor>, apply = true): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = { ...batch, [this.graphs.step]: new ort.Tensor('int64', BigInt64Array.of(BigInt(this.step)), []) };
    if (this.graphs.applyUpdate) feeds[this.graphs.applyUpdate] = new ort.Tensor('bool', Uint8Array.of(apply ? 1 : 0), []);
    if (this.graphs.microStep) feeds[this.graphs.microStep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.micro++)), []);
    if (apply) this.micro = 0;
    const schedule = this.graphs.schedule;
    if (schedule) {
      feeds[schedule.warmupInput] = new ort.Tensor('int64', BigInt64Array.of(BigInt(schedule.warmupSteps)), []);
      feeds[schedule.totalInput] = new ort.Tensor('int64', BigInt64Array.of(BigInt(schedule.totalSteps)), []);
    }
    for (const [k, v] of this.values) feeds[k] = v;
    const out = await this.session.run(feeds);
    for (const p of this.graphs.parameters) {
      this.values.set(p.name, out[p.next]!);
      for (const s of p.state) this.values.set(s.input, out[s.next]!);
      if (this.graphs.applyUpdate) this.values.set(`${p.name}.grad_accum`, out[`${p.name}.grad_accum.next`]!);
    }
    if (apply) this.step++;
    return out;
  }
}

export function scalar(t: ort.Tensor | undefined): number {
  return Number((t!.data as ArrayLike<number | bigint>)[0]);
}

export function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
}
