/**
 * Bundles the page (page.ts and the lor2c runtime it imports) with esbuild for browsers into
 * examples/browser/dist/page.js. The bundle must not import node: modules: esbuild fails on
 * any it cannot resolve for the browser platform, and the metafile is checked as well.
 */
import { build } from 'esbuild';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
export const distDir = join(here, 'dist');

export interface BuiltPage {
  file: string;
  bytes: number;
  /** Every module the bundle holds (paths relative to the repository). */
  inputs: string[];
  /** node: modules some bundled module imports (must be empty). */
  nodeImports: string[];
}

export async function buildPage(): Promise<BuiltPage> {
  const file = join(distDir, 'page.js');
  const result = await build({
    entryPoints: [join(here, 'page.ts')],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
  });
  const meta = result.metafile!;
  const nodeImports = new Set<string>();
  for (const [input, info] of Object.entries(meta.inputs)) {
    // '<runtime>' is esbuild's own helper module, not an import of the source.
    for (const imp of info.imports) if (imp.path.startsWith('node:') || (imp.external && imp.path !== '<runtime>')) nodeImports.add(`${imp.path} (from ${input})`);
  }
  const output = Object.entries(meta.outputs).find(([name]) => name.endsWith('page.js'))![1];
  return { file, bytes: output.bytes, inputs: Object.keys(meta.inputs), nodeImports: [...nodeImports] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildPage();
  if (built.nodeImports.length) {
    console.error(`the page bundle imports node modules:\n  ${built.nodeImports.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`wrote ${built.file} (${(built.bytes / 1024).toFixed(0)} KiB, ${built.inputs.length} modules)`);
}
