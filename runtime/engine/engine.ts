/**
 * The one interface between lor2c's runtime and an ONNX Runtime: open a session on a model,
 * run it on named tensors, get named tensors back. Tensors cross it as plain values
 * (element type, typed array, dims), so the data, training and evaluation code above it
 * never touches a runtime's classes and runs unchanged on onnxruntime-node (node.ts) and
 * onnxruntime-web (web.ts, in a browser).
 */

/** Element types the runtime feeds and reads. */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'uint8' | 'int8';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A tensor on the host: row-major elements of `dims` (bool as 0/1 bytes). */
export interface TensorValue {
  readonly type: TensorType;
  readonly data: TensorData;
  readonly dims: readonly number[];
}

export function tensor(type: 'float32', data: Float32Array, dims: readonly number[]): TensorValue;
export function tensor(type: 'int64', data: BigInt64Array, dims: readonly number[]): TensorValue;
export function tensor(type: 'bool', data: Uint8Array, dims: readonly number[]): TensorValue;
export function tensor(type: TensorType, data: TensorData, dims: readonly number[]): TensorValue;
export function tensor(type: TensorType, data: TensorData, dims: readonly number[]): TensorValue {
  return { type, data, dims: [...dims] };
}

/** A scalar int64 (step counters, schedule lengths). */
export function int64Scalar(value: number): TensorValue {
  return tensor('int64', BigInt64Array.of(BigInt(value)), []);
}

export type Feeds = Record<string, TensorValue>;

/** An opened model. */
export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The execution provider actually running it (e.g. 'cpu', 'cuda', 'wasm', 'webgpu'). */
  readonly provider: string;
  /** Runs on `feeds`; with `outputs`, returns (and copies back) only those. */
  run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

/**
 * A model to open: a file (Node: ORT resolves external data beside it) or bytes with their
 * external data files by the names the model's tensors use.
 */
export type ModelSource =
  | { kind: 'file'; path: string }
  | { kind: 'bytes'; name: string; bytes: Uint8Array; externalData?: readonly { path: string; data: Uint8Array }[] };

/** Session options (threads, providers) are the engine's own, fixed when it is made. */
export interface Engine {
  /** For messages: 'onnxruntime-node', 'onnxruntime-web'. */
  readonly name: string;
  open(model: ModelSource): Promise<EngineSession>;
}
