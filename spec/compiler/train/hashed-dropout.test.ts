/**
 * Hashed training-mode dropout (compiler/train/dropout.ts + hashed-dropout.ts): the replaced
 * Dropout node keeps about 1 - p of a large tensor and scales the kept values by 1/(1-p); the
 * masks are a function of (step, element, salt) only, identical across sessions, different
 * across steps and nodes, equal to the TypeScript reference hash bit for bit; both Dropout
 * forms (ratio input from opset 12, ratio attribute before) and the mask output are handled;
 * and the gradient through it matches finite differences.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Graph, GraphBuilder, Model, modelToProto } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, makeTensor, makeValueInfo } from '../../../compiler/onnx/index.ts';
import { Emitter } from '../../../compiler/graph/emitter.ts';
import { differentiate } from '../../../compiler/autodiff/index.ts';
import { dropoutSeed, enableTrainingDropout, hashedUniform24 } from '../../../compiler/train/index.ts';
import { checkOpCoverage } from '../../../compiler/passes/op-coverage.ts';
import { isUserError } from '../../../contract/errors.ts';

const N = 1 << 20;
const P = 0.1;
const SEED = 42;

interface Built { model: Model; replaced: number }

/**
 * x [N] -> Dropout (named d1, d2) -> outputs; with `twoSites`, a second Dropout of the same x.
 * The `step` input is declared after the replacement, as the train graph builder does.
 */
function build(opts: { opset: number; dtype?: number; twoSites?: boolean; ratio?: number; maskOutput?: boolean; n?: number; loss?: boolean }): Built {
  const g = new Graph();
  const b = new GraphBuilder(g);
  const dtype = opts.dtype ?? DataType.FLOAT;
  const n = opts.n ?? N;
  const ratio = opts.ratio ?? P;
  g.inputs.push(makeValueInfo('x', dtype, [n]));
  const sites = opts.twoSites ? ['d1', 'd2'] : ['d1'];
  for (const site of sites) {
    const outputs = [`${site}.y`, ...(opts.maskOutput ? [`${site}.mask`] : [])];
    if (opts.opset >= 12) {
      const r = b.initializer('ratio', makeTensor('', dtype === DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT, [], dtype === DataType.DOUBLE ? Float64Array.of(ratio) : Float32Array.of(ratio)));
      b.opN('Dropout', ['x', r], outputs.length, undefined, { name: site, outputs });
    } else {
      b.opN('Dropout', ['x'], outputs.length, { ratio }, { name: site, outputs });
    }
    g.outputs.push(makeValueInfo(`${site}.y`, dtype, [n]));
    if (opts.maskOutput) g.outputs.push(makeValueInfo(`${site}.mask`, opts.opset < 10 ? dtype : DataType.BOOL, [n]));
  }
  if (opts.loss) {
    const y = `${sites[0]}.y`;
    b.op('ReduceSum', [b.op('Mul', [y, b.op('Cos', [y])])], { keepdims: 0 }, { outputs: ['loss'] });
    g.outputs.push(makeValueInfo('loss', dtype, []));
  }
  const model = new Model(g);
  model.opsets.set('', opts.opset);
  const replaced = enableTrainingDropout(g, new Emitter(g, opts.opset, new Map(), 'dropout/'), SEED, 'step');
  g.inputs.push(makeValueInfo('step', DataType.INT64, []));
  return { model, replaced };
}

async function session(m: Model): Promise<ort.InferenceSession> {
  const proto = modelToProto(m);
  proto.irVersion = 10n;
  return ort.InferenceSession.create(encodeModel(proto), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

const ones = (n = N) => new ort.Tensor('float32', new Float32Array(n).fill(1), [n]);
const stepT = (k: number) => new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), []);

function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] !== 0) === (b[i] !== 0)) same++;
  return same / a.length;
}

test('every Dropout is replaced by ops both ORT providers have; no Dropout or random op is left', (t) => {
  const { model, replaced } = build({ opset: 13, twoSites: true, maskOutput: true });
  t.is(replaced, 2);
  t.false(model.graph.nodes.some((n) => n.opType === 'Dropout' || n.opType.startsWith('Random')));
  t.deepEqual(checkOpCoverage(model.graph, model.opsets), []);
});

