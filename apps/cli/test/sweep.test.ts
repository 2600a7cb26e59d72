import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiClient, loadServerConfig, startServerHere } from '@unilab/api';
import { readSotu } from '@unilab/data';
import { cli } from './run-cli.ts';

// `unilab sweep`: the plan (grid, parameters, FLOPs per cell, skipped pairs with the validator's reason), and the
// same tiny grid trained as jobs on the API's queue, then rerun without training anything again.
const experiment = (corpus: string) => ({
  name: 'tiny-cli',
  base: {
    backend: 'wasm',
    data: { corpus, heldOutFraction: 0.2 },
    model: { config: { layers: 2, heads: 2 } },
    train: { steps: 3, batchSize: 2, seqLen: 32, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
  },
  architectures: ['decoder', 'prefix-lm'],
  objectives: ['prefixlm', 'unilm'],
  sizes: [{ name: 'xs', parameters: 20_000 }],
  seeds: [3],
});

async function writeExperiment(dir: string, corpus: string): Promise<string> {
  const file = join(dir, 'experiment.json');
  await writeFile(file, JSON.stringify(experiment(corpus)));
  return file;
}

describe('unilab sweep', () => {
  it('--plan lists the cells with parameters and FLOPs, and the pairs the plugins refuse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-sweep-plan-'));
    const r = await cli('sweep', await writeExperiment(dir, 'sotu'), '--plan');
    expect(r.code).toBe(0);
    expect(r.out).toContain('| xs-decoder-prefixlm-s3 | 0.020M |');
    expect(r.out).toContain('| xs-prefix-lm-unilm-s3 |');
    expect(r.out).toMatch(/3 cells, \d\.\d{3}e\+\d+ training FLOPs in all/);
    expect(r.out).toContain('decoder × unilm: spec.objective.name: objective "unilm" cannot train architecture "decoder"');
    expect((await cli('sweep', join(dir, 'nope.json'))).err).toMatch(/unilab sweep: experiment file .*nope.json does not exist/);
  });

  it('describe shows what a step spends, with the encoder-decoder\'s own decoder rows (T5: 512 → 114)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-describe-'));
    const spec = join(dir, 'spec.json');
    await writeFile(spec, JSON.stringify({ model: { architecture: 'encoder-decoder' }, objective: { name: 'span-corruption' }, train: { seqLen: 512, batchSize: 8 } }));
    const r = await cli('describe', spec);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/training FLOPs per step of this spec: [\d.]+ G \(8 rows of encoder 512 \+ decoder 114 positions\)/);
  });

  it('--server: each cell is a job on the API queue; a rerun follows the manifest and trains nothing twice', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'unilab-sweep-server-'));
    const corpus = join(dataDir, 'corpora', 'tiny');
    await mkdir(corpus, { recursive: true });
    const docs = (await readSotu()).slice(0, 3);
    await Promise.all(docs.map((d, i) => writeFile(join(corpus, `${i}.txt`), d.text.slice(0, 20_000))));
    const token = 'sweep-test-token-0123456789';
    const server = await startServerHere(await loadServerConfig({ overrides: { dataDir, port: 0, token, shutdownGraceMs: 2000 } }));
    try {
      const file = await writeExperiment(dataDir, 'corpora/tiny');
      const out = join(dataDir, 'sweep');
      const first = await cli('sweep', file, '--server', server.url, '--token', token, '--out', out);
      expect(first.err).not.toMatch(/failed/);
      expect(first.code).toBe(0);
      const manifest = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8'));
      expect(manifest.cells.map((c: { status: string }) => c.status)).toEqual(['done', 'done', 'done']);
      for (const c of manifest.cells) {
        expect(c.jobId).toMatch(/\S/);
        expect(c.step).toBe(3);
        expect(c.flops).toBe(3 * c.flopsPerStep);
        // The server names files relative to its data directory.
        expect(existsSync(join(dataDir, c.checkpoint))).toBe(true);
      }
      const client = new ApiClient(server.url, token);
      expect((await client.jobs()).length).toBe(3);
      const again = await cli('sweep', file, '--server', server.url, '--token', token, '--out', out);
      expect(again.code).toBe(0);
      expect((await client.jobs()).length).toBe(3);
    } finally {
      await server.close();
    }
  });
});
