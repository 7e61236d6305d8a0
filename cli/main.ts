import { commands } from './commands/index.ts';
import { UsageError } from './command.ts';
import { isUserError } from '../contract/errors.ts';
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

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'it is a directory, a file was expected',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EEXIST: 'it already exists',
  ENAMETOOLONG: 'the name is too long',
};

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
      return 2;
    }
    if (isUserError(e)) {
      console.error(`lor2c ${name}: error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return 1;
    }
    // A file the user named that cannot be read or written is their situation to fix, not a
    // lor2c bug: say which file and why, without a stack trace.
    const fsError = e as NodeJS.ErrnoException;
    if (fsError?.code && FILE_ERRORS[fsError.code] && fsError.path) {
      console.error(`lor2c ${name}: error: cannot ${fsError.syscall === 'open' || fsError.syscall === 'read' || fsError.syscall === 'scandir' ? 'use' : fsError.syscall ?? 'use'} '${fsError.path}': ${FILE_ERRORS[fsError.code]} (${fsError.code})`);
      return 1;
    }
    throw e;
  }
}
