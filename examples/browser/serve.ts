/**
 * A tiny static server for the page, on 127.0.0.1 only: the page and its bundle,
 * onnxruntime-web's wasm files (/ort/), and the example's artifacts and data (/example/).
 * GET only, paths confined to those folders.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { distDir } from './build.ts';

const here = new URL('.', import.meta.url).pathname;
const ortDist = join(new URL('../../node_modules/onnxruntime-web/dist', import.meta.url).pathname);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json',
  '.wasm': 'application/wasm', '.json': 'application/json', '.jsonl': 'application/jsonl', '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream', '.safetensors': 'application/octet-stream', '.css': 'text/css',
};

export interface ServeOptions {
  /** The example folder from prepareExample, served as /example/. */
  example: string;
  port?: number;
}

function inside(root: string, rest: string): string | undefined {
  const path = normalize(join(root, decodeURIComponent(rest)));
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep) ? path : undefined;
}

export async function serve(opts: ServeOptions): Promise<{ server: Server; url: string }> {
  const routes: [string, string][] = [['/dist/', distDir], ['/ort/', ortDist], ['/example/', opts.example]];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path: string | undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') path = undefined;
    else if (url.pathname === '/' || url.pathname === '/index.html') path = join(here, 'index.html');
    else {
      const route = routes.find(([prefix]) => url.pathname.startsWith(prefix));
      if (route) path = inside(route[1], url.pathname.slice(route[0].length));
    }
    try {
      if (!path) throw new Error('not found');
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { server, url: `http://127.0.0.1:${port}/` };
}
