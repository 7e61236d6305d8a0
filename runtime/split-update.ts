/**
 * The split update's runtime half (compiler/train/update-graph.ts). The train graph has
 * returned the gradients the optimizer applies; the update graph then runs over each parameter
 * in flat chunks of at most UPDATE_CHUNK values, and each chunk's new parameter and state
 * values are written over the old ones in place. The process so holds one copy of the
 * parameters and their state, and a step's new values come back a chunk at a time.
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
import { allFinite, isNonFiniteFlag } from './finite.ts';

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
}

/** Applies the optimizer to every parameter; returns what went bad, if anything did. */
export async function applySplitUpdate(u: SplitUpdate): Promise<{ problem?: string; partial?: boolean }> {
  const chunk = u.chunk ?? UPDATE_CHUNK;
  let first = true;
  for (const p of u.parameters) {
    const param = u.params.get(p.name);
    const grad = u.grads.get(p.name);
    if (!param || !grad) throw new Error(`internal error: the split update has no ${param ? 'gradient' : 'value'} for '${p.name}'`);
    if (grad.length !== param.data.length) throw new Error(`internal error: '${p.name}' has ${param.data.length} values and a gradient of ${grad.length}`);
    const n = param.data.length;
    // Scalar slots (the parameter's update count) advance once per update: read from the first chunk.
    const scalars = new Map<string, Float32Array>();
    // An empty tensor still has its update count advanced: one empty chunk.
    for (let lo = 0; lo < n || (lo === 0 && n === 0); lo += chunk) {
      const hi = Math.min(n, lo + chunk);
      const feeds: Record<string, TensorValue> = {};
      const flat = (a: Float32Array) => tensor('float32', a.subarray(lo, hi), [hi - lo]);
      for (const io of u.graph.inputs) {
        if (io.role === 'param') feeds[io.name] = flat(param.data);
        else if (io.role === 'grad') feeds[io.name] = flat(grad);
        else if (io.role === 'state') {
          const s = slotOf(u.state, p.name, io);
          feeds[io.name] = io.shape.length === 0 ? tensor('float32', s.data, []) : flat(s.data);
        } else if (io.role === 'hyper' && io.slot === 'lr_scale') feeds[io.name] = tensor('float64', Float64Array.of(p.lrScale), []);
        else if (io.role === 'hyper' && io.slot === 'decay') feeds[io.name] = tensor('bool', Uint8Array.of(p.weightDecay ? 1 : 0), []);
        else feeds[io.name] = u.counter(io);
      }
      const out = await u.session.run(feeds);
      countBoundary(u.bytes, u.graph, feeds, out);
      // The graph's flag first; element by element only when it is raised (it may be a sum that overflowed).
      const values = u.graph.outputs.filter((io) => io.role !== 'metric');
      const flag = u.graph.outputs.find(isNonFiniteFlag);
      const clean = flag !== undefined && Number(out[flag.name]!.data[0]) === 0;
      const bad = clean ? [] : values.filter((io) => !allFinite(out[io.name]!.data as Float32Array));
      if (bad.length) {
        const where = `'${p.name}' values ${lo}..${hi - 1}`;
        return first
          ? { problem: `non-finite values in the update of ${where} (${bad.map((io) => io.name).join(', ')})` }
          : { problem: `non-finite values in the update of ${where} (${bad.map((io) => io.name).join(', ')}), after the parameters before it were updated in place`, partial: true };
      }
      for (const io of values) {
        const data = out[io.name]!.data as Float32Array;
        if (io.role === 'param.next') param.data.set(data, lo);
        else if (io.shape.length === 0) {
          if (!scalars.has(io.slot!)) scalars.set(io.slot!, data);
        } else slotOf(u.state, p.name, io).data.set(data, lo);
      }
      first = false;
    }
    for (const [slot, data] of scalars) u.state.set(`${p.name}:${slot}`, { shape: [], data });
  }
  return {};
}

function slotOf(state: ReadonlyMap<string, Float32Tensor>, param: string, io: IOInfo): Float32Tensor {
  const s = state.get(`${param}:${io.slot}`);
  if (!s) throw new Error(`internal error: no optimizer state '${param}:${io.slot}' for the split update`);
  return s;
}
