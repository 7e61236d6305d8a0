/**
 * `lor2c train` against hostile situations, through the real CLI: malformed numeric flags, a
 * checkpoint folder another run is using, files of the user's in it, a full disk, a read-only
 * folder, Ctrl-C. Each is a clear message (and the right exit code) and nothing is lost.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile } from '../../compiler/compile.ts';
import { readCheckpoint } from '../../runtime/checkpoint.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lor2c-train-faults-'));
const art = join(dir, 'art');
const data = join(dir, 'train.jsonl');
const repo = new URL('../..', import.meta.url).pathname;
const lor2c = join(repo, 'bin/lor2c.js');

test.before(() => {
  writeModel(buildBert({ layers: 2, dModel: 16, heads: 2, ffn: 32, vocabSize: 30, seed: 2 }).model, join(dir, 'bert.onnx'));
  writeFileSync(join(dir, 'spec.lor2c'), 'model "bert.onnx"\nlor2c {\n  rank 2\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  optimizer adamw(lr 1e-2)\n  batch 4\n}\n');
  compileSpecFile(join(dir, 'spec.lor2c'), { out: art });
  const rows = Array.from({ length: 16 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 3 + (i % 5) }, (_, j) => (i * 7 + j) % 30), attention_mask: new Array(3 + (i % 5)).fill(1), label: i % 2 }));
  writeFileSync(data, rows.join('\n'));
});

for (const [flag, value, message] of [
  ['--seed', 'abc', /--seed must be a non-negative integer, got 'abc'/],
  ['--seed', '1e300', /--seed must be a non-negative integer, got '1e300'/],
  ['--seed', '-1', /--seed must be a non-negative integer/],
  ['--steps', '2.5', /--steps must be a positive integer/],
  ['--steps', '0x10', /--steps must be a positive integer/],
  ['--batch', '99999999999999999999', /--batch must be a positive integer/],
  ['--threads', '100000', /--threads must be at most \d+ \(this machine has \d+ cores\)/],
] as const) {
  test.serial(`${flag} ${value} is a usage error before anything runs`, async (t) => {
    const r = await runCli('train', art, '--data', data, '--steps', '1', `${flag}=${value}`);
    t.is(r.code, 2, r.err);
    t.regex(r.err, message);
  });
}

test.serial('a second run on the same checkpoint folder is refused; Ctrl-C stops the first with its checkpoint and exit code 130', async (t) => {
  const ckpt = join(dir, 'shared');
  const child = spawn(process.execPath, [lor2c, 'train', art, '--data', data, '--steps', '1000000', '--checkpoint', ckpt], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve) => child.stderr.on('data', (d) => { err += d; if (/step +\d+\//.test(err)) resolve(); }));
  const second = await runCli('train', art, '--data', data, '--steps', '2', '--checkpoint', ckpt);
  t.is(second.code, 1, second.err);
  t.regex(second.err, /shared is in use by lor2c train \(pid \d+, since /);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.is(code, 130, err);
  t.true(readCheckpoint(ckpt).step > 0);
  t.false(existsSync(join(ckpt, '.lor2c-lock')), 'the lock is released');
  // The folder is free again.
  t.is((await runCli('train', art, '--data', data, '--steps', '2', '--checkpoint', join(dir, 'shared2'))).code, 0);
});

test.serial('a checkpoint folder keeps files it did not write, even ones named like its own', async (t) => {
  const ckpt = join(dir, 'mixed');
  mkdirSync(join(ckpt, 'step-00000001'), { recursive: true });
  writeFileSync(join(ckpt, 'step-00000001', 'mine.txt'), 'mine');
  mkdirSync(join(ckpt, 'step-notes'));
  writeFileSync(join(ckpt, '.tmp-keep'), 'mine');
  const r = await runCli('train', art, '--data', data, '--steps', '3', '--checkpoint', ckpt, '--checkpoint-every', '1');
  t.is(r.code, 0, r.err);
  t.is(readCheckpoint(ckpt).step, 3);
  t.is(readFileSync(join(ckpt, 'step-00000001', 'mine.txt'), 'utf8'), 'mine');
  t.true(existsSync(join(ckpt, 'step-notes')));
  t.true(existsSync(join(ckpt, '.tmp-keep')));
});

/** Runs a shell script in a private mount namespace (a size-limited tmpfs needs one), or undefined where that is not allowed. */
function inMountNamespace(script: string): { status: number | null; out: string } | undefined {
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=4k tmpfs /mnt'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', cwd: dir });
  return { status: r.status, out: r.stdout + r.stderr };
}

