/**
 * `lor2c export --peft`: a LoRA (q, v) + trained classifier run on a BERT with torch's
 * initializer names becomes a PEFT LoRA adapter (names, shapes, orientation, config), and
 * `--adapter` / `--init` read it back to the same values and the same eval loss. LoR2C
 * modules, a fused QKV projection's parts and foreign files are refused.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpecFile } from '../../compiler/compile.ts';
import { readSafetensors } from '../../contract/safetensors-file.ts';
import { encodeSafetensors } from '../../contract/safetensors.ts';
import { float32Values } from '../../contract/safetensors.ts';
import { bfloat16ToFloat, floatToHalf, halfToFloat } from '../../compiler/onnx/index.ts';
import { readCheckpoint } from '../../runtime/checkpoint.ts';
import { readManifest } from '../../runtime/artifacts.ts';
import { readAdapterFile } from '../../runtime/adapter.ts';
import { runCli } from '../support/cli.ts';
import '../support/ort.ts';

const fixtures = join(process.cwd(), 'spec/fixtures/fused');
const dir = mkdtempSync(join(tmpdir(), 'lor2c-peft-'));
const data = join(fixtures, 'bert-data.jsonl');
const art = join(dir, 'art');
const ckpt = join(dir, 'ckpt');
const peft = join(dir, 'peft');

function spec(model: string, adapters: string): string {
  return `model "${join(fixtures, model)}"\nblocks auto\n${adapters}\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "classifier.*"\n  optimizer adamw(lr 0.03)\n  batch 4\n  seed 0\n}\n`;
}
const LORA = 'lora {\n  on q, v\n  rank 2\n  alpha 4\n  dropout 0\n}\n';

test.before(async () => {
  writeFileSync(join(dir, 'lora.lor2c'), spec('bert-plain.onnx', LORA));
  compileSpecFile(join(dir, 'lora.lor2c'), { out: art });
  const r = await runCli('train', art, '--data', data, '--steps', '3', '--checkpoint', ckpt);
  if (r.code !== 0) throw new Error(r.err);
});

function evalLoss(out: string): number {
  const m = /loss\s+(-?[0-9.]+)/.exec(out);
  if (!m) throw new Error(`no loss in: ${out}`);
  return Number(m[1]);
}

test.serial('export --peft: PEFT names, orientation and config; --adapter and --init read it back exactly', async (t) => {
  const r = await runCli('export', art, '--peft', peft, '--checkpoint', ckpt);
  t.is(r.code, 0, r.err);
  const config = JSON.parse(readFileSync(join(peft, 'adapter_config.json'), 'utf8'));
  t.like(config, { peft_type: 'LORA', task_type: 'SEQ_CLS', r: 2, lora_alpha: 4, lora_dropout: 0, bias: 'none', fan_in_fan_out: false, modules_to_save: ['classifier'], rank_pattern: {}, alpha_pattern: {} });
  t.deepEqual([...config.target_modules].sort(), [0, 1].flatMap((l) => ['query', 'value'].map((p) => `encoder.layer.${l}.attention.self.${p}`)));

  const file = readSafetensors(join(peft, 'adapter_model.safetensors'));
  const shapes = Object.fromEntries([...file.tensors].map(([n, v]) => [n, v.shape]));
  t.deepEqual(shapes['base_model.model.encoder.layer.1.attention.self.value.lora_A.weight'], [2, 16]);
  t.deepEqual(shapes['base_model.model.encoder.layer.1.attention.self.value.lora_B.weight'], [16, 2]);
  t.deepEqual(shapes['base_model.model.classifier.weight'], [3, 16], 'torch Linear orientation [out, in]');
  t.deepEqual(shapes['base_model.model.classifier.bias'], [3]);
  t.is(Object.keys(shapes).length, 4 * 2 + 2);

  // The values: A and B as lor2c holds them, the head transposed from the MatMul's [in, out].
  const trained = readCheckpoint(ckpt, 'latest').parameters;
  const head = trained.get('classifier.weight')!;
  const peftHead = float32Values(file.tensors.get('base_model.model.classifier.weight')!, 'head');
  t.is(peftHead[1 * 16 + 5], head.data[5 * 3 + 1]);
  const b = trained.get('lora.b0.q.B')!;
  t.deepEqual(float32Values(file.tensors.get('base_model.model.encoder.layer.0.attention.self.query.lora_B.weight')!, 'B'), b.data);
  t.true(b.data.some((v) => v !== 0), 'B trained away from its zero init');

  const back = readAdapterFile(art, readManifest(art), join(peft, 'adapter_model.safetensors'));
  t.deepEqual([...back.keys()], [...trained.keys()].filter((k) => back.has(k)));
  for (const [name, v] of trained) t.deepEqual(back.get(name)?.data, v.data, name);

  const fromCkpt = await runCli('eval', art, '--data', data, '--checkpoint', ckpt);
  const fromPeft = await runCli('eval', art, '--data', data, '--adapter', join(peft, 'adapter_model.safetensors'));
  t.is(fromPeft.code, 0, fromPeft.err);
  t.is(evalLoss(fromPeft.out), evalLoss(fromCkpt.out));

  // --init: training starts from the PEFT values; 0 further steps is refused, so compare step-1 runs from both sources.
  const own = join(dir, 'own.safetensors');
  t.is((await runCli('export', art, '--adapter', own, '--checkpoint', ckpt)).code, 0);
  const viaPeft = await runCli('train', art, '--data', data, '--steps', '1', '--init', join(peft, 'adapter_model.safetensors'), '--checkpoint', join(dir, 'c1'));
  const viaOwn = await runCli('train', art, '--data', data, '--steps', '1', '--init', own, '--checkpoint', join(dir, 'c2'));
  t.is(viaPeft.code, 0, viaPeft.err);
  t.deepEqual([...readCheckpoint(join(dir, 'c1'), 'latest').parameters], [...readCheckpoint(join(dir, 'c2'), 'latest').parameters]);
});

test.serial('a PEFT file with a tensor that maps to nothing, or a different scale, is refused naming it', async (t) => {
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  const file = readSafetensors(join(peft, 'adapter_model.safetensors'));
  const tensors = new Map(file.tensors);
  tensors.set('base_model.model.encoder.layer.0.attention.self.key.lora_A.weight', tensors.get('base_model.model.encoder.layer.0.attention.self.query.lora_A.weight')!);
  writeFileSync(join(bad, 'adapter_model.safetensors'), encodeSafetensors(tensors, {}));
  copyFileSync(join(peft, 'adapter_config.json'), join(bad, 'adapter_config.json'));
  const r = await runCli('eval', art, '--data', data, '--adapter', join(bad, 'adapter_model.safetensors'));
  t.is(r.code, 1);
  t.regex(r.err, /attention\.self\.key\.lora_A\.weight' maps to no parameter/);

  const scaled = join(dir, 'scaled');
  mkdirSync(scaled);
  copyFileSync(join(peft, 'adapter_model.safetensors'), join(scaled, 'adapter_model.safetensors'));
  const config = JSON.parse(readFileSync(join(peft, 'adapter_config.json'), 'utf8'));
  writeFileSync(join(scaled, 'adapter_config.json'), JSON.stringify({ ...config, lora_alpha: 16 }));
  const s = await runCli('eval', art, '--data', data, '--adapter', join(scaled, 'adapter_model.safetensors'));
  t.is(s.code, 1);
  t.regex(s.err, /encoder\.layer\.0\.attention\.self\.query scales by 8 .* by 2/);
});

test.serial('a PEFT pair that does not belong together, or an adapter of another base, is read with a warning saying so', async (t) => {
  const weights = readSafetensors(join(peft, 'adapter_model.safetensors'));
  t.regex(weights.metadata.adapter_config_sha256 ?? '', /^[0-9a-f]{64}$/, 'the weights name their config');
  const clean = await runCli('eval', art, '--data', data, '--adapter', join(peft, 'adapter_model.safetensors'));
  t.is(clean.code, 0, clean.err);
  t.notRegex(clean.err, /warning/);

  // The config replaced (same ranks and scale, so the values still read): warned, not refused.
  const edited = join(dir, 'edited');
  mkdirSync(edited);
  copyFileSync(join(peft, 'adapter_model.safetensors'), join(edited, 'adapter_model.safetensors'));
  const config = JSON.parse(readFileSync(join(peft, 'adapter_config.json'), 'utf8'));
  writeFileSync(join(edited, 'adapter_config.json'), JSON.stringify({ ...config, inference_mode: false }));
  const e = await runCli('eval', art, '--data', data, '--adapter', join(edited, 'adapter_model.safetensors'));
  t.is(e.code, 0, e.err);
  t.regex(e.err, /warning: .*adapter_config\.json is not the config exported with adapter_model\.safetensors/);
  t.is(evalLoss(e.out), evalLoss(clean.out));

  // Trained on another base: the weights' metadata says which; --init warns too.
  const other = join(dir, 'other-base');
  mkdirSync(other);
  writeFileSync(join(other, 'adapter_model.safetensors'), encodeSafetensors(new Map(weights.tensors), { ...weights.metadata, base_sha256: 'c'.repeat(64) }));
  copyFileSync(join(peft, 'adapter_config.json'), join(other, 'adapter_config.json'));
  const o = await runCli('train', art, '--data', data, '--steps', '1', '--init', join(other, 'adapter_model.safetensors'), '--checkpoint', join(dir, 'c3'));
  t.is(o.code, 0, o.err);
  t.regex(o.err, /lor2c train: warning: adapter_model\.safetensors was trained on base model \? \(sha256 cccccccccccc\.\.\.\)/);
});

test.serial('export --peft refuses LoR2C modules, fused projection parts and files it did not write', async (t) => {
  writeFileSync(join(dir, 'lor2c.lor2c'), spec('bert-plain.onnx', 'lor2c {\n  rank 2\n}\n'));
  compileSpecFile(join(dir, 'lor2c.lor2c'), { out: join(dir, 'art-lor2c') });
  const lor2c = await runCli('export', join(dir, 'art-lor2c'), '--peft', join(dir, 'p2'));
  t.is(lor2c.code, 1);
  t.regex(lor2c.err, /LoR2C modules \(b0, b1\).*no counterpart/);

  writeFileSync(join(dir, 'fused.lor2c'), spec('bert-fused.onnx', LORA));
  compileSpecFile(join(dir, 'fused.lor2c'), { out: join(dir, 'art-fused') });
  const fused = await runCli('export', join(dir, 'art-fused'), '--peft', join(dir, 'p3'));
  t.is(fused.code, 1);
  t.regex(fused.err, /LoRA b0\.q: .*not computed by a MatMul/);

  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'adapter_config.json'), '{"peft_type": "LORA"}');
  const foreign = await runCli('export', art, '--peft', mine);
  t.is(foreign.code, 1);
  t.regex(foreign.err, /lor2c did not export/);
  t.is(readFileSync(join(mine, 'adapter_config.json'), 'utf8'), '{"peft_type": "LORA"}');
  t.is((await runCli('export', art, '--peft', peft)).code, 0, 'its own export is replaced');
});

test.serial('ranks and alphas that differ go to rank_pattern / alpha_pattern by module path and read back', async (t) => {
  writeFileSync(join(dir, 'mixed.lor2c'), spec('bert-plain.onnx', 'lora {\n  on q\n  rank 2\n  alpha 4\n}\nlora {\n  on v\n  rank 4\n  alpha 2\n  blocks 1\n}\n'));
  const mixed = join(dir, 'art-mixed');
  compileSpecFile(join(dir, 'mixed.lor2c'), { out: mixed });
  const out = join(dir, 'p-mixed');
  const r = await runCli('export', mixed, '--peft', out);
  t.is(r.code, 0, r.err);
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  t.like(config, { r: 2, lora_alpha: 4, rank_pattern: { 'encoder.layer.1.attention.self.value': 4 }, alpha_pattern: { 'encoder.layer.1.attention.self.value': 2 } });
  t.deepEqual([...config.target_modules].sort(), ['encoder.layer.0.attention.self.query', 'encoder.layer.1.attention.self.query', 'encoder.layer.1.attention.self.value']);
  const manifest = readManifest(mixed);
  const initial = readAdapterFile(mixed, manifest, join(mixed, manifest.adapter));
  const back = readAdapterFile(mixed, manifest, join(out, 'adapter_model.safetensors'));
  for (const [name, v] of initial) t.deepEqual(back.get(name)?.data, v.data, name);
});

test.serial('a PEFT adapter saved in float16 or bfloat16 is widened to float32 exactly', (t) => {
  const file = readSafetensors(join(peft, 'adapter_model.safetensors'));
  const manifest = readManifest(art);
  for (const [dtype, encode, decode] of [['F16', floatToHalf, halfToFloat], ['BF16', (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0]! >>> 16, bfloat16ToFloat]] as const) {
    const half = join(dir, `half-${dtype}`);
    mkdirSync(half);
    const tensors = new Map([...file.tensors].map(([n, v]) => {
      const bits = Uint16Array.from(float32Values(v, n), (x) => encode(x));
      return [n, { dtype, shape: v.shape, data: new Uint8Array(bits.buffer) }] as const;
    }));
    writeFileSync(join(half, 'adapter_model.safetensors'), encodeSafetensors(tensors, {}));
    copyFileSync(join(peft, 'adapter_config.json'), join(half, 'adapter_config.json'));
    const back = readAdapterFile(art, manifest, join(half, 'adapter_model.safetensors'));
    const bits = new Uint16Array(tensors.get('base_model.model.encoder.layer.0.attention.self.query.lora_A.weight')!.data.buffer);
    t.deepEqual(back.get('lora.b0.q.A')!.data, Float32Array.from(bits, (b) => decode(b)), dtype);
    t.is(back.size, manifest.parameters.length);
  }
});
