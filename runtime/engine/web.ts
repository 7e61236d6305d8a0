/**
 * The Engine on onnxruntime-web, for browsers: models come as bytes with their external data
 * (the frozen weights file) handed over by name, since a page has no file system. WebGPU is
 * used where the browser offers it and asked for; otherwise (or when WebGPU cannot start) the
 * wasm CPU backend, which runs the same kernels as onnxruntime-node's CPU provider.
 */
import * as ort from 'onnxruntime-web';
import type { Engine } from './engine.ts';
import { wrapSession } from './wrap.ts';

export type WebProvider = 'webgpu' | 'wasm';

export interface WebEngineOptions {
  /** Providers in order of preference (default ['wasm']); the first that starts is used. */
  providers?: readonly WebProvider[];
  /** wasm threads (default 1: threads need a cross-origin isolated page, and one thread keeps runs reproducible). */
  threads?: number;
  /** URL prefix where onnxruntime-web's .wasm and .mjs files are served. */
  wasmPaths?: string;
  /** Told when a preferred provider could not start and the next one is used. */
  notice?: (line: string) => void;
}

/** Whether this browser exposes WebGPU at all (the adapter may still be refused). */
export function webgpuOffered(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return nav?.gpu !== undefined;
}

export function webEngine(opts: WebEngineOptions = {}): Engine {
  ort.env.wasm.numThreads = opts.threads ?? 1;
  if (opts.wasmPaths !== undefined) ort.env.wasm.wasmPaths = opts.wasmPaths;
  ort.env.logLevel = 'error';
  const providers = opts.providers?.length ? opts.providers : (['wasm'] as const);
  return {
    name: 'onnxruntime-web',
    async open(model) {
      if (model.kind !== 'bytes') throw new Error('onnxruntime-web sessions are opened from model bytes: a page has no file system');
      let lastError: unknown;
      for (const provider of providers) {
        if (provider === 'webgpu' && !webgpuOffered()) {
          if (provider !== providers.at(-1)) opts.notice?.(`this browser offers no WebGPU (navigator.gpu is absent); ${model.name} runs on ${providers.at(-1)}`);
          continue;
        }
        try {
          const session = await ort.InferenceSession.create(model.bytes, {
            executionProviders: [provider],
            graphOptimizationLevel: 'all',
            externalData: model.externalData?.map((f) => ({ path: f.path, data: f.data })),
          });
          return wrapSession(session, provider, ort.Tensor);
        } catch (e) {
          lastError = e;
          if (provider !== providers.at(-1)) opts.notice?.(`${provider} could not run ${model.name} (${(e as Error).message.split('\n')[0]}); trying the next backend`);
        }
      }
      throw new Error(`onnxruntime-web could not open ${model.name}: ${lastError === undefined ? `none of ${providers.join(', ')} is available` : (lastError as Error).message}`);
    },
  };
}
