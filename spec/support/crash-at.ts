/**
 * Fault injection for crash-safety tests: runs one `lor2c` command in this process and kills the
 * process with SIGKILL (no cleanup, no finally blocks) at the Nth call of a file-system
 * function. Usage, as a child process:
 *
 *     node --import tsx spec/support/crash-at.ts renameSync,fsyncSync 3 compile spec.lor2c --out DIR
 *
 * counts calls of every listed function together and dies just before the 3rd one runs. With N
 * past the last call the command completes and the child prints `calls=K` to stderr, which is
 * how a test learns how many crash points there are.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [names, nth, ...argv] = process.argv.slice(2);
const limit = Number(nth);
let calls = 0;
for (const name of names!.split(',')) {
  const original = (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    if (++calls === limit) process.kill(process.pid, 'SIGKILL');
    return original(...args);
  };
}
syncBuiltinESMExports();
const { main } = await import('../../cli/main.ts');
const code = await main(argv);
process.stderr.write(`calls=${calls}\n`);
process.exitCode = code;
