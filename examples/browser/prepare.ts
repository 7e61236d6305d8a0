/**
 * The browser example's files: a tiny BERT-like base model written as ONNX, compiled with
 * `lor2c compile` against example/classify.lor2c (into artifacts/) and merge-inject.lor2c (a
 * 4-block base, into dynamic/), and the example data beside the artifacts.
 * Skipped when the artifacts are already there and newer than the spec.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
export const exampleDir = join(repo, 'examples/browser/example');

export interface PreparedExample {
  /** Folder served as /example/: artifacts/, dynamic/, the base models, train.jsonl, eval.jsonl. */
  dir: string;
  artifacts: string;
  /** merge-inject.lor2c compiled: artifacts whose Merge / Inject recompile during training. */
  dynamic: string;
  train: string;
  eval: string;
}

/** One example spec compiled into `out/folder` against a freshly written base model of `layers` blocks, unless already newer than the spec. */
function compileExample(out: string, spec: string, folder: string, model: string, layers: number, say: (line: string) => void): string {
  const artifacts = join(out, folder);
  const specPath = join(exampleDir, spec);
  const modelPath = join(out, model);
  const fresh = existsSync(join(artifacts, 'manifest.json')) && existsSync(modelPath) && statSync(join(artifacts, 'manifest.json')).mtimeMs > statSync(specPath).mtimeMs;
  if (fresh) return artifacts;
  say(`writing the base model ${model} (a BERT-like encoder, ${layers} blocks, d 32)`);
  execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'examples/models/write.ts'), 'bert', '--layers', String(layers), '--d-model', '32', '--heads', '2', '--ffn', '64', '--vocab-size', '64', '--max-positions', '16', '--out', modelPath], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  say(`compiling example/${spec} with lor2c compile`);
  execFileSync(process.execPath, [join(repo, 'bin/lor2c.js'), 'compile', specPath, '--model', modelPath, '--out', artifacts], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  return artifacts;
}

export function prepareExample(out = join(repo, 'out/browser-example'), say: (line: string) => void = () => {}): PreparedExample {
  mkdirSync(out, { recursive: true });
  const artifacts = compileExample(out, 'classify.lor2c', 'artifacts', 'bert.onnx', 2, say);
  const dynamic = compileExample(out, 'merge-inject.lor2c', 'dynamic', 'bert4.onnx', 4, say);
  for (const f of ['train.jsonl', 'eval.jsonl']) copyFileSync(join(exampleDir, f), join(out, f));
  return { dir: out, artifacts, dynamic, train: join(out, 'train.jsonl'), eval: join(out, 'eval.jsonl') };
}
