/**
 * The split update's runtime half (compiler/train/update-graph.ts). The train graph has
 * returned the gradients the optimizer applies; the update graph then runs over each parameter
 * in flat chunks of at most UPDATE_CHUNK values, and each chunk's new parameter and state
 * values are written over the old ones in place. The process so holds one copy of the
 * parameters and their state, and a step's new values come back a chunk at a time. Where the
 * manifest has the graph's kernel (runtime/update-kernel.ts), the graph runs once a parameter
 * on an empty chunk, for the scalars the kernel reads and the update count, and the kernel
 * computes the values in place: the same bits, without a pass over memory per operation or
 * onnxruntime-node's copy of every output.
 *
 * Commit: a chunk is written only when all its outputs are finite. The trainer has checked the
 * gradients first, and from finite gradients, parameters and state AdamW and SGD give finite
 * values unless one nears float32's limit (about 3e38), so a refusal part-way is not expected.
 * Should one come, the chunks before it are updated already: the outcome says so (`partial`),
 * and the trainer stops without checkpointing those values.
 */
import type { GraphInfo, IOInfo, ParameterInfo } from '../contract/manifest.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { tensor, type EngineSession, type TensorValue } from './engine/engine.ts';
import { countBoundary, type BoundaryBytes } from './boundary-bytes.ts';
import { allFinite, provenFinite } from './finite.ts';
import type { UpdateKernelRunner } from './update-kernel.ts';

/**
 * Values per chunk: 1M float32 values, 4 MiB per array. Measured on BERT-base's 110M values
 * (docs/performance.md, "The split update"): smaller chunks pay the per-run cost more often
 * (64K: 17 ns a value, 256K: 10), larger ones fall out of the cache and return 16 MiB buffers
 * that fault in afresh (4M: 11); 1M gave 7.
 */
export const UPDATE_CHUNK = 1 << 20;

export interface SplitUpdate {
  session: EngineSession;
  graph: GraphInfo;
  parameters: readonly ParameterInfo[];
  /** Updated in place. */
  params: ReadonlyMap<string, Float32Tensor>;
  /** Optimizer state keyed '<parameter>:<slot>': tensor slots updated in place, scalar slots replaced. */
  state: Map<string, Float32Tensor>;
  /** The gradient each parameter's update applies (the train graph's `grad` outputs). */
  grads: ReadonlyMap<string, Float32Array>;
  /** The step counter and schedule inputs, as the train graph is fed them. */
  counter: (io: IOInfo) => TensorValue;
  bytes: BoundaryBytes;
  chunk?: number;
  /**
   * The update graph's kernel (runtime/update-kernel.ts), where the manifest has one: the graph
   * then runs once a parameter on an empty chunk, for the kernel's scalars and the parameter's
   * update count, and the kernel computes the values, in blocks of `chunk` values when given.
   */
  kernel?: UpdateKernelRunner;
}

/** Applies the optimizer to every parameter; returns what went bad, if anything did. */
export async function applySplitUpdate(u: SplitUpdate): Promise<{ problem?: string; partial?: boolean }> {
  const chunk = u.chunk ?? UPDATE_CHUNK;
  // The updated values (the kernel's scalar operands are read by the kernel alone).
  const values = u.graph.outputs.filter((io) => io.role === 'param.next' || io.role === 'state.next');
  // Inputs of one value per parameter, and those fed a chunk of each tensor.
  const perParameter = u.graph.inputs.filter((io) => io.shape.length === 0);
  const perChunk = u.graph.inputs.filter((io) => io.shape.length !== 0);
  const kernel = u.kernel && kernelBindings(u.kernel, u.graph);
  let written = false;
  for (const p of u.parameters) {
    const param = u.params.get(p.name);
    const grad = u.grads.get(p.name);
    if (!param || !grad) throw new Error(`internal error: the split update has no ${param ? 'gradient' : 'value'} for '${p.name}'`);
    if (grad.length !== param.data.length) throw new Error(`internal error: '${p.name}' has ${param.data.length} values and a gradient of ${grad.length}`);
    // The array an input chunk is read from, or an output chunk written to (param.next over param, a slot's next over the slot).
    const tensorOf = (io: IOInfo): Float32Array => (io.role === 'param' || io.role === 'param.next' ? param.data : io.role === 'grad' ? grad : slotOf(u.state, p.name, io).data);
    const fixed: Record<string, TensorValue> = {};
    for (const io of perParameter) {
      if (io.role === 'state') fixed[io.name] = tensor('float32', slotOf(u.state, p.name, io).data, []);
      else if (io.role === 'hyper' && io.slot === 'lr_scale') fixed[io.name] = tensor('float64', Float64Array.of(p.lrScale), []);
      else if (io.role === 'hyper' && io.slot === 'decay') fixed[io.name] = tensor('bool', Uint8Array.of(p.weightDecay ? 1 : 0), []);
      else fixed[io.name] = u.counter(io);
    }
    const n = param.data.length;
    if (kernel) {
      const refused = await kernelUpdate(u, kernel, p.name, fixed, tensorOf);
      if (refused) return written || refused.partial ? { problem: `${refused.problem}, after the values before it were updated in place`, partial: true } : { problem: refused.problem };
      written = true;
      continue;
    }
    // Scalar slots (the parameter's update count) advance once per update: read from the first chunk.
    const scalars = new Map<string, Float32Array>();
    // An empty tensor still has its update count advanced: one empty chunk.
    for (let lo = 0; lo < n || (lo === 0 && n === 0); lo += chunk) {
      const hi = Math.min(n, lo + chunk);
      const feeds: Record<string, TensorValue> = { ...fixed };
      for (const io of perChunk) feeds[io.name] = tensor('float32', tensorOf(io).subarray(lo, hi), [hi - lo]);
      const out = await u.session.run(feeds);
      countBoundary(u.bytes, u.graph, feeds, out);
      // The graph's flag first; element by element only when it is raised (it may be a sum that overflowed).
      const bad = provenFinite(u.graph.outputs, out) ? [] : values.filter((io) => !allFinite(out[io.name]!.data as Float32Array));
      if (bad.length) {
        const problem = `non-finite values in the update of '${p.name}' values ${lo}..${hi - 1} (${bad.map((io) => io.name).join(', ')})`;
        return written ? { problem: `${problem}, after the parameters before it were updated in place`, partial: true } : { problem };
      }
      for (const io of values) {
        const data = out[io.name]!.data as Float32Array;
        if (io.shape.length !== 0) tensorOf(io).set(data, lo);
        else if (!scalars.has(io.slot!)) scalars.set(io.slot!, data);
      }
      written = true;
    }
    for (const [slot, data] of scalars) u.state.set(`${p.name}:${slot}`, { shape: [], data });
  }
  return {};
}