test('keep rate ~ 1 - p over 2^20 elements; kept values scaled by 1/(1-p); mask output = kept; matches the reference hash', async (t) => {
  const { model } = build({ opset: 13, maskOutput: true });
  const out = await (await session(model)).run({ x: ones(), step: stepT(7) });
  const y = out['d1.y']!.data as Float32Array;
  const mask = out['d1.mask']!.data as Uint8Array;
  let kept = 0;
  let keptSum = 0;
  let wrongScale = 0;
  for (let i = 0; i < N; i++) {
    if (y[i] !== 0) {
      kept++;
      keptSum += y[i]!;
      if (y[i] !== Math.fround(1 / (1 - P))) wrongScale++;
    }
    if ((mask[i] === 1) !== (y[i] !== 0)) return t.fail(`mask output and y disagree at ${i}`);
  }
  const rate = kept / N;
  t.log(`keep rate ${rate.toFixed(5)} (expected ${1 - P}), mean kept value ${(keptSum / kept).toFixed(6)} (expected ${(1 / (1 - P)).toFixed(6)}), mean of y ${(keptSum / N).toFixed(5)}`);
  // Binomial std over 2^20 draws is 3e-4: 0.002 is over 6 sigma.
  t.true(Math.abs(rate - (1 - P)) < 0.002, `keep rate ${rate}`);
  t.is(wrongScale, 0);
  t.true(Math.abs(keptSum / N - 1) < 0.003, 'dropout keeps the expectation');
  const threshold = Math.fround(P * 2 ** 24);
  const salt = dropoutSeed(SEED, 'd1');
  for (let i = 0; i < 4096; i++) {
    const keep = hashedUniform24(7n, 0n, i, salt) >= threshold;
    if (keep !== (mask[i] === 1)) return t.fail(`element ${i}: the graph and hashedUniform24 disagree`);
  }
  t.pass();
});

test('the same step gives the same mask in two sessions; other steps and other nodes give independent masks', async (t) => {
  const { model } = build({ opset: 13, twoSites: true });
  const s1 = await session(model);
  const s2 = await session(model);
  const a = await s1.run({ x: ones(), step: stepT(3) });
  const b = await s2.run({ x: ones(), step: stepT(3) });
  const c = await s1.run({ x: ones(), step: stepT(4) });
  t.deepEqual(a['d1.y']!.data, b['d1.y']!.data);
  t.deepEqual(a['d2.y']!.data, b['d2.y']!.data);
  // Independent Bernoulli(1 - p) masks agree on p^2 + (1-p)^2 of the elements.
  const expected = P * P + (1 - P) * (1 - P);
  const steps = agreement(a['d1.y']!.data as Float32Array, c['d1.y']!.data as Float32Array);
  const nodes = agreement(a['d1.y']!.data as Float32Array, a['d2.y']!.data as Float32Array);
  const y = a['d1.y']!.data as Float32Array;
  const neighbours = agreement(y.subarray(0, N - 1), y.subarray(1));
  t.log(`agreement: steps 3/4 ${steps.toFixed(4)}, nodes d1/d2 ${nodes.toFixed(4)}, neighbours ${neighbours.toFixed(4)} (independent: ${expected.toFixed(4)})`);
  for (const v of [steps, nodes, neighbours]) t.true(Math.abs(v - expected) < 0.003, String(v));
});

test('opset 11 form (ratio attribute) and float64 activations', async (t) => {
  const old = build({ opset: 11, maskOutput: true, n: 1 << 16 });
  t.is(old.replaced, 1);
  const out = await (await session(old.model)).run({ x: ones(1 << 16), step: stepT(0) });
  const rate = (out['d1.mask']!.data as Uint8Array).reduce((s, v) => s + v, 0) / (1 << 16);
  t.true(Math.abs(rate - (1 - P)) < 0.01, `keep rate ${rate}`);
  const f64 = build({ opset: 13, dtype: DataType.DOUBLE, n: 4096 });
  const y = (await (await session(f64.model)).run({ x: new ort.Tensor('float64', new Float64Array(4096).fill(1), [4096]), step: stepT(0) }))['d1.y']!.data as Float64Array;
  t.true(y.every((v) => v === 0 || v === 1 / (1 - P)));
});

test('ratio 0 is the identity; a ratio outside [0, 1) and opsets without Range are refused', async (t) => {
  const zero = build({ opset: 13, ratio: 0, maskOutput: true, n: 64 });
  const out = await (await session(zero.model)).run({ x: ones(64), step: stepT(5) });
  t.true((out['d1.y']!.data as Float32Array).every((v) => v === 1));
  t.true((out['d1.mask']!.data as Uint8Array).every((v) => v === 1));
  const bad = t.throws(() => build({ opset: 13, ratio: 1 }));
  t.true(isUserError(bad));
  t.regex(bad!.message, /Dropout 'd1' has dropout ratio 1/);
  const old = t.throws(() => build({ opset: 10 }));
  t.true(isUserError(old));
  t.regex(old!.message, /opset 11/);
});

