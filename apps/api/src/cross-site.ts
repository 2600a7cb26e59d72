import type { Context, MiddlewareHandler } from 'hono';
import { isLoopback, type ServerConfig } from './config.ts';

/** Why a request was refused: the status, the header at fault and what would be accepted. */
export interface CrossSiteRefusal {
  status: 403 | 415;
  path: string;
  message: string;
}

/**
 * What keeps a web page the user visits from driving a server that has no token. A browser sends a page's requests
 * to 127.0.0.1 as readily as anywhere, it just does not attach a bearer token by itself; so without a token these
 * checks are all that stands between any site and the job routes:
 *
 * - `Host` must name an address the server listens on. DNS rebinding (evil.example re-resolved to 127.0.0.1) makes
 *   the browser treat the server as evil.example's own origin, but its requests still say `Host: evil.example`.
 * - `Origin`, which browsers send on every cross-origin request and every POST, must be the server's own origin
 *   (a page this app serves, such as a dashboard at `/`) or one the configuration allows (`allowedOrigins`).
 *   A browser request from another site without an Origin (`Sec-Fetch-Site`) is refused likewise.
 * - A body must be declared `application/json`. HTML forms and no-cors fetches can send only text/plain,
 *   form-urlencoded or multipart bodies without a CORS preflight, so this leaves a cross-site page no request it
 *   can make without asking first.
 *
 * Clients that are not browsers (curl, the CLI, the OpenAI client) send the right Host, no Origin and JSON bodies.
 */
export function crossSiteGuard(config: Pick<ServerConfig, 'host' | 'allowedHosts' | 'allowedOrigins'>): MiddlewareHandler {
  const hosts = listeningNames(config);
  const origins = new Set(config.allowedOrigins);
  return async (c, next) => {
    const refusal = checkHost(c, hosts) ?? checkOrigin(c, origins) ?? checkBody(c);
    if (refusal) return c.json({ error: { type: refusal.status === 415 ? 'invalid_request_error' : 'permission_error', message: refusal.message, path: refusal.path } }, refusal.status);
    await next();
  };
}

/** The host names a request may use (null: any, for a server on every interface with no allowedHosts). */
function listeningNames(config: Pick<ServerConfig, 'host' | 'allowedHosts'>): Set<string> | null {
  const bind = bareHost(config.host.toLowerCase());
  const wildcard = bind === '0.0.0.0' || bind === '::';
  if (wildcard && config.allowedHosts.length === 0) return null;
  const names = new Set(config.allowedHosts);
  if (!wildcard) names.add(bind);
  if (isLoopback(bind)) for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name);
  return names;
}

function checkHost(c: Context, names: Set<string> | null): CrossSiteRefusal | null {
  if (!names) return null;
  const host = c.req.header('host');
  const name = host === undefined ? null : hostnameOf(host);
  if (name !== null && names.has(name)) return null;
  return {
    status: 403,
    path: 'header.Host',
    message:
      `${host === undefined ? 'no Host header' : `Host ${JSON.stringify(host)} is not an address this server listens on`}; ` +
      `it answers to ${[...names].join(', ')} (add a name to allowedHosts to reach it under that name)`,
  };
}

function checkOrigin(c: Context, allowed: Set<string>): CrossSiteRefusal | null {
  const origin = c.req.header('origin');
  if (origin === undefined) {
    const site = c.req.header('sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site')
      return { status: 403, path: 'header.Sec-Fetch-Site', message: `a browser request from another site (Sec-Fetch-Site: ${site}) without an Origin is refused` };
    return null;
  }
  const host = c.req.header('host')?.toLowerCase();
  const own = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  if (own || allowed.has(origin)) return null;
  return {
    status: 403,
    path: 'header.Origin',
    message:
      `cross-origin request from ${JSON.stringify(origin)} refused: the job routes serve this server's own origin` +
      (allowed.size > 0 ? ` and ${[...allowed].join(', ')}` : '') +
      ' (allowedOrigins in the configuration adds others)',
  };
}

function checkBody(c: Context): CrossSiteRefusal | null {
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return null;
  const type = c.req.header('content-type');
  const length = c.req.header('content-length');
  const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
  if (type === undefined ? !hasBody : type.split(';')[0].trim().toLowerCase() === 'application/json') return null;
  return {
    status: 415,
    path: 'header.Content-Type',
    message: `expected Content-Type: application/json, got ${type === undefined ? 'a body without a Content-Type' : JSON.stringify(type)}`,
  };
}

/** "localhost:8787" -> "localhost", "[::1]:8787" -> "::1"; null when it is no host name at all. */
function hostnameOf(host: string): string | null {
  if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host)) return null;
  return bareHost(host.replace(/:\d+$/, '').toLowerCase());
}

const bareHost = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);
