/**
 * An onnxruntime InferenceSession (node or web: both implement onnxruntime-common's API)
 * behind EngineSession: plain values are wrapped into that runtime's own Tensor class on the
 * way in and read back as plain values on the way out, without copying.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import type { EngineSession, Feeds, TensorValue } from './engine.ts';

export function wrapSession(session: InferenceSession, provider: string, TensorClass: TensorConstructor): EngineSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    provider,
    async run(feeds: Feeds, outputs?: readonly string[]) {
      const wrapped: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) wrapped[name] = new TensorClass(t.type, t.data as never, t.dims);
      const out = outputs ? await session.run(wrapped, outputs) : await session.run(wrapped);
      const values: Record<string, TensorValue> = {};
      for (const [name, t] of Object.entries(out)) values[name] = { type: t.type as TensorValue['type'], data: t.data as TensorValue['data'], dims: t.dims };
      return values;
    },
    release: () => session.release(),
  };
}
