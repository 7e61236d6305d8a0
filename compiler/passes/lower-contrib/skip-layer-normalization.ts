/**
 * com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization: the residual Add
 * onnxruntime's optimizer folds into the norm (input + skip + bias), then LayerNorm / RMSNorm
 * over the last axis. Written out, the residual Add is an ordinary Add again, so block
 * discovery sees the stream; the sum is output 3 (input_skip_bias_sum), which pre-LN models
 * carry on as the stream.
 *
 * The bias belongs to the projection whose output is added (the optimizer moved it in here),
 * so it is added to that operand before the residual Add, where a projection's bias Add
 * stands in an unfused export; with neither operand a projection it is added last, as the
 * kernel does. Either order is the same sum.
 */
import { attrFloat } from '../../graph/attributes.ts';
import type { Emitter } from '../../graph/emitter.ts';
import type { Lowering, LoweringContext } from './context.ts';
import { normalize } from './normalize.ts';

const PROJECTIONS = new Set(['MatMul', 'Gemm', 'FusedMatMul']);

function residualSum(c: LoweringContext, e: Emitter, bias: string | undefined): string {
  const input = c.required(0, 'input');
  const skip = c.required(1, 'skip');
  if (!bias) return e.op('Add', [input, skip]);
  const producers = e.graph.producers();
  const projected = [input, skip].find((v) => PROJECTIONS.has(producers.get(v)?.opType ?? ''));
  if (projected === input) return e.op('Add', [e.op('Add', [input, bias]), skip]);
  if (projected === skip) return e.op('Add', [input, e.op('Add', [skip, bias])]);
  return e.op('Add', [e.op('Add', [input, skip]), bias]);
}

function skipNorm(rms: boolean): Lowering {
  return (c) => {
    const e = c.e;
    // SkipLayerNormalization: input, skip, gamma, beta, bias; the simplified one has no beta.
    const bias = c.input(rms ? 3 : 4);
    const sum = residualSum(c, e, bias);
    const n = normalize(e, sum, c.required(0, 'input'), [-1], attrFloat(c.node, 'epsilon', 1e-12), c.required(2, 'gamma'), rms ? undefined : c.input(3), rms, { mean: c.wants(1), invStd: c.wants(2) });
    if (c.wants(1)) {
      const mean = n.mean ?? c.refuse('its output 1 (mean) is read, but an RMS norm has no mean');
      c.bind(1, mean);
    }
    if (c.wants(2)) c.bind(2, n.invStd());
    c.bind(0, n.y);
    if (c.wants(3)) c.bind(3, sum);
  };
}

export const skipLayerNormalization = skipNorm(false);
export const skipSimplifiedLayerNormalization = skipNorm(true);
