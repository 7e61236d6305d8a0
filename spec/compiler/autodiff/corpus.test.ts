/**
 * The gradient checker over ONNX's own backend test corpus (Debian's libonnx-testdata): every
 * pytorch-converted, pytorch-operator and node model whose ops all have gradient rules and that
 * has floating-point tensors to differentiate (its weights, else its float inputs) gets
 * loss = mean(y^2) / 2 of its first output, and the emitted gradient is compared with central
 * differences through ORT on a sample of elements (float32: a loose bound). Skips cleanly
 * when the corpus is not installed.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, modelFromProto, modelToProto, type Model } from '../../../compiler/graph/index.ts';
import { DataType, encodeModel, fromBinary, makeTensor, readModel, tensorArray, TensorProtoSchema, type TensorProto } from '../../../compiler/onnx/index.ts';
import { differentiate, gradientRuleFor } from '../../../compiler/autodiff/index.ts';
import { isUserError } from '../../../contract/errors.ts';
import { valueInfoFromType } from '../../../compiler/shapes/types.ts';
import { cloneModel } from '../../../compiler/graph/clone.ts';
import { rng } from './gradcheck.ts';

const ROOT = '/usr/share/libonnx-testdata/data';
const SUITES = ['pytorch-converted', 'pytorch-operator', 'node'];
const PROBES = 4;
const MAX_WRT = 4;
const TOLERANCE = 3e-2;
const MIN_OPSET = 9;
/** Cases whose data sits where the function is not differentiable: no gradient to check. */
const NOT_DIFFERENTIABLE_AT_DATA: Record<string, string> = {
  test_reduce_min_default_axes_keepdims_example: 'the minimum is tied three ways',
};
const RANDOM = new Set(['Bernoulli', 'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Multinomial']);
const FEEDABLE = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.INT64, DataType.INT32, DataType.BOOL]);

interface Case { suite: string; name: string; dir: string }

function eligible(dir: string): { model: Model; wrt: string[]; feeds: Map<string, TensorProto> } | undefined {
  let model: Model;
  try {
    model = modelFromProto(readModel(join(dir, 'model.onnx')));
  } catch {
    return undefined;
  }
  const g = model.graph;
  // Emitted gradients need Expand (8), Where and ConstantOfShape (9): older models are out of scope.
  if ((model.opset('') ?? 0) < MIN_OPSET) return undefined;
  if (g.nodes.some((n) => !gradientRuleFor(n.domain, n.opType))) return undefined;
  // Random ops draw anew on every run: finite differences of them mean nothing.
  if (g.nodes.some((n) => RANDOM.has(n.opType) || (n.opType === 'Dropout' && n.inputs[2]))) return undefined;
  const data = join(dir, 'test_data_set_0');
  if (!existsSync(data)) return undefined;
  const feeds = new Map<string, TensorProto>();
  const inputs = g.feedInputs();
  for (let i = 0; i < inputs.length; i++) {
    const f = join(data, `input_${i}.pb`);
    if (!existsSync(f)) return undefined;
    const t = fromBinary(TensorProtoSchema, readFileSync(f));
    if (!FEEDABLE.has(t.dataType)) return undefined;
    feeds.set(inputs[i]!.name, t);
  }
  const out = g.outputs[0];
  const outType = out?.type?.value.case === 'tensorType' ? out.type.value.value.elemType : 0;
  if (!out || outType !== DataType.FLOAT) return undefined;
  const floatInits = [...g.initializers].filter(([, t]) => t.dataType === DataType.FLOAT && t.dims.length > 0).map(([k]) => k);
  const floatInputs = [...feeds].filter(([, t]) => t.dataType === DataType.FLOAT).map(([k]) => k);
  const wrt = (floatInits.length ? floatInits : floatInputs).slice(0, MAX_WRT);
  if (wrt.length === 0) return undefined;
  return { model, wrt, feeds };
}

function toOrt(t: TensorProto): ort.Tensor {
  const dims = t.dims.map(Number);
  const data = tensorArray(t);
  switch (t.dataType) {
    case DataType.FLOAT: return new ort.Tensor('float32', (data as Float32Array).slice(), dims);
    case DataType.DOUBLE: return new ort.Tensor('float64', (data as Float64Array).slice(), dims);
    case DataType.INT64: return new ort.Tensor('int64', (data as BigInt64Array).slice(), dims);
    case DataType.INT32: return new ort.Tensor('int32', (data as Int32Array).slice(), dims);
    case DataType.BOOL: return new ort.Tensor('bool', (data as Uint8Array).slice(), dims);
    default: throw new Error(`input type ${t.dataType}`);
  }
}