/** The kernel with the update-graph inputs and outputs its code names, found once an update. */
interface KernelBindings {
  runner: UpdateKernelRunner;
  inputs: IOInfo[];
  outputs: IOInfo[];
  /** The scalar slots (a parameter's update count), which the graph's empty-chunk run advances. */
  counts: IOInfo[];
}

function kernelBindings(runner: UpdateKernelRunner, graph: GraphInfo): KernelBindings {
  const find = (list: readonly IOInfo[], wanted: string) => {
    const io = list.find((x) => x.name === wanted);
    if (!io) throw new Error(`internal error: the update kernel names '${wanted}', which the update graph does not have`);
    return io;
  };
  const k = runner.kernel;
  return {
    runner,
    inputs: k.inputs.map((v) => find(graph.inputs, v)),
    outputs: k.outputs.map((o) => find(graph.outputs, o.name)),
    counts: graph.outputs.filter((io) => io.role === 'state.next' && io.shape.length === 0),
  };
}

/**
 * One parameter's update by the kernel: the graph over an empty chunk gives the kernel's
 * computed scalars and the new update count, then the kernel writes the values in place.
 * Returns what went bad, and whether blocks of this parameter before it were written.
 */
async function kernelUpdate(u: SplitUpdate, kernel: KernelBindings, name: string, fixed: Record<string, TensorValue>, tensorOf: (io: IOInfo) => Float32Array): Promise<{ problem: string; partial: boolean } | undefined> {
  const feeds: Record<string, TensorValue> = { ...fixed };
  for (const io of u.graph.inputs) if (io.shape.length !== 0) feeds[io.name] = tensor('float32', new Float32Array(0), [0]);
  const out = await u.session.run(feeds);
  countBoundary(u.bytes, u.graph, feeds, out);
  const k = kernel.runner.kernel;
  const scalars = Float32Array.from(k.scalars, (s) => ('value' in s ? s.value : (out[s.output]!.data as Float32Array)[0]!));
  const bad = [...k.scalars.flatMap((s, i) => ('output' in s && !Number.isFinite(scalars[i]!) ? [s.output] : [])), ...kernel.counts.filter((io) => !allFinite(out[io.name]!.data as Float32Array)).map((io) => io.name)];
  if (bad.length) return { problem: `non-finite values in the update of '${name}' (${bad.join(', ')})`, partial: false };
  const refused = kernel.runner.apply(kernel.inputs.map(tensorOf), scalars, kernel.outputs.map(tensorOf));
  if (refused) return { problem: `non-finite values in the update of '${name}' values ${refused.from}..${refused.to} (${refused.outputs.join(', ')})`, partial: refused.from > 0 };
  for (const io of kernel.counts) u.state.set(`${name}:${io.slot}`, { shape: [], data: out[io.name]!.data as Float32Array });
  return undefined;
}

function slotOf(state: ReadonlyMap<string, Float32Tensor>, param: string, io: IOInfo): Float32Tensor {
  const s = state.get(`${param}:${io.slot}`);
  if (!s) throw new Error(`internal error: no optimizer state '${param}:${io.slot}' for the split update`);
  return s;
}
