/**
 * onnxruntime-node sessions for a target. `cuda` asks for ORT's CUDA provider; the npm package
 * ships only the CPU runtime unless it was installed with ONNXRUNTIME_NODE_INSTALL=cuda12, and
 * asking for CUDA without its libraries throws instead of falling back, so we catch that,
 * say once why and how to get CUDA, and continue on CPU.
 *
 * Models are loaded by path so ORT resolves external data (the shared frozen weights) relative
 * to the model file.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { UserError } from '../contract/errors.ts';
import { checkThreads } from './threads.ts';

export type Target = 'cpu' | 'cuda';
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionSettings {
  target?: Target;
  /** Threads inside one op (ORT default: one per physical core). */
  intraOpThreads?: number;
  /** Threads running independent ops in parallel (only used with parallel execution). */
  interOpThreads?: number;
  /** Run independent branches in parallel (ORT's 'parallel' execution mode). */
  parallel?: boolean;
  graphOptimization?: GraphOptimization;
  /**
   * ORT's CPU memory arena (default off: it holds peak memory for the session's life). The
   * trainer turns it on for the train graph, whose every step reallocates the same activations.
   */
  memoryArena?: boolean;
  /**
   * ORT's prepacking of constant MatMul / Gemm weights (default on). In a train graph it holds
   * two packed copies of every frozen weight the backward reads; the trainer allows it only
   * where the compiler estimates those copies small (runtime/trainer.ts trainSessionSettings).
   */
  weightPrepacking?: boolean;
  /**
   * ORT's memory pattern (default on): from the second run on, ORT allocates the activations
   * it planned as one block. The trainer turns it off for the train graph: that block comes on
   * top of what the first run left in the allocator, 1.9 GiB more at the second step on a
   * 1.1B base (docs/performance.md).
   */
  memoryPattern?: boolean;
  /** CUDA device index. */
  deviceId?: number;
  /** Where the one-line CUDA fallback notice goes (default: stderr). */
  notice?: (line: string) => void;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider actually used. */
  provider: Target;
}

/**
 * ORT fixes its process-wide log level when the first session is created. Its warnings are
 * noise to our users and its errors reach us as exceptions (which we report ourselves), and a
 * failed CUDA probe would otherwise print a multi-line native error besides our one line. So
 * the runtime silences ORT's logger unless LOR2C_ORT_LOG_LEVEL (verbose, info, warning, error,
 * fatal) asks for it, e.g. when debugging a graph.
 */
let envConfigured = false;
function configureOrtEnv(): void {
  if (envConfigured) return;
  envConfigured = true;
  const wanted = process.env.LOR2C_ORT_LOG_LEVEL;
  const levels = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;
  ort.env.logLevel = levels.find((l) => l === wanted) ?? 'fatal';
}

/** Why CUDA was unavailable, once known, so the notice is printed once per process. */
let cudaUnavailable: string | undefined;

export function cudaFallbackNotice(reason: string): string {
  return `lor2c: CUDA is not available (${reason}); running on CPU. To use CUDA, reinstall onnxruntime-node with its CUDA 12 libraries on a machine with internet access: ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node`;
}

/** ORT's CPU session options for these settings (exported for bench/profile.ts, which adds its profiler). */
export function baseOptions(s: SessionSettings): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: s.graphOptimization ?? 'all',
    // ORT's CPU arena keeps every block it ever grew to and rounds growth up: off for graphs
    // run once or rarely (eval, infer). The trainer asks for it for the train graph.
    enableCpuMemArena: s.memoryArena ?? false,
  };
  // Packing gives each MatMul / Gemm kernel its own copy of a constant weight in its layout.
  // A train graph reads each frozen weight twice (forward W, backward W^T via Gemm's transB),
  // two packings of one weight: off, both kernels read the one initializer, and every call packs
  // its operand again (docs/performance.md).
  if (s.weightPrepacking === false) opts.extra = { session: { disable_prepacking: '1' } };
  if (s.memoryPattern === false) opts.enableMemPattern = false;
  if (s.intraOpThreads !== undefined) opts.intraOpNumThreads = checkThreads('intraOpThreads', s.intraOpThreads);
  if (s.interOpThreads !== undefined) opts.interOpNumThreads = checkThreads('interOpThreads', s.interOpThreads);
  if (s.parallel) opts.executionMode = 'parallel';
  return opts;
}

/** Opens a model file for the target, falling back from CUDA to CPU with one notice line. */
export async function openSession(modelPath: string, settings: SessionSettings = {}): Promise<OpenedSession> {
  if (!existsSync(modelPath)) throw new UserError(`model file not found: ${modelPath}`);
  const opts = baseOptions(settings);
  configureOrtEnv();
  if ((settings.target ?? 'cpu') === 'cuda' && cudaUnavailable === undefined) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        ...opts,
        executionProviders: [{ name: 'cuda', deviceId: settings.deviceId ?? 0 }, 'cpu'],
        // ORT logs its own multi-line error when the provider library is missing; our one line replaces it.
        logSeverityLevel: 4,
      });
      return { session, provider: 'cuda' };
    } catch (e) {
      const message = (e as Error).message;
      // Only a missing or broken provider falls back; a bad model fails the same way on CPU below.
      cudaUnavailable = /cuda|shared library|provider/i.test(message) ? message.split('\n')[0]!.trim() : undefined;
      if (cudaUnavailable === undefined) throw wrapLoadError(modelPath, e);
      (settings.notice ?? ((l) => process.stderr.write(l + '\n')))(cudaFallbackNotice(cudaUnavailable));
    }
  }
  try {
    return { session: await ort.InferenceSession.create(modelPath, { ...opts, executionProviders: ['cpu'] }), provider: 'cpu' };
  } catch (e) {
    throw wrapLoadError(modelPath, e);
  }
}

function wrapLoadError(path: string, e: unknown): Error {
  return new UserError(`onnxruntime could not load ${path}: ${(e as Error).message}`);
}

/** Forgets a CUDA failure (tests; a process that installed the libraries meanwhile). */
export function resetCudaProbe(): void {
  cudaUnavailable = undefined;
}
