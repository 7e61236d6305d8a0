import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../command.ts';
import { UserError } from '../../contract/errors.ts';
import { writeFileAtomic } from '../../contract/atomic.ts';
import { readTrainingLog } from '../../runtime/index.ts';
import { renderReport } from '../../runtime/report/html.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: 'a training log as one self-contained HTML page: curves, SFS, merges / injections, parameters',
  help: `Usage: lor2c report LOG.jsonl [--out report.html]

Reads the log of \`lor2c train --log LOG.jsonl\` and writes one HTML file that needs no network
(the chart library is inside it): training loss and learning rate per step, evaluation metrics,
SFS of every LoR2C module at each evaluation and structural point, every merge and injection
marked on the charts and listed, the run's settings and its parameter table.

Options:
  --out FILE   where to write it (default: LOG with .html for .jsonl); written atomically`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { out: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('expected exactly one LOG.jsonl');
    const log = positionals[0]!;
    const out = values.out ?? log.replace(/\.jsonl?$/i, '') + '.html';
    if (out === log) throw new UsageError('--out must differ from the log');
    const records = readTrainingLog(log);
    if (!records.some((r) => r.type === 'step')) throw new UserError(`${log}: no step records; is it a lor2c training log?`);
    // writeFileAtomic names the file and the cause (a full disk, a read-only folder) itself.
    writeFileAtomic(out, renderReport(records, log));
    console.log(`wrote ${out}`);
    return 0;
  },
};
