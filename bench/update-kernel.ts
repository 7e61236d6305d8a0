/**
 * The split update with its kernel against the update graph run a chunk at a time: trains the
 * same artifacts (a full fine-tuning compile, whose manifest has `graphs.update.kernel`) with
 * each in turn, in one process, and prints each run's step times (the trainer's own) and the
 * process's RSS after it.
 *
 *   npx tsx bench/update-kernel.ts ARTIFACTS_DIR --data FILE.jsonl [--steps 4] [--rounds 2]
 *
 * The first step of a run opens its sessions: compare the later ones.
 */
import { parseArgs } from 'node:util';
import { Trainer } from '../runtime/trainer.ts';
import { nodeHost } from '../runtime/node-host.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' }, steps: { type: 'string', default: '4' }, rounds: { type: 'string', default: '2' } } });
const artifacts = positionals[0];
if (!artifacts || !values.data) throw new Error('usage: npx tsx bench/update-kernel.ts ARTIFACTS_DIR --data FILE.jsonl [--steps N] [--rounds N]');
for (let round = 0; round < Number(values.rounds); round++) {
  for (const kernel of [true, false]) {
    const seconds: number[] = [];
    const trainer = await Trainer.open({ artifacts, data: values.data, steps: Number(values.steps), shuffle: false, progress: false, updateKernel: kernel, onStep: (r) => seconds.push(r.seconds) }, nodeHost);
    const result = await trainer.run();
    console.log(`${kernel ? 'kernel' : 'graph '}  ${result.status}  steps ${seconds.map((s) => s.toFixed(2)).join(' ')} s  RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
  }
}
