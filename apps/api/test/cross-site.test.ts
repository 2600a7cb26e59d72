import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/client.ts';
import { loadServerConfig } from '../src/config.ts';
import type { RunningServer } from '../src/server.ts';
import { followToEnd, makeDataDir, removeTempDirs, startTestServer, tinySpec } from './helpers.ts';

const DASHBOARD = 'http://localhost:5173';

let server: RunningServer;
let client: ApiClient;
let port: number;

beforeAll(async () => {
  // Loopback and no token: only the cross-site checks stand between a web page and the jobs.
  ({ server, client } = await startTestServer(await makeDataDir(), { token: undefined, allowedOrigins: [DASHBOARD], allowedHosts: ['gpu-box.local'] }));
  port = server.port;
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** A request with exactly these headers (fetch would not let a test set Host), and its parsed JSON answer. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const spec = JSON.stringify(tinySpec({ train: { steps: 2, checkpointEvery: 2 } }));

describe('cross-site requests to a loopback server without a token', () => {
  it('refuses bodies that are not declared application/json (what a form or a no-cors fetch can send)', async () => {
    const before = (await client.jobs()).length;
    const plain = await raw('POST', '/v1/jobs', { 'Content-Type': 'text/plain' }, spec);
    expect(plain.status).toBe(415);
    expect(plain.body.error).toMatchObject({ path: 'header.Content-Type', message: 'expected Content-Type: application/json, got "text/plain"' });
    const bare = await raw('POST', '/v1/jobs', {}, spec);
    expect(bare.status).toBe(415);
    expect(bare.body.error.message).toMatch(/a body without a Content-Type/);
    const form = await raw('POST', '/v1/jobs/job_x/cancel', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'x=1');
    expect(form.status).toBe(415);
    const completion = await raw('POST', '/v1/completions', { 'Content-Type': 'multipart/form-data; boundary=x' }, '--x--');
    expect(completion.status).toBe(415);
    expect((await client.jobs()).length).toBe(before);
  });

  it('refuses a foreign Origin on every job route, reading or writing, and a cross-site request without one', async () => {
    for (const [method, path, body] of [
      ['POST', '/v1/jobs', spec],
      ['GET', '/v1/jobs', undefined],
      ['GET', '/v1/jobs/job_x', undefined],
      ['GET', '/v1/jobs/job_x/events', undefined],
      ['POST', '/v1/jobs/job_x/cancel', undefined],
      ['DELETE', '/v1/jobs/job_x', undefined],
      ['GET', '/v1/models', undefined],
      ['POST', '/v1/completions', '{}'],
    ] as const) {
      const r = await raw(method, path, { Origin: 'http://evil.example', ...(body && { 'Content-Type': 'application/json' }) }, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error).toMatchObject({ type: 'permission_error', path: 'header.Origin', message: expect.stringMatching(/^cross-origin request from "http:\/\/evil\.example" refused/) });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    // Another port of localhost is another origin (though the same site).
    expect((await raw('GET', '/v1/jobs', { Origin: `http://localhost:${port + 1}` })).status).toBe(403);
    expect((await raw('GET', '/v1/jobs', { Origin: 'null' })).status).toBe(403);
    const navigation = await raw('GET', '/v1/jobs', { 'Sec-Fetch-Site': 'cross-site' });
    expect(navigation.status).toBe(403);
    expect(navigation.body.error.path).toBe('header.Sec-Fetch-Site');
  });

  it('refuses a Host that is not the listening address (DNS rebinding), even with its own Origin', async () => {
    const rebound = { Host: `rebind.evil.example:${port}`, Origin: `http://rebind.evil.example:${port}` };
    for (const path of ['/v1/jobs', '/v1/jobs/job_x/events', '/v1/models']) {
      const r = await raw('GET', path, rebound);
      expect(r.status, path).toBe(403);
      expect(r.body.error).toMatchObject({ path: 'header.Host', message: expect.stringMatching(/^Host "rebind\.evil\.example:\d+" is not an address this server listens on; it answers to .*localhost/) });
    }
    expect((await raw('POST', '/v1/jobs', { ...rebound, 'Content-Type': 'application/json' }, spec)).status).toBe(403);
    expect((await raw('GET', '/v1/jobs', { Host: 'localhost.evil.example' })).status).toBe(403);
    // Public routes stay public.
    expect((await raw('GET', '/healthz', rebound)).status).toBe(200);
  });

  it("serves the server's own origin (a dashboard it serves), configured hosts and origins, and answers their preflight", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `gpu-box.local:${port}`]) {
      const r = await raw('GET', '/v1/jobs', { Host: host, Origin: `http://${host}` });
      expect(r.status, host).toBe(200);
      expect(r.body.jobs).toEqual(expect.any(Array));
    }
    const dashboard = await raw('GET', '/v1/jobs', { Origin: DASHBOARD });
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers['access-control-allow-origin']).toBe(DASHBOARD);
    const preflight = await raw('OPTIONS', '/v1/jobs', { Origin: DASHBOARD, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Content-Type/);
    expect((await raw('OPTIONS', '/v1/jobs', { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' })).status).toBe(403);
  });

  it('the CLI client (ApiClient) still submits and follows a job, and the OpenAI-style routes still answer it', async () => {
    const job = await client.submit(JSON.parse(spec));
    const events = await followToEnd(client, job.id);
    expect(events.filter((e) => e.type === 'status').map((e) => e.data.status)).toEqual(['queued', 'running', 'completed']);
    expect((await client.cancel(job.id).catch((err) => err)).status).toBe(409);
    expect((await client.json<{ data: { id: string }[] }>('GET', '/v1/models')).data.map((m) => m.id)).toContain(job.id);
  });
});

describe('the bearer token', () => {
  it('is refused at start-up when an Authorization header could not carry it, without echoing it', async () => {
    for (const token of ['has space', 'naïve-token', 'new\nline', 'a=b']) {
      const refused = loadServerConfig({ overrides: { token } });
      await expect(refused).rejects.toThrow(/^config\.server\.token: expected a bearer token \(letters, digits and - \. _ ~ \+ \/, then any = padding\)/);
      await expect(refused).rejects.not.toThrow(token);
    }
    await expect(loadServerConfig({ env: { UNILAB_API_TOKEN: 'tab\there' } })).rejects.toThrow(/character 4 of the token is not one of them/);
    expect((await loadServerConfig({ overrides: { token: 'abc-DEF_0.9~+/==' } })).token).toBe('abc-DEF_0.9~+/==');
  });

  it('refuses allowed origins and hosts that are not origins and host names', async () => {
    await expect(loadServerConfig({ overrides: { allowedOrigins: ['http://localhost:5173/'] } })).rejects.toThrow(/config\.server\.allowedOrigins\[0\]: expected an origin/);
    await expect(loadServerConfig({ env: { UNILAB_ALLOWED_ORIGINS: 'http://a.example, *' } })).rejects.toThrow(/allowedOrigins\[1\]/);
    await expect(loadServerConfig({ overrides: { allowedHosts: ['box:8787'] } })).rejects.toThrow(/config\.server\.allowedHosts\[0\]: expected a host name/);
  });
});
