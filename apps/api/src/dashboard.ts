import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { compress } from 'hono/compress';

/**
 * The built dashboard: index.html and hashed files in assets/. From sources, where `npm run build -w
 * @unilab/dashboard` (Vite) writes it; in the built CLI (scripts/build-cli.mjs), the copy in dashboard/ beside the
 * bundle, which `npm pack` ships with the command.
 */
export const DASHBOARD_DIST = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dashboard/dist/' : './dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The page may run only its own scripts and talk only to this server; no other site may frame it (its buttons
 * cancel and delete jobs). uPlot sizes its elements with inline styles, hence 'unsafe-inline' for styles alone.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * Serve the dashboard at `/` from the built files, telling the page whether the job routes want a token: the page is public (it holds no data; every job route it calls
 * asks for the token), read from disk per request so a rebuild shows without a restart. Only names Vite writes
 * (one path segment of word characters, dots and dashes) are looked up, so no request reaches outside assets/.
 */
export function serveDashboard(app: Hono, options: { tokenRequired: boolean; dist?: string }): void {
  const dist = options.dist ?? DASHBOARD_DIST;
  // The page asks for the token before its first request when the server wants one, rather than after a 401.
  const authMeta = `<meta name="unilab-auth" content="${options.tokenRequired ? 'bearer' : 'none'}">`;
  app.use('/', compress());
  app.use('/assets/*', compress());

  app.get('/', (c) => {
    const index = readIfFile(join(dist, 'index.html'));
    if (!index)
      return c.html(
        '<!doctype html><title>unilab</title><p>The dashboard is not built. Run <code>npm run build -w @unilab/dashboard</code> (<code>npm test</code> and <code>npm run quickstart</code> build it), then reload.</p>',
        503,
        PAGE_HEADERS,
      );
    return c.body(new TextDecoder().decode(index).replace('</head>', `${authMeta}</head>`), 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', ...PAGE_HEADERS });
  });

  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    const body = /^[\w-][\w.-]*$/.test(name) && type ? readIfFile(join(dist, 'assets', name)) : null;
    if (!body) return c.json({ error: { type: 'not_found', message: `no dashboard asset ${JSON.stringify(name)}` } }, 404);
    // Vite puts a content hash in every name: a changed file is a new name, so the old one may be kept for good.
    return c.body(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=31536000, immutable', 'X-Content-Type-Options': 'nosniff' });
  });
}

function readIfFile(path: string): Uint8Array<ArrayBuffer> | null {
  try {
    if (!statSync(path).isFile()) return null;
    return new Uint8Array(readFileSync(path));
  } catch {
    return null;
  }
}