test('the gradient through the replaced dropout matches finite differences (float64)', async (t) => {
  const n = 24;
  const { model } = build({ opset: 13, dtype: DataType.DOUBLE, n, loss: true, ratio: 0.3 });
  const grads = differentiate(model.graph, { loss: 'loss', wrt: ['x'], opset: 13 });
  const dx = grads.gradients.get('x')!;
  model.graph.outputs.push(makeValueInfo(dx, DataType.DOUBLE, [n]));
  const s = await session(model);
  const x0 = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const at = async (x: Float64Array) => s.run({ x: new ort.Tensor('float64', x, [n]), step: stepT(11) });
  const base = await at(x0);
  const analytic = base[dx]!.data as Float64Array;
  let dropped = 0;
  let worst = 0;
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    const up = x0.slice(); up[i]! += h;
    const down = x0.slice(); down[i]! -= h;
    const numeric = (((await at(up)).loss!.data as Float64Array)[0]! - ((await at(down)).loss!.data as Float64Array)[0]!) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - analytic[i]!));
    if (analytic[i] === 0) dropped++;
  }
  t.log(`${dropped} of ${n} elements dropped, max abs error ${worst.toExponential(2)}`);
  t.true(dropped > 0 && dropped < n, 'some elements dropped, some kept');
  t.true(worst < 1e-7, `max abs error ${worst}`);
});

/** x of `shape` -> Dropout 'd1' (ratio a constant, or the graph input 'p') -> its mask output. */
function shaped(shape: number[], ratio: number | 'input'): Model {
  const g = new Graph();
  const b = new GraphBuilder(g);
  g.inputs.push(makeValueInfo('x', DataType.FLOAT, shape.map((_, i) => `d${i}`)));
  if (ratio === 'input') g.inputs.push(makeValueInfo('p', DataType.FLOAT, []));
  const r = ratio === 'input' ? 'p' : b.initializer('ratio', makeTensor('', DataType.FLOAT, [], Float32Array.of(ratio)));
  b.opN('Dropout', ['x', r], 2, undefined, { name: 'd1', outputs: ['d1.y', 'd1.mask'] });
  g.outputs.push(makeValueInfo('d1.y', DataType.FLOAT, shape), makeValueInfo('d1.mask', DataType.BOOL, shape));
  const model = new Model(g);
  model.opsets.set('', 13);
  enableTrainingDropout(g, new Emitter(g, 13, new Map(), 'dropout/'), SEED, 'step');
  g.inputs.push(makeValueInfo('step', DataType.INT64, []));
  return model;
}

test('every element of a many-row, a one-row, a scalar and an empty tensor matches the reference hash, for constant and fed ratios', async (t) => {
  const salt = dropoutSeed(SEED, 'd1');
  for (const ratio of [0.1, 0.5, 1e-7, 'input' as const]) {
    for (const shape of [[3, 5, 7], [40, 3], [1, 9], [], [4, 0]]) {
      const n = shape.reduce((a, d) => a * d, 1);
      const p = ratio === 'input' ? 0.3 : ratio;
      const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', new Float32Array(n).fill(1), shape), step: stepT(5) };
      if (ratio === 'input') feeds.p = new ort.Tensor('float32', Float32Array.of(p), []);
      const out = await (await session(shaped(shape, ratio))).run(feeds);
      const mask = out['d1.mask']!.data as Uint8Array;
      t.deepEqual(out['d1.mask']!.dims, shape);
      const threshold = Math.fround(p * 2 ** 24);
      const d = shape.length ? shape[shape.length - 1]! : 1;
      for (let i = 0; i < n; i++) {
        if ((hashedUniform24(5n, BigInt(Math.floor(i / d)), i % d, salt) >= threshold) !== (mask[i] === 1)) return t.fail(`ratio ${ratio}, shape [${shape}], element ${i}: the graph and hashedUniform24 disagree`);
      }
    }
  }
  t.pass();
});

test('over the rows of an activation ([1024, 768]): neighbouring rows and columns, and the next step, draw independent masks', async (t) => {
  const [rows, d] = [1024, 768];
  const s = await session(shaped([rows, d], P));
  const feeds = (step: number) => ({ x: new ort.Tensor('float32', new Float32Array(rows * d).fill(1), [rows, d]), step: stepT(step) });
  const a = (await s.run(feeds(9)))['d1.mask']!.data as Uint8Array;
  const next = (await s.run(feeds(10)))['d1.mask']!.data as Uint8Array;
  const rate = a.reduce((sum, v) => sum + v, 0) / a.length;
  const expected = P * P + (1 - P) * (1 - P);
  const rowsAgree = agreement(a.subarray(0, (rows - 1) * d), a.subarray(d));
  const columnsAgree = agreement(a.subarray(0, a.length - 1), a.subarray(1));
  const stepsAgree = agreement(a, next);
  t.log(`keep rate ${rate.toFixed(5)}; agreement: rows r/r+1 ${rowsAgree.toFixed(4)}, columns c/c+1 ${columnsAgree.toFixed(4)}, steps 9/10 ${stepsAgree.toFixed(4)} (independent: ${expected.toFixed(4)})`);
  t.true(Math.abs(rate - (1 - P)) < 0.002, `keep rate ${rate}`);
  for (const v of [rowsAgree, columnsAgree, stepsAgree]) t.true(Math.abs(v - expected) < 0.003, String(v));
});
