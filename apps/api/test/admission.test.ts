import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginRegistry } from '@unilab/core';
import { createConfiguredRegistry } from '@unilab/runner';
import { admitJob } from '../src/admission.ts';
import { ApiClient, ApiRequestError } from '../src/client.ts';
import { loadServerConfig, machineMemory, type ServerConfig } from '../src/config.ts';
import type { RunningServer } from '../src/server.ts';
import { makeDataDir, removeTempDirs, startTestServer, tinySpec, waitForJob } from './helpers.ts';

const PLUGINS = join(import.meta.dirname, 'fixtures', 'plugin-architectures.ts');
const PLUGIN_ROPE = { positionalEncoding: { name: 'rope' } };

let dataDir: string;
let configFile: string;
let server: RunningServer;
let client: ApiClient;

beforeAll(async () => {
  dataDir = await makeDataDir();
  configFile = join(dataDir, 'unilab.config.json');
  // Generous parameter and token limits, so that memory is the only limit a job below can break.
  await writeFile(configFile, JSON.stringify({ plugins: [PLUGINS], server: { maxParameters: 1e9, maxTokensPerStep: 1 << 22 } }));
  ({ server, client } = await startTestServer(dataDir, {}, configFile));
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

async function refusal(submit: () => Promise<unknown>): Promise<ApiRequestError> {
  const err = await submit().then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiRequestError)) throw new Error(`expected a refusal, got ${err === null ? 'an accepted job' : String(err)}`);
  return err;
}

/**
 * 25 M parameters (under every parameter limit), but 256 sequences of 4096 tokens a step: the activations the tape
 * keeps come to hundreds of GiB. Without a memory check the server admits it and its worker allocates until the
 * machine runs out.
 */
const memoryBomb = (architecture = 'decoder') => ({
  ...tinySpec({ name: 'memory-bomb', train: { batchSize: 256, seqLen: 4096 } }),
  model: { architecture, config: { layers: 8, dModel: 512, heads: 8, ...(architecture !== 'decoder' && PLUGIN_ROPE) } },
  objective: { name: 'clm' },
});

describe('admission checks the memory a job needs to train', () => {
  it('refuses a job sized to exhaust memory with 400 naming the fields and the estimate (default limit: half the machine, shared by the concurrent jobs)', async () => {
    expect(server.config.maxJobMemoryBytes).toBe(Math.floor(machineMemory() / 2 / server.config.maxConcurrentJobs));
    const err = await refusal(() => client.submit(memoryBomb()));
    expect(err.status).toBe(400);
    expect(err.path).toBe('spec.train.batchSize');
    expect(err.message).toMatch(
      /training this job needs about [\d.]+ GiB: [\d.]+ MiB for the weights, gradients and AdamW moments of [\d.]+M parameters \(spec\.model\.config\) and [\d.]+ GiB of activations at spec\.train\.batchSize 256 x spec\.train\.seqLen 4096; this server allows at most [\d.]+ GiB per job \(maxJobMemoryBytes\)$/,
    );
    expect((await client.json<{ jobs: unknown[] }>('GET', '/v1/jobs')).jobs).toHaveLength(0);
  });

  it('holds for an architecture from a plugin package that estimates itself (its footprint hook)', async () => {
    const err = await refusal(() => client.submit(memoryBomb('plugin-decoder')));
    expect(err).toMatchObject({ status: 400, path: 'spec.train.batchSize' });
    expect(err.message).toMatch(/maxJobMemoryBytes/);
    // The same plugin at a size the server can train is admitted, and trains.
    const small = await client.submit({ ...tinySpec({ name: 'plugin-small' }), model: { architecture: 'plugin-decoder', config: { layers: 1, dModel: 16, heads: 2, ...PLUGIN_ROPE } }, objective: { name: 'clm' } });
    expect(await waitForJob(() => client.job(small.id), (j) => ['completed', 'failed'].includes(j.status))).toMatchObject({ status: 'completed', error: null });
  });
});

describe('admitJob (the checks behind POST /v1/jobs)', () => {
  let registry: PluginRegistry;
  let config: ServerConfig;
  beforeAll(async () => {
    registry = await createConfiguredRegistry(configFile);
    config = await loadServerConfig({ file: configFile, overrides: { dataDir, maxJobMemoryBytes: 64 << 20 } });
  });
  const small = (architecture: string) => ({ ...tinySpec(), model: { architecture, config: { layers: 1, dModel: 16, heads: 2, ...PLUGIN_ROPE } }, objective: { name: 'clm' } });

  it('names the model config when the weights and optimizer state alone exceed the limit', async () => {
    const wide = tinySpec({ model: { layers: 4, dModel: 1024, heads: 8 } });
    await expect(admitJob(wide, 'job_wide', registry, config)).rejects.toMatchObject({ path: 'spec.model.config', message: expect.stringMatching(/at most 64 MiB per job/) });
  });

  it('checks every stage at its own batch size and sequence length', async () => {
    const { steps: _steps, ...train } = tinySpec().train;
    const spec = { ...tinySpec(), train, stages: [{ name: 'short', steps: 4 }, { name: 'long', steps: 4, train: { batchSize: 64, seqLen: 512 } }] };
    await expect(admitJob(spec, 'job_stages', registry, config)).rejects.toMatchObject({ path: 'spec.stages[1].train.batchSize' });
  });

  it('refuses a plugin architecture that cannot estimate itself, unless the operator admits unestimated architectures', async () => {
    await expect(admitJob(small('plugin-decoder-unestimated'), 'job_u1', registry, config)).rejects.toMatchObject({
      path: 'spec.model.architecture',
      message: expect.stringMatching(/"plugin-decoder-unestimated" cannot estimate its size and training memory \(its plugin has no footprint hook\).*admitUnestimatedArchitectures/),
    });
    const admitted = await admitJob(small('plugin-decoder-unestimated'), 'job_u2', registry, { ...config, admitUnestimatedArchitectures: true });
    expect(admitted.job.stages[0].spec.model.architecture).toBe('plugin-decoder-unestimated');
    // The other limits still hold for it.
    await expect(
      admitJob({ ...small('plugin-decoder-unestimated'), train: { ...tinySpec().train, steps: 10_000_000 } }, 'job_u3', registry, { ...config, admitUnestimatedArchitectures: true }),
    ).rejects.toMatchObject({ path: 'spec.train.steps' });
    expect((await admitJob(small('plugin-decoder'), 'job_e1', registry, config)).job.name).toBe('tiny');
  });
});
