import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIST, serveDashboard } from '../src/dashboard.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import type { RunningServer } from '../src/server.ts';
import { transaction, type SqlDatabase } from '../src/sql.ts';
import { JobStore } from '../src/store.ts';
import type { ApiClient } from '../src/client.ts';
import { REPO_ROOT, TOKEN, makeDataDir, removeTempDirs, startTestServer, tempDir } from './helpers.ts';

let server: RunningServer;
let client: ApiClient;
let store: JobStore;
let db: SqlDatabase;

beforeAll(async () => {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) execFileSync('npm', ['run', '-s', 'build', '-w', '@unilab/dashboard'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const dataDir = await makeDataDir();
  ({ server, client } = await startTestServer(dataDir));
  // A second connection to the server's store (SQLite in WAL mode), to lay down jobs and curves no test could train.
  db = await nodeRuntime.openDatabase(join(dataDir, 'unilab.db'));
  store = new JobStore(db);
});

afterAll(async () => {
  store?.close();
  await server?.close();
  await removeTempDirs();
});

/** A finished job written straight into the store. */
function storedJob(n: number): string {
  const id = `job_stored${String(n).padStart(5, '0')}`;
  store.insertJob({ id, name: `stored-${n}`, spec: {}, runSpec: {}, outDir: `/nowhere/${id}`, totalSteps: 10, stageCount: 1 });
  store.update(id, { status: 'completed' });
  return id;
}

describe('the dashboard at /', () => {
  it('serves the built page with a strict Content-Security-Policy, says a token is wanted, and compresses', async () => {
    const res = await fetch(`${server.url}/`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const html = await res.text();
    expect(html).toContain('<meta name="unilab-auth" content="bearer">');
    const script = html.match(/src="\/assets\/([\w.-]+\.js)"/)![1];
    const asset = await fetch(`${server.url}/assets/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await asset.text()).length).toBeGreaterThan(10_000);
  });

  it('answers only for files Vite wrote into assets/: no way out of the directory, no unknown types', async () => {
    for (const path of ['/assets/..%2F..%2Fpackage.json', '/assets/%2e%2e%2findex.html', '/assets/..%5Cindex.html', '/assets/nothing.js', '/assets/index.html', '/assets/.hidden.js'])
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    // The page is public; the data behind it is not.
    expect((await fetch(`${server.url}/v1/jobs`)).status).toBe(401);
  });

  it('explains how to build it when it is not built (503), instead of a bare 404', async () => {
    const app = new Hono();
    serveDashboard(app, { tokenRequired: false, dist: await tempDir('unilab-no-dashboard-') });
    const res = await app.request('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build -w @unilab/dashboard');
  });
});

describe('what the dashboard asks of the job routes', () => {
  it('GET /v1/jobs pages with ?before=<id>: every job once, newest first, and a job submitted meanwhile shifts nothing', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => storedJob(i));
    const seen: string[] = [];
    let before: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { jobs: { id: string }[]; next: string | null } = await client.json('GET', `/v1/jobs?limit=10${before ? `&before=${before}` : ''}`);
      seen.push(...res.jobs.map((j) => j.id));
      if (page === 0) storedJob(99); // newer than every listed job: it belongs on page 0, which was already read
      before = res.next;
      if (!before) break;
    }
    expect(seen).toEqual([...ids].reverse());
    const res = await fetch(`${server.url}/v1/jobs?before=job_nosuch`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.path).toBe('query.before');
  });

  it('GET /v1/jobs/:id/metrics?points= brings 100,000 steps down to about that many rows, keeps a spike, and gives the event id to follow from', async () => {
    const id = storedJob(1000);
    const steps = 100_000;
    store.appendEvent(id, 'status', { status: 'running' });
    // One transaction: 100,000 commits would take longer than the server keeps an idle connection open.
    transaction(db, () => {
      for (let s = 1; s <= steps; s++) {
      store.insertMetric(id, { stage: 0, step: s, globalStep: s, loss: 5 - s / steps + (s === 61_234 ? 20 : 0), lr: 1e-3, gradNorm: 1, tokens: 64 });
      if (s % 1000 === 0) store.insertMetric(id, { stage: 0, step: s, globalStep: s, heldOutLoss: 5 - s / steps });
      }
    });
    const last = store.appendEvent(id, 'step', { globalStep: steps });
    const res: { metrics: Record<string, number | null>[]; lastEventId: number } = await client.json('GET', `/v1/jobs/${id}/metrics?points=2000`);
    const stepRows = res.metrics.filter((m) => m.heldOutLoss === null);
    expect(stepRows.length).toBeLessThanOrEqual(2002);
    expect(stepRows.length).toBeGreaterThan(1000);
    expect(res.metrics.filter((m) => m.heldOutLoss !== null)).toHaveLength(100);
    expect(stepRows.some((m) => m.globalStep === 61_234 && m.loss! > 20)).toBe(true);
    expect(stepRows[0].globalStep).toBe(1);
    expect(stepRows.at(-1)!.globalStep).toBe(steps);
    expect(res.lastEventId).toBe(last.seq);
    const bad = await fetch(`${server.url}/v1/jobs/${id}/metrics?points=0`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect((await bad.json()).error.path).toBe('query.points');
  });
});
