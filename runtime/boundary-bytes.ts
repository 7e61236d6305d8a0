/**
 * Bytes that cross between JavaScript and ORT in one optimizer step, by what they are. On
 * onnxruntime-node every trainable parameter and its optimizer state go in and come back out
 * each step: its binding has no IO binding and no outputs that stay in ORT, and pre-allocated
 * outputs are written and then copied again into the returned tensor (docs/performance.md).
 * So these figures are the traffic a step costs, and on CUDA the host <-> device copies too.
 */
import type { GraphInfo } from '../contract/manifest.ts';
import type { TensorValue } from './engine/engine.ts';

export interface BoundaryBytes {
  /** Parameters fed in, and their updates read back. */
  params_in: number;
  params_out: number;
  /** Optimizer state (and gradient accumulators) fed in and read back. */
  state_in: number;
  state_out: number;
  /** With the split update: the gradients read back from the train graph, and fed to the update graph. */
  grads_in: number;
  grads_out: number;
  /** The batch (model inputs and labels). */
  batch: number;
  /** Everything else: step counters and flags in; loss and metrics out. */
  other_in: number;
  other_out: number;
}

export function noBytes(): BoundaryBytes {
  return { params_in: 0, params_out: 0, state_in: 0, state_out: 0, grads_in: 0, grads_out: 0, batch: 0, other_in: 0, other_out: 0 };
}

/** Adds one run's feeds and outputs of the train graph (or the split update's) to `into`. */
export function countBoundary(into: BoundaryBytes, graph: GraphInfo, feeds: Record<string, TensorValue>, outputs: Record<string, TensorValue>): void {
  for (const io of graph.inputs) {
    const bytes = feeds[io.name]?.data.byteLength ?? 0;
    if (io.role === 'param') into.params_in += bytes;
    else if (io.role === 'state') into.state_in += bytes;
    else if (io.role === 'grad') into.grads_in += bytes;
    else if (io.role === 'batch') into.batch += bytes;
    else into.other_in += bytes;
  }
  for (const io of graph.outputs) {
    const bytes = outputs[io.name]?.data.byteLength ?? 0;
    if (io.role === 'param.next') into.params_out += bytes;
    else if (io.role === 'state.next') into.state_out += bytes;
    else if (io.role === 'grad') into.grads_out += bytes;
    else into.other_out += bytes;
  }
}

export function totalBytes(b: BoundaryBytes): { in: number; out: number } {
  return { in: b.params_in + b.state_in + b.grads_in + b.batch + b.other_in, out: b.params_out + b.state_out + b.grads_out + b.other_out };
}

/** One line for the progress display: 'boundary 1.2 MiB in, 1.1 MiB out per step (params ..., state ..., batch ...)'. */
export function describeBoundary(b: BoundaryBytes): string {
  const t = totalBytes(b);
  return `boundary ${size(t.in)} in, ${size(t.out)} out per step (parameters ${size(b.params_in)} in / ${size(b.params_out)} out, optimizer state ${size(b.state_in)} / ${size(b.state_out)}, ${b.grads_in + b.grads_out ? `gradients ${size(b.grads_in)} / ${size(b.grads_out)}, ` : ''}batch ${size(b.batch)}, other ${size(b.other_in)} / ${size(b.other_out)})`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