/** The model with wrt tensors as graph inputs and loss = mean(y^2) / 2 of output 0 (smooth, so finite differences stay accurate for large outputs). */
function withLoss(model: Model, wrt: string[]): Model {
  const m = cloneModel(model);
  const g = m.graph;
  for (const w of wrt) {
    const t = g.initializers.get(w);
    if (!t) continue;
    g.initializers.delete(w);
    g.inputs = g.inputs.filter((v) => v.name !== w);
    g.inputs.push(valueInfoFromType(w, { dtype: t.dataType, shape: t.dims.map(Number) }));
  }
  const b = new GraphBuilder(g, 'check/');
  const y = g.outputs[0]!.name;
  b.op('Mul', [b.op('ReduceMean', [b.op('Mul', [y, y])], { keepdims: 0 }), b.initializer('half', makeTensor('', DataType.FLOAT, [], Float32Array.of(0.5)))], undefined, { outputs: ['check/loss'] });
  g.outputs = [valueInfoFromType('check/loss', { dtype: DataType.FLOAT })];
  return m;
}

async function session(m: Model): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(modelToProto(m)), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

const cases: Case[] = existsSync(ROOT)
  ? SUITES.flatMap((suite) => (existsSync(join(ROOT, suite)) ? readdirSync(join(ROOT, suite)).sort().map((name) => ({ suite, name, dir: join(ROOT, suite, name) })) : []))
  : [];

if (cases.length === 0) {
  test('libonnx-testdata gradient checks', (t) => {
    t.log(`skipped: ${ROOT} is not installed (apt-get install libonnx-testdata)`);
    t.pass();
  });
}

let checked = 0;
for (const c of cases) {
  const found = eligible(c.dir);
  if (!found) continue;
  const why = NOT_DIFFERENTIABLE_AT_DATA[c.name];
  if (why) {
    test(`corpus ${c.suite}/${c.name} (not checked: ${why})`, (t) => t.pass());
    continue;
  }
  checked++;
  test(`corpus ${c.suite}/${c.name}`, async (t) => {
    const { model, wrt, feeds } = found;
    const opset = model.opset('') ?? 1;
    const fwd = withLoss(model, wrt);
    const back = withLoss(model, wrt);
    let grads: Map<string, string>;
    try {
      const res = differentiate(back.graph, { loss: 'check/loss', wrt, opset });
      if (res.unreached.length === wrt.length) {
        t.log('the output does not depend differentiably on any float tensor (integer-valued or piecewise-constant ops)');
        return t.pass();
      }
      grads = res.gradients;
    } catch (e) {
      // A configuration a rule declines (with a clear message) is not a wrong gradient.
      if (isUserError(e)) {
        t.log(`declined: ${(e as Error).message}`);
        return t.pass();
      }
      throw e;
    }
    back.graph.outputs.push(...wrt.map((w) => valueInfoFromType(grads.get(w)!, { dtype: DataType.FLOAT })));
    const values: Record<string, ort.Tensor> = {};
    for (const [k, v] of feeds) values[k] = toOrt(v);
    for (const w of wrt) if (!values[w]) values[w] = toOrt(model.graph.initializers.get(w)!);
    const out = await (await session(back)).run(values);
    const f = await session(fwd);
    const rand = rng(5);
    let worst = 0;
    for (const w of wrt) {
      const base = values[w]!;
      const x = base.data as Float32Array;
      const analytic = out[grads.get(w)!]!.data as Float32Array;
      t.is(analytic.length, x.length, `gradient of ${w} has the wrong size`);
      const picks = new Set<number>();
      while (picks.size < Math.min(PROBES, x.length)) picks.add(Math.floor(rand() * x.length));
      const diffs: [number, number][] = [];
      for (const k of picks) {
        const h = 1e-2 * Math.max(1, Math.abs(x[k]!) / 1e4);
        // The step actually taken in float32 (for large x, x + h rounds).
        const up = Math.fround(x[k]! + h);
        const down = Math.fround(x[k]! - h);
        const at = async (value: number) => {
          const v = x.slice();
          v[k] = value;
          return ((await f.run({ ...values, [w]: new ort.Tensor('float32', v, base.dims) }))['check/loss']!.data as Float32Array)[0]!;
        };
        diffs.push([((await at(up)) - (await at(down))) / (up - down), analytic[k]!]);
      }
      const scale = Math.max(1e-3, ...diffs.map(([n]) => Math.abs(n)));
      worst = Math.max(worst, ...diffs.map(([n, a]) => Math.abs(n - a) / scale));
    }
    t.log(`opset ${opset}, wrt ${wrt.length} tensors, worst relative error ${worst.toExponential(2)}`);
    t.true(worst < TOLERANCE, `relative error ${worst}`);
  });
}

test('the corpus run checked some models (when installed)', (t) => {
  if (cases.length === 0) return t.pass();
  t.log(`${checked} eligible models of ${cases.length}`);
  t.true(checked > 30);
});