test.serial('a full disk mid-run is a clear error that keeps the previous checkpoint; a read-only folder is refused before step 1', async (t) => {
  const ckpt = join(dir, 'small');
  mkdirSync(ckpt);
  const train = `${process.execPath} ${lor2c} train ${art} --data ${data}`;
  const r = inMountNamespace([
    `mount -t tmpfs -o size=64k tmpfs ${ckpt}`,
    `${train} --steps 2 --checkpoint ${ckpt} >/dev/null 2>&1 || exit 9`,
    // Leave 8 KiB: room for the lock, not for another checkpoint.
    `free=$(df -k ${ckpt} | tail -1 | awk '{print $4}')`,
    `dd if=/dev/zero of=${ckpt}/filler bs=1k count=$((free - 8)) 2>/dev/null`,
    `${train} --steps 4 --resume ${ckpt} --checkpoint ${ckpt} --checkpoint-every 1; echo "exit=$?"`,
    `echo "latest=$(cat ${ckpt}/latest)"; ls -a ${ckpt}`,
    `mount -o remount,ro ${ckpt}`,
    `${train} --steps 4 --checkpoint ${ckpt}/sub; echo "exit=$?"`,
  ].join('\n'));
  if (!r) return t.pass('no private mount namespace here (unshare -rm refused)');
  t.log(r.out);
  t.regex(r.out, /could not write the checkpoint of step 3: cannot write .*: no space left on the device \(ENOSPC\); the previous checkpoint .*step-00000002 is kept/);
  t.regex(r.out, /latest=step-00000002/);
  t.notRegex(r.out, /^\.tmp-step/m, 'the half-written checkpoint is removed');
  t.regex(r.out, /cannot create the checkpoint folder .*sub: read-only file system \(EROFS\)/);
  t.notRegex(r.out, /\n\s+at /, 'no stack trace');
  t.deepEqual([...r.out.matchAll(/exit=(\d+)/g)].map((m) => m[1]), ['1', '1']);
  t.notRegex(r.out.split('remount')[0]!.split('read-only')[1] ?? '', /step 1\//);
});

test.serial('a tampered state.json is refused on --resume with the file and the field: a position past the data, wrong types', async (t) => {
  const ckpt = join(dir, 'tampered');
  t.is((await runCli('train', art, '--data', data, '--steps', '2', '--checkpoint', ckpt)).code, 0);
  const at = readCheckpoint(ckpt).dir;
  const state = JSON.parse(readFileSync(join(at, 'state.json'), 'utf8'));
  for (const [edit, message] of [
    // 16 rows in batches of 4: an epoch has 4 batches.
    [{ data: { epoch: 0, batch: 99 } }, /\(state\.json\): 'data\.batch' is 99, but an epoch of .*train\.jsonl has 4 batches of 4/],
    [{ data: { epoch: 5000, batch: 0 } }, /'data\.epoch' is 5000, more epochs than the 2 steps recorded could have consumed/],
    [{ data: { epoch: 0, batch: 1e300 } }, /state\.json: 'data\.batch' is 1e\+300, expected a non-negative integer/],
    [{ step: 'two' }, /state\.json: 'step' is "two", expected a non-negative integer/],
  ] as const) {
    writeFileSync(join(at, 'state.json'), JSON.stringify({ ...state, ...edit }));
    const r = await runCli('train', art, '--data', data, '--steps', '4', '--resume', ckpt);
    t.is(r.code, 1, r.err);
    t.regex(r.err, message);
    t.notRegex(r.err, /^\s+at .+:\d+:\d+\)?$/m);
    t.notRegex(r.err, /step 3\//);
  }
  writeFileSync(join(at, 'state.json'), JSON.stringify(state));
  t.is((await runCli('train', art, '--data', data, '--steps', '4', '--resume', ckpt)).code, 0);
});
