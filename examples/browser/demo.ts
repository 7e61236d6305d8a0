/**
 * `npm run demo`: prepares the example (lor2c compile), bundles the page and serves it on
 * http://127.0.0.1:8080/ (PORT=... to change). Nothing is fetched from the network.
 */
import { buildPage } from './build.ts';
import { prepareExample } from './prepare.ts';
import { serve } from './serve.ts';

const example = prepareExample(undefined, (line) => console.log(line));
const built = await buildPage();
if (built.nodeImports.length) throw new Error(`the page bundle imports node modules: ${built.nodeImports.join(', ')}`);
console.log(`bundled the page: ${(built.bytes / 1024).toFixed(0)} KiB`);
const { url } = await serve({ example: example.dir, port: Number(process.env.PORT ?? 8080) });
console.log(`lor2c in the browser: open ${url} (Ctrl-C to stop)`);
