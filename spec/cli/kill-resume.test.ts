/**
 * The runtime's crash promise, end to end through the CLI: `lor2c train` killed with SIGKILL at
 * an arbitrary moment (after some checkpoint, possibly mid-write) and resumed with --resume
 * reaches byte-identical parameters and optimizer state to an uninterrupted run (dropout on).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-kill-'));
const STEPS = 400;

function train(checkpoints: string, resume: boolean): { done: Promise<number>; kill: () => void } {
  const args = ['bin/lor2c.js', 'train', join(dir, 'art'), '--data', join(dir, 'train.jsonl'), '--steps', String(STEPS), '--checkpoint', checkpoints, '--checkpoint-every', '20'];
  if (resume) args.push('--resume', checkpoints);
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return { done: new Promise((r) => child.on('exit', (code, signal) => r(signal ? -1 : code ?? -1))), kill: () => child.kill('SIGKILL') };
}

test('kill -9 mid-run, resume: the same parameters and optimizer state as an uninterrupted run, byte for byte', async (t) => {
  writeModel(buildBert({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, seed: 2 }).model, join(dir, 'bert.onnx'));
  writeFileSync(join(dir, 'spec.lor2c'), 'model "bert.onnx"\nlor2c {\n  rank 2\n  dropout 0.1\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  trainable "classifier.*"\n  optimizer adamw(lr 1e-2)\n  schedule linear(warmup 5%)\n  batch 4\n}\n');
  compileSpecFile(join(dir, 'spec.lor2c'), { out: join(dir, 'art') });
  const rows = Array.from({ length: 64 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 3 + (i % 5) }, (_, j) => (i * 7 + j) % 30), attention_mask: new Array(3 + (i % 5)).fill(1), label: i % 2 }));
  writeFileSync(join(dir, 'train.jsonl'), rows.join('\n'));

  t.is(await train(join(dir, 'whole'), false).done, 0);
  const killed = join(dir, 'killed');
  for (let attempt = 0; attempt < 2; attempt++) {
    const run = train(killed, attempt > 0);
    // Kill once a checkpoint past the previous one exists, at a moment that varies with timing.
    const before = existsSync(join(killed, 'latest')) ? readFileSync(join(killed, 'latest'), 'utf8') : '';
    for (let i = 0; i < 6000 && (!existsSync(join(killed, 'latest')) || readFileSync(join(killed, 'latest'), 'utf8') === before); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 37 * (attempt + 1)));
    run.kill();
    const code = await run.done;
    t.log(`attempt ${attempt}: killed (${code === -1 ? 'SIGKILL' : `exited ${code} first`}), latest ${readFileSync(join(killed, 'latest'), 'utf8').trim()}`);
  }
  t.is(await train(killed, true).done, 0);
  const final = `step-${String(STEPS).padStart(8, '0')}`;
  for (const file of ['params.safetensors', 'optimizer.safetensors']) {
    t.true(readFileSync(join(dir, 'whole', final, file)).equals(readFileSync(join(killed, final, file))), `${file} differs`);
  }
});
