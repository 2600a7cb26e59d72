import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/client.ts';
import { DASHBOARD_DIST } from '../src/dashboard.ts';
import { TOKEN, followToEnd, killServer, makeDataDir, removeTempDirs, spawnServer, startTestServer, tinySpec, waitForJob } from './helpers.ts';

let child: ChildProcess | undefined;

afterAll(async () => {
  if (child) await killServer(child);
  await removeTempDirs();
});

describe('the same server under Deno (Deno.serve, Web Workers, node:sqlite)', () => {
  it('runs a tiny job to completion, serves completions, shuts down cleanly, and leaves a store Node can read', async () => {
    const dataDir = await makeDataDir();
    // One generation may run far longer than the test waits, so that only a disconnect can end it.
    const config = join(dataDir, 'unilab.config.json');
    await writeFile(config, JSON.stringify({ plugins: [], server: { maxCompletionTokens: 1 << 20, maxCompletionTokensPerRequest: 1 << 22 } }));
    const spawned = await spawnServer(
      ['npx', 'deno', 'run', '-A', '--conditions=development', 'apps/cli/src/main.ts', 'serve', '--config', config, '--data-dir', dataDir, '--port', '0'],
      { UNILAB_API_TOKEN: TOKEN },
    );
    child = spawned.child;
    expect(spawned.output()).toMatch(/\(Deno; data in/);
    const client = new ApiClient(spawned.url, TOKEN);
    expect(await (await fetch(`${spawned.url}/healthz`)).json()).toMatchObject({ status: 'ok', runtime: 'deno' });
    // The dashboard is served under Deno too (built by npm test; 503 with the build command when it is not).
    const page = await fetch(`${spawned.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain(existsSync(join(DASHBOARD_DIST, 'index.html')) ? 'name="unilab-auth" content="bearer"' : 'npm run build -w @unilab/dashboard');
    expect((await fetch(`${spawned.url}/v1/jobs`)).status).toBe(401);

    const job = await client.submit(tinySpec({ name: 'deno-smoke' }));
    const events = await followToEnd(client, job.id);
    expect(events.filter((e) => e.type === 'status').map((e) => e.data.status)).toEqual(['queued', 'running', 'completed']);
    expect(events.filter((e) => e.type === 'step')).toHaveLength(12);
    const done = await client.job(job.id);
    expect(done).toMatchObject({ status: 'completed', step: 12 });

    const completion = await client.json<{ choices: { text: string }[]; usage: { prompt_tokens: number } }>('POST', '/v1/completions', {
      model: job.id,
      prompt: 'The Congress',
      max_tokens: 8,
      temperature: 0,
    });
    expect(completion.choices[0].text).toEqual(expect.any(String));
    expect(completion.usage.prompt_tokens).toBe(12);

    // A client that goes away stops its generation (greedy 2^20 tokens: no early eos) in the Web Worker too.
    const controller = new AbortController();
    const endless = fetch(`${spawned.url}/v1/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: job.id, prompt: 'The Congress', max_tokens: 1 << 20, temperature: 0 }),
      signal: controller.signal,
    }).catch(() => null);
    const health = async () => (await fetch(`${spawned.url}/healthz`)).json();
    await waitForJob(health, (h) => h.completions.generations === 1);
    controller.abort();
    expect(await endless).toBeNull();
    await waitForJob(health, (h) => h.completions.generations === 0);

    // SIGTERM to the process group (npx and the Deno server under it): the server shuts down on its own, and the
    // output pipe closes once the Deno process has exited too.
    const closed = new Promise<void>((resolve) => spawned.child.stdout!.once('close', () => resolve()));
    process.kill(-spawned.child.pid!, 'SIGTERM');
    await closed;
    expect(spawned.output()).toMatch(/shutting down/);
    child = undefined;

    const { server, client: nodeClient } = await startTestServer(dataDir);
    try {
      expect(await nodeClient.job(job.id)).toMatchObject({ status: 'completed', step: 12, metrics: { heldOutLoss: done.metrics.heldOutLoss } });
    } finally {
      await server.close();
    }
  });
});
