#!/usr/bin/env node
// The `lor2c` command. Sources are TypeScript run through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runProcess } = await import('../cli/main.ts');
await runProcess(process.argv.slice(2));
