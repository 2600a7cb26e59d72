import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/client.ts';
import { parseCompletionRequest } from '../src/completions.ts';
import type { RunningServer } from '../src/server.ts';
import { TOKEN, makeDataDir, removeTempDirs, startTestServer, tinySpec, waitForJob } from './helpers.ts';

let server: RunningServer;
let client: ApiClient;
let model = '';

// Limits raised so that one generation can run far longer than a test waits: only a disconnect ends it.
const LIMITS = { maxCompletionTokens: 1 << 20, maxCompletionTokensPerRequest: 1 << 22, maxCompletionRequests: 2 };

beforeAll(async () => {
  ({ server, client } = await startTestServer(await makeDataDir(), LIMITS));
  model = (await client.submit(tinySpec({ name: 'to-sample' }))).id;
  await waitForJob(() => client.job(model), (j) => j.status === 'completed');
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

function complete(body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, ...body }),
    signal,
  });
}

interface Health {
  status: string;
  jobs: { running: number };
  completions: { requests: number; generations: number };
}
const health = async (): Promise<Health> => (await fetch(`${server.url}/healthz`)).json();

/**
 * A completion that would sample for hours: 4 prompts of 2^20 tokens each, greedy (the argmax of a byte model is a
 * frequent character, never the rare eos, so no generation ends early). It ends only when its client goes.
 */
function endlessCompletion() {
  const controller = new AbortController();
  const response = complete({ prompt: Array(4).fill('Fellow citizens'), max_tokens: 1 << 20, temperature: 0 }, controller.signal).catch((err) => {
    if (!controller.signal.aborted) throw err;
    return null;
  });
  return { abort: () => controller.abort(), response };
}

describe('completions are bounded', () => {
  it('refuses a request sized to exhaust the CPU with 400 naming the limit (prompts x n x max_tokens)', async () => {
    const tooMuch = await complete({ prompt: Array(64).fill('We the people'), n: 8, max_tokens: 1 << 20 });
    expect(tooMuch.status).toBe(400);
    expect((await tooMuch.json()).error).toMatchObject({
      path: 'body.max_tokens',
      message: `body.max_tokens: 64 prompts x n 8 x max_tokens ${1 << 20} = ${2 ** 29} tokens to sample; this server allows at most ${1 << 22} per request (maxCompletionTokensPerRequest)`,
    });
    expect(await health()).toMatchObject({ completions: { requests: 0, generations: 0 } });
    // Many one-token prompts: the prompt list is the field to cut.
    expect(() => parseCompletionRequest({ model, prompt: Array(10).fill(''), n: 8, max_tokens: 1 }, { maxCompletionTokens: 16, maxCompletionTokensPerRequest: 64 })).toThrow(
      /^body\.prompt: 10 prompts x n 8 x max_tokens 1 = 80 tokens to sample; this server allows at most 64 per request \(maxCompletionTokensPerRequest\)$/,
    );
  });

  it('answers /healthz while a completion samples, and a training job keeps stepping meanwhile', async () => {
    const job = await client.submit(tinySpec({ name: 'trains-beside', train: { steps: 20_000, checkpointEvery: 1000 } }));
    await waitForJob(() => client.job(job.id), (j) => j.step >= 2);
    const sampling = endlessCompletion();
    await waitForJob(health, (h) => h.completions.generations === 1);
    const start = await client.job(job.id);
    let answered = 0;
    for (let during = start; during.step < start.step + 3; during = await client.job(job.id)) {
      expect(during.status).toBe('running');
      const h = await health();
      expect(h).toMatchObject({ status: 'ok', jobs: { running: 1 }, completions: { requests: 1, generations: 1 } });
      answered++;
    }
    expect(answered).toBeGreaterThan(0);
    sampling.abort();
    await sampling.response;
    await client.json('POST', `/v1/jobs/${job.id}/cancel`);
    await waitForJob(() => client.job(job.id), (j) => j.status === 'cancelled');
    await waitForJob(health, (h) => h.completions.generations === 0);
  });

  it('stops sampling when the client disconnects, and refuses requests beyond maxCompletionRequests with 429', async () => {
    const first = endlessCompletion();
    const second = endlessCompletion();
    await waitForJob(health, (h) => h.completions.requests === 2);
    const third = await complete({ prompt: 'The Congress', max_tokens: 4 });
    expect(third.status).toBe(429);
    expect((await third.json()).error.message).toMatch(/maxCompletionRequests/);

    // Both clients go: the worker stops the current generation at its next token and starts none of the rest.
    first.abort();
    second.abort();
    expect(await Promise.all([first.response, second.response])).toEqual([null, null]);
    await waitForJob(health, (h) => h.completions.requests === 0 && h.completions.generations === 0);
    const after = await complete({ prompt: 'The Congress', max_tokens: 4, temperature: 0 });
    expect(after.status).toBe(200);
    expect((await after.json()).choices).toHaveLength(1);
  });
});
