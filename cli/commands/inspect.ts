import type { Command } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../command.ts';
import { inspectModel, renderInspection, readModel } from '../../compiler/index.ts';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show a model: opsets, inputs/outputs with shapes, parameter count, op histogram, blocks',
  help: `Usage: lor2c inspect MODEL.onnx [--json]

Reads an ONNX model (external data included) and prints its opset imports, graph inputs and
outputs with their shapes (inferred where the file leaves them unknown), the parameter count
(float tensors, less folded copies and recognised float buffers: masks, rotary and sinusoid
tables, BatchNorm statistics; each one not counted is listed), a histogram of
op types, and the transformer blocks lor2c finds.

Options:
  --json   print one JSON object instead of text`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected exactly one MODEL.onnx');
    const report = inspectModel(readModel(positionals[0]!));
    console.log(values.json ? JSON.stringify(report, null, 2) : renderInspection(report, positionals[0]!));
    return 0;
  },
};
