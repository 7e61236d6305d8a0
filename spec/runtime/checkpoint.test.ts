import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointStage } from '../../runtime/checkpoint.ts';

function checkpointAt(step: number, size = 6): Checkpoint {
  const fill = (k: number) => Float32Array.from({ length: size }, (_, i) => step * 100 + k + i / 8);
  return {
    step,
    data: { epoch: Math.floor(step / 10), batch: step % 10 },
    rng: { seed: 7, state: [1, 2, 3, step] },
    plan: { modules: [{ id: 'm0', span: [0, 0] }], merges: step },
    artifacts: '/artifacts/here',
    metrics: { loss: 1 / (step + 1) },
    parameters: new Map([['lor2c.m0.A', { shape: [2, size / 2], data: fill(1) }], ['head.weight', { shape: [size], data: fill(2) }]]),
    optimizer: new Map([['lor2c.m0.A:m', { shape: [2, size / 2], data: fill(3) }]]),
  };
}

const root = () => mkdtempSync(join(tmpdir(), 'lor2c-ckpt-'));

test('writes and reads back everything bit-exactly; latest follows the newest', (t) => {
  const dir = root();
  const c = checkpointAt(3);
  const written = writeCheckpoint(dir, c);
  t.is(written, join(dir, 'step-00000003'));
  const back = readCheckpoint(dir);
  t.is(back.step, 3);
  t.deepEqual(back.data, c.data);
  t.deepEqual(back.rng, c.rng);
  t.deepEqual(back.plan, c.plan);
  t.deepEqual(back.metrics, c.metrics);
  t.is(back.artifacts, '/artifacts/here');
  for (const [k, v] of c.parameters) t.deepEqual(back.parameters.get(k), v);
  t.deepEqual(back.optimizer.get('lor2c.m0.A:m'), c.optimizer.get('lor2c.m0.A:m'));
  writeCheckpoint(dir, checkpointAt(5));
  t.is(readCheckpoint(dir).step, 5);
  t.deepEqual(readdirSync(dir).sort(), ['latest', 'step-00000005'], 'the previous checkpoint is removed once the new one is complete');
  t.is(readCheckpoint(join(dir, 'step-00000005')).step, 5, 'a checkpoint directory can be named directly');
});

test('the best checkpoint is kept while newer ones replace each other', (t) => {
  const dir = root();
  const best = { step: 2, metric: 'accuracy', value: 0.9, metrics: { accuracy: 0.9 } };
  writeCheckpoint(dir, { ...checkpointAt(2), best }, { best: true });
  writeCheckpoint(dir, { ...checkpointAt(4), best });
  writeCheckpoint(dir, { ...checkpointAt(6), best });
  t.deepEqual(readdirSync(dir).sort(), ['best', 'latest', 'step-00000002', 'step-00000006']);
  t.is(readCheckpoint(dir, 'best').step, 2);
  t.is(readCheckpoint(dir).best?.checkpoint, undefined);
  t.is(readCheckpoint(dir, 'best').best?.checkpoint, 'step-00000002');
  writeCheckpoint(dir, { ...checkpointAt(8), best: { ...best, step: 8 } }, { best: true });
  t.deepEqual(readdirSync(dir).sort(), ['best', 'latest', 'step-00000008']);
});

test('re-saving a step that latest names does not clobber it', (t) => {
  const dir = root();
  writeCheckpoint(dir, checkpointAt(4));
  const again = writeCheckpoint(dir, { ...checkpointAt(4), metrics: { loss: 123 } });
  t.is(again, join(dir, 'step-00000004-1'));
  t.deepEqual(readCheckpoint(dir).metrics, { loss: 123 });
});

for (const stage of ['files-written', 'renamed', 'latest-written'] as CheckpointStage[]) {
  test(`a failure injected at '${stage}' leaves a readable checkpoint`, (t) => {
    const dir = root();
    writeCheckpoint(dir, checkpointAt(1));
    t.throws(() => writeCheckpoint(dir, checkpointAt(2), { onStage: (s) => { if (s === stage) throw new Error('injected'); } }), { message: 'injected' });
    const back = readCheckpoint(dir);
    t.is(back.step, stage === 'latest-written' ? 2 : 1);
    t.false(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'no temporary directory is left behind');
    writeCheckpoint(dir, checkpointAt(3));
    t.is(readCheckpoint(dir).step, 3);
  });
}

