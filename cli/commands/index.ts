import type { Command } from '../command.ts';
import { inspectCommand } from './inspect.ts';
import { checkCommand } from './check.ts';
import { fmtCommand } from './fmt.ts';
import { compileCommand } from './compile.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { inferCommand } from './infer.ts';
import { generateCommand } from './generate.ts';
import { exportCommand } from './export.ts';
import { tokenizerCommand } from './tokenizer.ts';
import { reportCommand } from './report.ts';

/** Every `lor2c` sub-command, in the order `lor2c --help` lists them. */
export const commands: readonly Command[] = [inspectCommand, checkCommand, fmtCommand, compileCommand, trainCommand, evalCommand, inferCommand, generateCommand, exportCommand, tokenizerCommand, reportCommand];
