import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparisons, demonstrations, parseAlignmentJsonl } from '@unilab/eval';
import { cli } from './run-cli.ts';

describe('unilab align', () => {
  it('data writes demonstrations and preference pairs that parse back, with a manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    const run = await cli('align', 'data', '--out', dir, '--train', '8', '--held-out', '4', '--noise', '0.25', '--seed', '2');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('5 tasks (copy, reverse, nth-word, cloze, genre); 40 train, 20 held-out examples');
    const read = async (name: string) => parseAlignmentJsonl(await readFile(join(dir, name), 'utf8'), name);
    expect(demonstrations(await read('sft-train.jsonl'), 'sft').length).toBe(40);
    const heldOutPairs = comparisons(await read('pairs-held-out.jsonl'), 'pairs');
    expect(heldOutPairs.length).toBe(20);
    expect(heldOutPairs.every((p) => p.flipped === false)).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.noiseRate).toBe(0.25);
    expect(comparisons(await read('pairs-train.jsonl'), 'pairs').filter((p) => p.flipped).length).toBe(manifest.flippedTrainPairs);
  });

  it('names a missing --out, an unknown stage and a bad noise rate', async () => {
    expect((await cli('align', 'data')).err).toMatch(/^unilab align: --out DIR is required/);
    expect((await cli('align', 'ppo')).err).toMatch(/^unilab align: unknown stage "ppo"; the stages are: data/);
    const dir = await mkdtemp(join(tmpdir(), 'unilab-align-'));
    expect((await cli('align', 'data', '--out', dir, '--train', '2', '--held-out', '1', '--noise', '0.7')).err).toMatch(/noise rate must be in \[0, 0\.5\), got 0\.7/);
  });
});
