import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

describe('unilab attention-degeneration and unilab report', () => {
  it('prints the prompt mass and source share per layer for a trained decoder, writes every prompt\'s curves, refuses bad options', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-degeneration-'));
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
    const r = await cli('attention-degeneration', checkpoint, '--prompts', '2', '--prompt-length', '8', '--steps', '12', '--json', join(dir, 'curves.json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('on 2 held-out prompts of 8 tokens');
    expect(r.out).toMatch(/\| 0 \| mass on the prompt \| 1\.000 \|/);
    expect(r.out).toMatch(/\| 1 \| source share of the attention output \| 1\.000 \|/);
    const saved = JSON.parse(await readFile(join(dir, 'curves.json'), 'utf8'));
    expect(saved.prompts).toHaveLength(2);
    expect(saved.mean[0].sourceShare.length).toBeGreaterThan(1);
    expect((await cli('attention-degeneration', checkpoint, '--steps', '99')).err).toMatch(/--steps: expected an integer from 1 to 31/);
    expect((await cli('attention-degeneration', checkpoint, '--continuation', 'sampled')).err).toContain('--continuation: expected greedy or reference');
    expect((await cli('report', dir)).err).toContain(`${dir} holds no sweep (no sweep.json)`);
  });
});
