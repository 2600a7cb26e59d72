import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

describe('unilab attention-rank', () => {
  it('prints per-layer ranks under both masks for a trained checkpoint and writes every spectrum', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-rank-'));
    const spec = join(dir, 'spec.json');
    await writeFile(
      spec,
      JSON.stringify({
        data: { corpus: 'sotu' },
        model: { architecture: 'decoder', config: { layers: 2, dModel: 32, heads: 2 } },
        train: { steps: 4, batchSize: 2, seqLen: 32, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
        samplePrompts: [],
      }),
    );
    expect((await cli('train', spec, '--out', join(dir, 'run'))).code).toBe(0);
    const checkpoint = join(dir, 'run', 'checkpoints', 'step-00000004.safetensors');
    const r = await cli('attention-rank', checkpoint, '--windows', '2', '--length', '24', '--json', join(dir, 'rank.json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| 0 \| 24\.0 \/ 24 \| [\d.]+ \| [\d.]+ \/ 24 \| [\d.]+ \|/);
    expect(r.out).toMatch(/\| all \|/);
    const saved = JSON.parse(await readFile(join(dir, 'rank.json'), 'utf8'));
    expect(saved.spectra).toHaveLength(2 * 2 * 2 * 2);
    expect(saved.spectra[0].singularValues).toHaveLength(24);
    expect((await cli('attention-rank', checkpoint, '--length', '999')).err).toMatch(/--length: expected an integer from 2 to the model's seqLen \(32\)/);
  });
});