/** A child process that writes checkpoint 1, then stops at `stage` of writing checkpoint 2 until killed. */
function childScript(dir: string, stage: string): string {
  const mod = new URL('../../runtime/checkpoint.ts', import.meta.url).pathname;
  return `import { writeCheckpoint } from '${mod}';
const ckpt = (step) => ({ step, data: { epoch: 0, batch: step }, rng: { seed: 1 }, plan: {}, artifacts: 'a',
  parameters: new Map([['w', { shape: [1 << 18], data: new Float32Array(1 << 18).fill(step) }]]), optimizer: new Map() });
writeCheckpoint(${JSON.stringify(dir)}, ckpt(1));
writeCheckpoint(${JSON.stringify(dir)}, ckpt(2), { onStage: (s) => {
  if (s !== ${JSON.stringify(stage)}) return;
  process.stdout.write('at ' + s + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
} });
`;
}

for (const stage of ['files-written', 'renamed', 'latest-written']) {
  test(`kill -9 during a write at '${stage}' leaves a readable checkpoint`, async (t) => {
    const dir = root();
    const scriptDir = root();
    const script = join(scriptDir, 'writer.mts');
    writeFileSync(script, childScript(dir, stage));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes(`at ${stage}`)) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited early: ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const back = readCheckpoint(dir);
    const expected = stage === 'latest-written' ? 2 : 1;
    t.is(back.step, expected);
    t.is(back.parameters.get('w')!.data[12345], expected);
    if (stage === 'files-written') t.true(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'the interrupted write left only a temporary directory');
    writeCheckpoint(dir, { ...back, step: 3 });
    t.false(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'the next write cleans up');
  });
}

test('corrupt checkpoints are refused with the reason', (t) => {
  const dir = root();
  const ck = writeCheckpoint(dir, checkpointAt(1));
  const state = JSON.parse(readFileSync(join(ck, 'state.json'), 'utf8'));
  writeFileSync(join(ck, 'state.json'), JSON.stringify({ ...state, step: -1 }));
  t.throws(() => readCheckpoint(dir), { message: /state\.json: 'step' is -1, expected a non-negative integer/ });
  // Tampered fields: wrong types, out of range, deep nesting; each named with the file and the field.
  for (const [edit, message] of [
    [{ data: { epoch: 0, batch: '3' } }, /'data\.batch' is "3", expected a non-negative integer/],
    [{ data: { epoch: -2, batch: 0 } }, /'data\.epoch' is -2, expected a non-negative integer/],
    [{ data: null }, /'data' is null, expected an object/],
    [{ rng: { seed: 1.5 } }, /'rng\.seed' is 1\.5, expected an integer/],
    [{ rng: { seed: 1, state: [1, 2, 3] } }, /'rng\.state' is \[1,2,3\], expected four unsigned 32-bit integers/],
    [{ artifacts: 7 }, /'artifacts' is 7, expected the artifacts folder/],
    [{ metrics: { loss: 'low' } }, /'metrics\.loss' is "low", expected a number/],
    [{ best: { step: 1, metric: 'loss', value: '0.1', metrics: {} } }, /'best\.value' is "0\.1", expected a finite number/],
    [{ best: { step: 99, metric: 'loss', value: 0.1, metrics: {} } }, /'best\.step' is 99, expected a step no later than the checkpoint's \(1\)/],
    [{ best: { step: 1, metric: 'loss', value: 0.1, metrics: {}, checkpoint: '../elsewhere' } }, /'best\.checkpoint' is "\.\.\/elsewhere"/],
    [{ extra: 'DEEP' }, /'extra' is \[\[\[.*\.\.\..*, expected an object/],
  ] as const) {
    // A value nested 5000 deep is spliced in as text (JSON.stringify itself would overflow on it).
    writeFileSync(join(ck, 'state.json'), JSON.stringify({ ...state, ...edit }).replace('"DEEP"', '['.repeat(5000) + ']'.repeat(5000)));
    const e = t.throws(() => readCheckpoint(dir));
    t.true(e!.message.startsWith(join(ck, 'state.json')), e!.message);
    t.regex(e!.message, message);
    t.is(e!.name, 'UserError');
  }
  writeFileSync(join(ck, 'state.json'), JSON.stringify(state));
  writeFileSync(join(ck, 'params.safetensors'), new Uint8Array(3));
  t.throws(() => readCheckpoint(dir), { message: /params.safetensors: not a valid safetensors file/ });
  t.throws(() => readCheckpoint(join(dir, 'nope')), { message: /checkpoint not found/ });
  t.false(existsSync(join(dir, 'best')));
  t.throws(() => readCheckpoint(dir, 'best'), { message: /with a 'best' file/ });
});
