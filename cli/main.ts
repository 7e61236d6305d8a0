import { commands } from './commands/index.ts';
import { UsageError } from './command.ts';
import { isUserError } from '../contract/errors.ts';
import { fileError } from '../contract/file-errors.ts';
import { wantsHelp } from './args.ts';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'lor2c: compile LoR2C / LoRA fine-tuning of ONNX models into one fused training graph, and run it.',
    '',
    'Usage: lor2c COMMAND [options]     (lor2c COMMAND --help for details)',
    '',
    ...lines,
  ].join('\n');
}

/** Exit codes: 0 success, 1 a user error (bad input, a file that cannot be used), 2 a usage error,
 * 70 an internal error (a lor2c bug: EX_SOFTWARE of sysexits.h), 130 stopped by Ctrl-C. */
export const EXIT = { ok: 0, userError: 1, usage: 2, internal: 70, interrupted: 130 } as const;

/** Runs one CLI invocation; returns the exit code. Never throws for a user mistake. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { version } = await import('../package.json', { with: { type: 'json' } }).then((m) => m.default);
    console.log(version);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`lor2c: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lor2c ${name}: ${e.message}\n\n${command.help}`);
      return EXIT.usage;
    }
    if (isUserError(e)) {
      console.error(`lor2c ${name}: error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return EXIT.userError;
    }
    // A file the user named that cannot be read or written is their situation to fix, not a
    // lor2c bug: say which file and why, without a stack trace.
    const fsError = e as NodeJS.ErrnoException;
    const doing = fsError?.syscall === 'open' || fsError?.syscall === 'read' || fsError?.syscall === 'scandir' ? 'use' : fsError?.syscall ?? 'use';
    const asFileError = fsError?.code ? fileError(e, fsError.path ?? 'a file', doing) : e;
    if (isUserError(asFileError)) {
      console.error(`lor2c ${name}: error: ${asFileError.message}`);
      return EXIT.userError;
    }
    reportInternalError(name, e);
    return EXIT.internal;
  }
}

/** A failure that is lor2c's fault: said to be one, with what is needed to report it. */
export function reportInternalError(command: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  const stack = process.env.LOR2C_DEBUG && e instanceof Error && e.stack ? `\n${e.stack}` : '\n  (LOR2C_DEBUG=1 shows where it happened)';
  console.error(`lor2c ${command}: internal error (a bug in lor2c, not a problem with your input): ${message}\n  please report it with the command you ran${stack}`);
}

/**
 * The process around main(): a closed stdout (`lor2c infer ... | head -1`) ends the run quietly
 * instead of crashing on EPIPE, and an error escaping main is reported as an internal error.
 */
export async function runProcess(argv: string[]): Promise<void> {
  const quietOnClosedPipe = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  };
  process.stdout.on('error', quietOnClosedPipe);
  process.stderr.on('error', quietOnClosedPipe);
  const command = argv[0] ?? 'lor2c';
  process.on('uncaughtException', (e) => {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0);
    reportInternalError(command, e);
    process.exit(EXIT.internal);
  });
  process.on('unhandledRejection', (e) => {
    reportInternalError(command, e);
    process.exit(EXIT.internal);
  });
  process.exitCode = await main(argv);
}
