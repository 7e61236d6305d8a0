/**
 * UserError: a mistake in the user's input (a model, a spec, a data file, a flag), as opposed
 * to a bug in lor2c. The CLI prints its message (and hint) without a stack trace and exits 1.
 * Messages say what is wrong and where (file, tensor, node); the hint says what to do.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && e.name === 'UserError';
}
