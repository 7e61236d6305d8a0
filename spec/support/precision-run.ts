/** A small BERT-shaped classifier compiled and trained at a given `precision`, for the mixed-precision tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBert } from '../../examples/models/index.ts';
import { writeModel } from '../../compiler/onnx/index.ts';
import { compileSpecFile, type SpecCompileResult } from '../../compiler/compile.ts';
import { Trainer, type TrainerOptions, type TrainResult } from '../../runtime/trainer.ts';
import { nodeHost } from '../../runtime/node-host.ts';
import { readTrainingLog } from '../../runtime/log.ts';

export const dir = mkdtempSync(join(tmpdir(), 'lor2c-precision-'));
writeModel(buildBert({ layers: 2, dModel: 64, heads: 2, ffn: 128, vocabSize: 50 }).model, join(dir, 'bert.onnx'));
const rows = Array.from({ length: 16 }, (_, i) => ({ input_ids: Array.from({ length: 8 }, (_, j) => (i * 7 + j * 3) % 50), attention_mask: Array.from({ length: 8 }, (_, j) => (j < 6 + (i % 3) ? 1 : 0)), label: i % 2 }));
export const data = join(dir, 'data.jsonl');
writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));

/** Compiles `precision` (e.g. `fp16(loss_scale 1024)`) into DIR/NAME; `extra`: more `train { }` lines. */
export function compilePrecision(name: string, precision: string, opts: { target?: 'cpu' | 'cuda'; extra?: string; model?: string } = {}): SpecCompileResult {
  const spec = join(dir, `${name}.lor2c`);
  writeFileSync(spec, `model "${opts.model ?? 'bert.onnx'}"\nlor2c {\n  rank 4\n}\ntrain {\n  task classify(logits "logits", labels "label")\n  optimizer adamw(lr 1e-2)\n  batch 4\n  steps 4\n  seed 5\n  precision ${precision}\n${opts.extra ?? ''}}\ntarget ${opts.target ?? 'cpu'}\n`);
  return compileSpecFile(spec, { out: join(dir, name), force: true });
}

export interface Run { result: TrainResult; records: ReturnType<typeof readTrainingLog>; log: string }

/** Trains DIR/NAME's artifacts; the log is DIR/NAME-LOGNAME.jsonl. */
export async function trainCompiled(name: string, opts: Partial<TrainerOptions> & { logName?: string } = {}): Promise<Run> {
  const log = join(dir, `${name}-${opts.logName ?? 'run'}.jsonl`);
  const result = await (await Trainer.open({ artifacts: join(dir, name), data, steps: 4, batchSize: 4, seed: 5, progress: false, log, session: { intraOpThreads: 1 }, ...opts }, nodeHost)).run();
  return { result, records: readTrainingLog(log), log };
}

export const losses = (r: Run) => r.records.filter((x) => x.type === 'step').map((x) => x.loss as number);
