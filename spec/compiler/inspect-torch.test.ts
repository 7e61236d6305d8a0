/**
 * `lor2c inspect` on torch 1.13 exports: its parameter count equals torch's
 * `sum(p.numel() for p in model.parameters())` and its output shapes are torch's, for every
 * committed export recorded in spec/fixtures/torch/parameter-counts.json (made by
 * scripts/reference/parameter-counts.py: BERT, GPT-2 with and without a tied head and HF
 * buffers, LLaMA with cached and computed rotary tables, ViT, nn.TransformerEncoder, a scalar
 * temperature, LayerNorm without affine, sinusoidal position buffers, BatchNorm before and
 * after a conv; opsets 9 to 17, constant folding on and off).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModel, renderInspection } from '../../compiler/inspect.ts';
import { readModel } from '../../compiler/onnx/index.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/torch');

interface Recorded {
  arch: string;
  opset: number;
  constantFolding: boolean;
  parameters: number;
  /**
   * Where the export itself lost parameters (torch fuses Conv + BatchNorm in eval mode): what
   * the file holds, torch's count less BatchNorm's and the conv bias, plus the fused bias.
   */
  parametersInFile?: number;
  buffers: number;
  /** Dims torch produced for the fixed input; 'batch' / 'seq' where they follow those input axes. */
  outputs: { name: string; shape: (number | 'batch' | 'seq' | null)[] }[];
  committed: boolean;
  path: string;
}

const recorded = JSON.parse(readFileSync(join(FIXTURES, 'parameter-counts.json'), 'utf8')) as { files: Record<string, Recorded> };
const committed = Object.entries(recorded.files).filter(([, r]) => r.committed);

test('the record covers every architecture, both foldings and opsets 11 to 17', (t) => {
  const archs = new Set(committed.map(([, r]) => r.arch));
  for (const a of ['bert', 'bert_hf', 'gpt2', 'gpt2_tied_hf', 'llama', 'llama_rope', 'vit', 'nn_encoder', 'nn_encoder_norm_first', 'misc', 'plain_norm', 'sinusoid_pe', 'conv_bn', 'conv_bn_nobias', 'bn_conv']) t.true(archs.has(a), a);
  t.true(committed.some(([, r]) => !r.constantFolding));
  for (const opset of [11, 14, 17]) t.true(committed.some(([, r]) => r.opset === opset), `opset ${opset}`);
  for (const [file, r] of committed) t.true(existsSync(join(FIXTURES, r.path)), file);
});

for (const [file, r] of committed) {
  test(`${file}: torch's parameter count and output shapes`, (t) => {
    const report = inspectModel(readModel(join(FIXTURES, r.path)));
    t.is(report.parameters, r.parametersInFile ?? r.parameters, `${file}: not counted ${JSON.stringify(report.notParameters)}`);
    if (r.parametersInFile !== undefined) t.log(`torch counts ${r.parameters}; the export fused BatchNorm into the conv, leaving ${r.parametersInFile}`);
    t.is(report.outputs.length, r.outputs.length);
    r.outputs.forEach((want, i) => {
      const got = report.outputs[i]!;
      t.is(got.name, want.name);
      t.is(got.shape?.length, want.shape.length, `${got.name}: ${JSON.stringify(got.shape)}`);
      want.shape.forEach((d, k) => {
        const dim = got.shape![k];
        if (typeof d === 'number') t.is(dim, d, `${got.name} dim ${k}`);
        else if (d === null) t.is(typeof dim, 'string', `${got.name} dim ${k}: follows the inputs, so symbolic`);
        else t.is(dim, d, `${got.name} dim ${k}`);
      });
    });
  });
}

test('the text report names what it did not count and why', (t) => {
  const tied = inspectModel(readModel(join(FIXTURES, 'counts/gpt2_tied_hf-opset14-folded.onnx')));
  const text = renderInspection(tied, 'gpt2.onnx');
  t.regex(text, /^parameters {2}22,400 in \d+ tensors/m);
  t.regex(text, /^ {2}not counted: 'onnx::MatMul_\d+' \(3,200\): transposed copy of 'transformer\.wte\.weight'$/m);
  t.regex(text, /^ {2}not counted: '[^']+' \(1\): additive mask \(float buffer\)$/m);
  const llama = inspectModel(readModel(join(FIXTURES, 'llama-opset17.onnx')));
  t.deepEqual(
    llama.notParameters.map((e) => [e.name, e.kind]).sort(),
    [['model.causal', 'mask'], ['model.cos_cached', 'sinusoids'], ['model.sin_cached', 'sinusoids']],
  );
  t.is(llama.floatElements - llama.parameters, 64 * 64 + 2 * 64 * 8);
  const rope = inspectModel(readModel(join(FIXTURES, 'counts/llama_rope-opset14-folded.onnx')));
  t.deepEqual(rope.notParameters.map((e) => [e.elements, e.kind]), [[4, 'frequencies']]);
  const bn = inspectModel(readModel(join(FIXTURES, 'counts/bn_conv-opset14-folded.onnx')));
  t.deepEqual(bn.notParameters.map((e) => [e.elements, e.kind]), [[3, 'statistics'], [3, 'statistics']]);
  const pe = inspectModel(readModel(join(FIXTURES, 'counts/sinusoid_pe-opset14-folded.onnx')));
  t.deepEqual(pe.notParameters.map((e) => [e.elements, e.kind]), [[64 * 32, 'sinusoids']]);
});
