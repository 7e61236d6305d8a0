/**
 * The browser example's files: a tiny BERT-like base model written as ONNX, compiled with
 * `lor2c compile` against example/classify.lor2c, and the example data beside the artifacts.
 * Skipped when the artifacts are already there and newer than the spec.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
export const exampleDir = join(repo, 'examples/browser/example');

export interface PreparedExample {
  /** Folder served as /example/: artifacts/, train.jsonl, eval.jsonl. */
  dir: string;
  artifacts: string;
  train: string;
  eval: string;
}

export function prepareExample(out = join(repo, 'out/browser-example'), say: (line: string) => void = () => {}): PreparedExample {
  const artifacts = join(out, 'artifacts');
  const spec = join(exampleDir, 'classify.lor2c');
  const fresh = existsSync(join(artifacts, 'manifest.json')) && statSync(join(artifacts, 'manifest.json')).mtimeMs > statSync(spec).mtimeMs;
  mkdirSync(out, { recursive: true });
  if (!fresh) {
    const model = join(out, 'bert.onnx');
    say('writing the base model (a BERT-like encoder, 2 blocks, d 32)');
    execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'examples/models/write.ts'), 'bert', '--layers', '2', '--d-model', '32', '--heads', '2', '--ffn', '64', '--vocab-size', '64', '--max-positions', '16', '--out', model], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
    say('compiling example/classify.lor2c with lor2c compile');
    execFileSync(process.execPath, [join(repo, 'bin/lor2c.js'), 'compile', spec, '--model', model, '--out', artifacts], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  for (const f of ['train.jsonl', 'eval.jsonl']) copyFileSync(join(exampleDir, f), join(out, f));
  return { dir: out, artifacts, train: join(out, 'train.jsonl'), eval: join(out, 'eval.jsonl') };
}
