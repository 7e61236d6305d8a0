/**
 * Inference pipelines: infer.onnx loaded once, adapters swapped on the loaded session.
 *
 * In infer.onnx every trainable parameter is a graph input (role 'param' in the manifest), so
 * switching adapters only changes what is fed: no recompile and no reload. Frozen weights stay
 * inside the session. Rows (JSON objects keyed by the graph's data inputs) are checked against
 * the manifest's schema, batched and padded by runtime/data/collate, and each row's outputs are
 * cut back to the row's own length.
 *
 *     const p = await Pipeline.load('artifacts', { target: 'cpu' });
 *     p.useAdapter('spam.safetensors');
 *     const [{ label, probabilities }] = await p.classify([{ input_ids: [...], attention_mask: [...] }]);
 */
import { join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { IOInfo, Manifest } from '../contract/manifest.ts';
import { adapterValues, sourceParameters, type AdapterSource } from './adapter.ts';
import { readManifest } from './artifacts.ts';
import type { Float32Tensor } from './checkpoint.ts';
import { collate } from './data/collate.ts';
import { checkExample, dataSchema, type CheckedExample, type DataSchema } from './data/schema.ts';
import { paramFeeds } from './evaluate.ts';
import { argmaxRows } from './metrics.ts';
import type { EngineSession, TensorValue } from './engine/engine.ts';
import { nodeEngine } from './engine/node.ts';
import type { SessionSettings, Target } from './session.ts';

export interface PipelineOptions {
  target?: Target;
  /** Threads inside one op (0 or undefined: ORT decides). */
  threads?: number;
  /** Initial adapter (default: the artifacts' adapter.safetensors). Not with `checkpoint`. */
  adapter?: AdapterSource;
  /**
   * Run a checkpoint's values instead (a checkpoint folder's latest, or one checkpoint
   * directory): the pipeline follows it to the artifacts it belongs to, which after a
   * Merge/Inject are DIR's recompile DIR/structure/step-N (`pipeline.dir` says which), as
   * `lor2c infer --checkpoint` does.
   */
  checkpoint?: string;
  /** With `checkpoint`: its best checkpoint instead of the latest. */
  best?: boolean;
  /** Rows per batch for runRows / classify / nextTokenLogits (default 16; a fixed graph batch size wins). */
  batchSize?: number;
  /** Where the CUDA fallback notice goes (default stderr). */
  notice?: SessionSettings['notice'];
}

/** One output of one row, cut to the row's own sizes. */
export interface RowTensor {
  shape: number[];
  /** float32 outputs as Float32Array; any other element type converted to float64. */
  data: Float32Array | Float64Array;
}

export type RowOutputs = Record<string, RowTensor>;

export interface Classification {
  /** Index of the largest logit (first on ties). */
  label: number;
  /** Softmax of the logits (computed in float64). */
  probabilities: number[];
  logits: number[];
}

export class Pipeline {
  private feedsOfParams: Record<string, TensorValue> = {};
  private current = new Map<string, Float32Tensor>();
  readonly schema: DataSchema;
  readonly batchSize: number;
  private readonly outputs: IOInfo[];

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly session: EngineSession,
    /** The provider actually running the session (CUDA falls back to CPU). */
    readonly provider: Target,
    batchSize: number,
  ) {
    const graph = manifest.graphs.infer;
    this.schema = dataSchema(graph, manifest.task);
    const fixed = this.schema.inputs.find((s) => typeof s.batchDim === 'number')?.batchDim as number | undefined;
    this.batchSize = fixed ?? batchSize;
    this.outputs = graph.outputs.filter((o) => o.role === 'output');
    if (this.outputs.length === 0) throw new UserError(`${join(dir, graph.file)}: the manifest lists no model outputs for the inference graph`);
  }

  static async load(requested: string, opts: PipelineOptions = {}): Promise<Pipeline> {
    if (opts.checkpoint !== undefined && opts.adapter !== undefined) throw new UserError('give the pipeline a checkpoint or an adapter, not both');
    // A checkpoint's values run on the artifacts they belong to (after a Merge/Inject, a recompile of DIR).
    const sourced = opts.checkpoint !== undefined || opts.best ? sourceParameters(requested, readManifest(requested), { checkpoint: opts.checkpoint, best: opts.best }) : undefined;
    const dir = sourced?.artifacts ?? requested;
    const manifest = sourced?.manifest ?? readManifest(dir);
    const adapter = sourced?.values ?? opts.adapter;
    const graph = manifest.graphs.infer;
    const batchSize = opts.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
    const session = await nodeEngine({ target: opts.target, intraOpThreads: opts.threads, notice: opts.notice }).open({ kind: 'file', path: join(dir, graph.file) });
    const provider = session.provider as Target;
    // The manifest must describe the graph it sits beside, or feeds would be guessed.
    const described = new Set(graph.inputs.map((i) => i.name));
    const undescribed = session.inputNames.filter((n) => !described.has(n));
    if (undescribed.length > 0) {
      await session.release();
      throw new UserError(`${join(dir, graph.file)} has inputs the manifest does not describe: ${undescribed.join(', ')}`, 'the artifacts directory is inconsistent; recompile it');
    }
    const pipeline = new Pipeline(dir, manifest, session, provider, batchSize);
    pipeline.useAdapter(adapter ?? join(dir, manifest.adapter), sourced !== undefined ? `checkpoint ${sourced.source.path}` : adapter === undefined ? join(dir, manifest.adapter) : undefined);
    return pipeline;
  }

  /**
   * Switches the adapter: a safetensors file, or values by parameter name. Checked against the
   * manifest (every parameter, right shapes, nothing else); on error the previous adapter stays.
   */
  useAdapter(source: AdapterSource, label?: string): void {
    const values = adapterValues(this.manifest, source, label ?? (typeof source === 'string' ? source : 'adapter values'), this.dir);
    this.feedsOfParams = paramFeeds(this.manifest.graphs.infer, values);
    this.current = values;
  }

  /** The adapter values in use, by parameter name. */
  get adapter(): ReadonlyMap<string, Float32Tensor> {
    return this.current;
  }

  /** Runs the graph on ready tensors for its data inputs; the adapter's values are added. */
  async run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>> {
    const wanted = this.schema.inputs.map((s) => s.name);
    const missing = wanted.filter((n) => !(n in feeds));
    const unknown = Object.keys(feeds).filter((n) => !wanted.includes(n));
    if (missing.length > 0 || unknown.length > 0) {
      const parts = [missing.length ? `missing ${missing.map((n) => `'${n}'`).join(', ')}` : '', unknown.length ? `unexpected ${unknown.map((n) => `'${n}'`).join(', ')}` : ''].filter(Boolean);
      throw new UserError(`inference feeds: ${parts.join('; ')} (the graph's data inputs are ${wanted.map((n) => `'${n}'`).join(', ')})`);
    }
    return this.session.run({ ...feeds, ...this.feedsOfParams });
  }

  /** Checks a row against the graph's data inputs; `where` names it in the error. */
  checkRow(row: unknown, where: string): CheckedExample {
    const checked = checkExample(row, this.schema);
    if (typeof checked === 'string') throw new UserError(`${where}: ${checked}`);
    return checked;
  }

  /** Runs JSON rows (objects keyed by the graph's data inputs) in batches; one result per row. */
  async runRows(rows: readonly unknown[]): Promise<RowOutputs[]> {
    return this.runExamples(rows.map((r, i) => this.checkRow(r, `row ${i + 1}`)));
  }

  /** Runs already checked rows (e.g. from a Dataset) in batches; one result per row, in order. */
  async runExamples(examples: readonly CheckedExample[]): Promise<RowOutputs[]> {
    const results: RowOutputs[] = [];
    for (let start = 0; start < examples.length; start += this.batchSize) {
      const chunk = examples.slice(start, start + this.batchSize);
      // A graph with a fixed batch size gets full batches: the tail is filled with copies and their outputs dropped.
      const batch = chunk.length < this.batchSize && this.schema.inputs.some((s) => typeof s.batchDim === 'number')
        ? [...chunk, ...Array.from({ length: this.batchSize - chunk.length }, () => chunk[chunk.length - 1]!)]
        : chunk;
      const out = await this.run(collate(batch, this.schema).feeds);
      chunk.forEach((ex, i) => results.push(this.rowOutputs(out, i, ex)));
    }
    return results;
  }

  /** Classification: argmax label and softmax probabilities of the task's logits, per row. */
  async classify(rows: readonly unknown[]): Promise<Classification[]> {
    if (this.manifest.task.kind !== 'classify') throw new UserError(`classify() needs a classification task; these artifacts are for '${this.manifest.task.kind}'`);
    return (await this.runRows(rows)).map((r) => classification(this.logitsOf(r)));
  }

  /** Language modelling: the logits that predict the token after each row's last position. */
  async nextTokenLogits(rows: readonly unknown[]): Promise<Float32Array[]> {
    if (this.manifest.task.kind !== 'lm') throw new UserError(`nextTokenLogits() needs a language-model task; these artifacts are for '${this.manifest.task.kind}'`);
    return (await this.runRows(rows)).map((r) => lastPosition(this.logitsOf(r), this.manifest.task.logits));
  }

  /** The task's logits output of one row's results. */
  logitsOf(outputs: RowOutputs): RowTensor {
    const name = this.manifest.task.logits;
    const t = outputs[name] ?? outputs[this.outputs[0]!.name];
    if (!t) throw new UserError(`the inference graph has no output '${name}' (outputs: ${Object.keys(outputs).join(', ')})`);
    return t;
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * Row `i` of every model output. Dims the manifest names with a symbol the row has a size for
   * (e.g. 'seq') are cut to that size, so padding added for the batch never reaches the caller.
   */
  private rowOutputs(out: Record<string, TensorValue>, i: number, ex: CheckedExample): RowOutputs {
    const result: RowOutputs = {};
    for (const info of this.outputs) {
      const t = out[info.name];
      if (!t) continue;
      const dims = t.dims.slice(1);
      const keep = dims.map((d, k) => {
        const sym = info.shape[k + 1];
        return typeof sym === 'string' && ex.sizes[sym] !== undefined ? Math.min(d, ex.sizes[sym]) : d;
      });
      result[info.name] = { shape: keep, data: sliceRow(t, i, dims, keep) };
    }
    return result;
  }
}

/** Copies row `i` of a [batch, ...dims] tensor, keeping the leading `keep[k]` entries of each dim. */
function sliceRow(t: TensorValue, i: number, dims: readonly number[], keep: readonly number[]): Float32Array | Float64Array {
  const src = t.data as ArrayLike<number | bigint>;
  const perRow = dims.reduce((a, b) => a * b, 1);
  const total = keep.reduce((a, b) => a * b, 1);
  const out = t.type === 'float32' ? new Float32Array(total) : new Float64Array(total);
  const strides = dims.map((_, k) => dims.slice(k + 1).reduce((a, b) => a * b, 1));
  let at = 0;
  const walk = (depth: number, offset: number): void => {
    if (depth === dims.length) {
      out[at++] = Number(src[offset]!);
      return;
    }
    for (let j = 0; j < keep[depth]!; j++) walk(depth + 1, offset + j * strides[depth]!);
  };
  walk(0, i * perRow);
  return out;
}

function classification(logits: RowTensor): Classification {
  if (logits.shape.length !== 1) throw new UserError(`classification logits must be one vector per row, got shape ${JSON.stringify(logits.shape)} per row`);
  const values = Array.from(logits.data);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return { label: argmaxRows(values, values.length)[0]!, probabilities: exps.map((e) => e / sum), logits: values };
}

function lastPosition(logits: RowTensor, name: string): Float32Array {
  if (logits.shape.length !== 2) throw new UserError(`language-model logits '${name}' must be [seq, vocab] per row, got ${JSON.stringify(logits.shape)}`);
  const [seq, vocab] = logits.shape as [number, number];
  if (seq === 0) throw new UserError('a row with no positions has no next-token logits');
  return Float32Array.from(logits.data.subarray((seq - 1) * vocab, seq * vocab));
}
