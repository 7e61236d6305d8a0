import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.ts';
import { UsageError } from '../command.ts';
import { parseCommandArgs } from '../args.ts';
import { renderDiagnostics, tryFormatSpec } from '../../dsl/index.ts';
import { readSpecFile } from '../../compiler/index.ts';

/** Writes beside the target and renames over it, so a crash never leaves half a spec. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = await stat(file).then((s) => s.mode, () => undefined);
  try {
    await writeFile(temp, text, mode === undefined ? {} : { mode });
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export const fmtCommand: Command = {
  name: 'fmt',
  summary: 'print a .lor2c spec in canonical form (comments kept), or rewrite it with --write',
  help: `Usage: lor2c fmt SPEC.lor2c [--write | --check]

Formats an adapter spec canonically: one setting per line, two-space indentation, single
blank lines kept, comments kept in place, numbers and strings exactly as written. Formatting
is idempotent and never changes what the spec means.

Options:
  --write   rewrite SPEC in place (atomically) instead of printing it
  --check   print nothing; exit 1 if SPEC is not in canonical form

A spec with syntax errors is not formatted: its diagnostics are printed, exit status 1.
Exit status: 0 success, 1 syntax errors (or --check found differences), 2 usage error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { write: { type: 'boolean' }, check: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected exactly one SPEC.lor2c');
    if (values.write && values.check) throw new UsageError('--write and --check exclude each other');
    const file = positionals[0]!;
    const text = readSpecFile(file);
    const result = tryFormatSpec(text, file);
    if (result.text === undefined) {
      console.error(renderDiagnostics(result.diagnostics, text));
      console.error(`${file}: not formatted (syntax errors)`);
      return 1;
    }
    if (values.check) {
      if (result.text === text) return 0;
      console.error(`${file}: not in canonical form (run lor2c fmt --write)`);
      return 1;
    }
    if (values.write) {
      if (result.text !== text) await writeAtomically(file, result.text);
      return 0;
    }
    process.stdout.write(result.text);
    return 0;
  },
};
