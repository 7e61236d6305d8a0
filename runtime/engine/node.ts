/**
 * The Engine on onnxruntime-node: sessions come from session.ts (providers, threads, the CUDA
 * fallback), opened from model files so ORT resolves external data beside them.
 */
import * as ort from 'onnxruntime-node';
import { openSession, type SessionSettings } from '../session.ts';
import type { Engine } from './engine.ts';
import { wrapSession } from './wrap.ts';

export function nodeEngine(settings: SessionSettings = {}): Engine {
  return {
    name: 'onnxruntime-node',
    async open(model) {
      if (model.kind !== 'file') throw new Error('onnxruntime-node sessions are opened from model files, so external data resolves beside them');
      const { session, provider } = await openSession(model.path, settings);
      return wrapSession(session, provider, ort.Tensor);
    },
  };
}
