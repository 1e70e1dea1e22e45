/**
 * The playground's files (dist/playground, built by `npm run build`), read once into memory and
 * served by name: no path from a request ever reaches the file system.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { ErrorCodes } from '../errors.js';
import { send } from './http.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
};

export interface StaticFile {
  bytes: Buffer;
  type: string;
}

/** dist/playground from src/serve (tests) or dist/src/serve (built package), or null when not built. */
export function playgroundDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'dist', 'playground');
    if (existsSync(join(p, 'index.html'))) return p;
    dir = dirname(dir);
  }
  return null;
}

/** url path ('/', '/app.js', '/assets/x.wasm') → file, for every file under `root`. */
export function loadStaticFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const url = '/' + relative(root, p).split(sep).join('/');
        files.set(url, { bytes: readFileSync(p), type: TYPES[extname(name)] ?? 'application/octet-stream' });
      }
    }
  };
  walk(root);
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

/** GET of every playground file; 404 naming the problem otherwise. */
export function registerPlayground(app: FastifyInstance, dir: string | null): void {
  const files: Map<string, StaticFile> = dir ? loadStaticFiles(dir) : new Map();
  app.get('/*', (req, reply) => {
    const path = req.url.split('?')[0];
    const f = files.get(path);
    if (!f) {
      const why = files.size === 0 ? 'the playground is not built (npm run build)' : `no file ${path}`;
      return send(req, reply, 404, { ok: false, error: { code: ErrorCodes.NOT_FOUND, message: why } });
    }
    // cross-origin isolation: the book engine's shared arrays (SharedArrayBuffer) in the page's worker
    return reply
      .type(f.type)
      .header('cache-control', 'no-cache')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-embedder-policy', 'require-corp')
      .send(f.bytes);
  });
}
