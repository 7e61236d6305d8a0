/** One `lor2c` sub-command. Each lives in its own file under cli/commands/ and is listed in cli/commands/index.ts. */
export interface Command {
  readonly name: string;
  /** One line for `lor2c --help`. */
  readonly summary: string;
  /** The full text of `lor2c NAME --help`. */
  readonly help: string;
  /** Returns the process exit code: 0 success, 1 failure or diagnostics, 2 usage error. */
  run(args: string[]): Promise<number>;
}

/** A wrong flag or a missing argument: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
