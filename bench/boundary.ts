/**
 * Bytes across the JS/ORT boundary per training step, and what onnxruntime-node 1.30 offers
 * to cut them. A BERT-shaped base with its word embeddings trainable (vocab x d floats: a
 * large trainable set, as a big adapter is) and a tiny batch, so the step is mostly traffic.
 * The train graph runs, on the same feeds:
 *   fresh        session.run(feeds): ORT allocates the outputs and the binding returns them
 *                (what the trainer does);
 *   preallocated session.run(feeds, fetches) with an output tensor per output, two sets used
 *                in turn (the step's inputs must stay intact until it is committed).
 * Prints bytes in / out per step by kind and the median step time of each. Then, compiled with
 * `accumulate 4`, a micro-batch that does not apply the update, run reading back every
 * output and only the ones that change (gradient accumulators, loss, metrics), as the
 * trainer does.
 *
 *   nice -n 10 npx tsx bench/boundary.ts [--vocab 30522] [--d 256] [--layers 2] [--steps 8]
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBert } from '../examples/models/index.ts';
import { writeModel } from '../compiler/onnx/index.ts';
import { compileSpecFile } from '../compiler/compile.ts';
import { nodeHost } from '../runtime/node-host.ts';
import { countBoundary, describeBoundary, noBytes } from '../runtime/boundary-bytes.ts';
import type { TensorValue } from '../runtime/engine/engine.ts';
import { median } from './measure.ts';

const { values } = parseArgs({ options: { vocab: { type: 'string', default: '30522' }, d: { type: 'string', default: '256' }, layers: { type: 'string', default: '2' }, steps: { type: 'string', default: '8' }, seq: { type: 'string', default: '16' } } });
const V = Number(values.vocab), D = Number(values.d), L = Number(values.layers), STEPS = Number(values.steps), S = Number(values.seq);
const dir = mkdtempSync(join(tmpdir(), 'lor2c-boundary-'));
try {
  writeModel(buildBert({ layers: L, dModel: D, heads: 4, ffn: 4 * D, vocabSize: V, maxPositions: 128 }).model, join(dir, 'base.onnx'));
  const setup = (accumulate: number) => {
  writeFileSync(join(dir, `b${accumulate}.lor2c`), `model "base.onnx"\nlor2c {\n  rank 8\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "embeddings.word_embeddings.weight"\n  optimizer adamw(lr 1e-3)\n  batch 1\n  accumulate ${accumulate}\n  steps ${STEPS}\n}\n`);
  const { compiled } = compileSpecFile(join(dir, `b${accumulate}.lor2c`), { out: join(dir, `a${accumulate}`) });
  const manifest = compiled.manifest;
  const graph = manifest.graphs.train;
  const params = nodeHost.readParameters(manifest, join(dir, `a${accumulate}`), undefined);
  const feeds: Record<string, ort.Tensor> = {};
  const plain: Record<string, TensorValue> = {};
  for (const io of graph.inputs) {
    let t: ort.Tensor;
    if (io.role === 'param') t = new ort.Tensor('float32', params.get(io.name)!.data.slice(), params.get(io.name)!.shape);
    else if (io.role === 'state') t = new ort.Tensor('float32', new Float32Array(io.shape.map(Number).reduce((a, d) => a * d, 1)), io.shape.map(Number)); // the update count is a scalar
    else if (io.role === 'batch') t = io.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from({ length: io.name === 'label' ? 1 : S }, (_, i) => BigInt(io.name === 'attention_mask' ? 1 : (i * 37) % (io.name === 'label' ? 2 : V))), io.name === 'label' ? [1] : [1, S]) : (() => { throw new Error(`batch input ${io.name} is ${io.dtype}`); })();
    else if (io.role === 'apply') t = new ort.Tensor('bool', Uint8Array.of(0), []);
    else t = new ort.Tensor('int64', BigInt64Array.of(io.slot === 'total_steps' ? BigInt(STEPS) : 0n), []);
    feeds[io.name] = t;
    plain[io.name] = { type: t.type as TensorValue['type'], data: t.data as TensorValue['data'], dims: t.dims };
  }
  return { graph, feeds, plain, file: join(dir, `a${accumulate}`, graph.file) };
  };
  const { graph, feeds, plain, file } = setup(1);
  const session = await ort.InferenceSession.create(file, { enableCpuMemArena: false });
  const first = await session.run(feeds);
  const bytes = noBytes();
  countBoundary(bytes, graph, plain, Object.fromEntries(Object.entries(first).map(([k, t]) => [k, { type: t.type, data: t.data, dims: t.dims } as TensorValue])));
  console.log(`model     bert d ${D}, ${L} layers, vocab ${V}; trainable word embeddings (${(V * D / 1e6).toFixed(1)}M) + LoR2C r 8; batch 1 x ${S}`);
  console.log(describeBoundary(bytes));
  const time = async (run: (i: number) => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      await run(i);
      ms.push(performance.now() - t0);
    }
    return median(ms);
  };
  const fresh = await time(() => session.run(feeds));
  const sets = [0, 1].map(() => Object.fromEntries(Object.entries(first).map(([k, t]) => [k, new ort.Tensor(t.type as 'float32', new (t.data.constructor as Float32ArrayConstructor)(t.data.length) as Float32Array, t.dims)])));
  const pre = await time((i) => session.run(feeds, sets[i % 2]!));
  console.log(`step      fresh outputs ${fresh.toFixed(1)} ms, preallocated outputs ${pre.toFixed(1)} ms (median of ${STEPS})`);
  const acc = setup(4);
  const accSession = await ort.InferenceSession.create(acc.file, { enableCpuMemArena: false });
  const changing = acc.graph.outputs.filter((io) => !(io.role === 'param.next' || (io.role === 'state.next' && io.slot !== 'grad_accum'))).map((io) => io.name);
  const accOut = await accSession.run(acc.feeds);
  const outBytes = (names: string[]) => names.reduce((n, name) => n + (accOut[name]!.data as Float32Array).byteLength, 0);
  const all = await time(() => accSession.run(acc.feeds));
  const some = await time(() => accSession.run(acc.feeds, changing));
  console.log(`accumulate 4, a micro-batch that does not apply: every output read back (${(outBytes(acc.graph.outputs.map((io) => io.name)) / 2 ** 20).toFixed(1)} MiB) ${all.toFixed(1)} ms, only the changing ones (${changing.length} of ${acc.graph.outputs.length} outputs, ${(outBytes(changing) / 2 ** 20).toFixed(1)} MiB) ${some.toFixed(1)} ms`);
  console.log(`memory    peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
