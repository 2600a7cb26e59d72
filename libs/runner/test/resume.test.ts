import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, listCheckpoints, runTraining } from '../src/index.ts';
import { sotuShards, sotuSubset, tempDir, tinySpec } from './fixtures.ts';

describe('checkpoint and resume', () => {
  it('a run interrupted at step 6 and resumed continues with bit-identical losses', async () => {
    const corpus = await sotuSubset(6);
    const spec = tinySpec(corpus, { train: { steps: 12, checkpointEvery: 3 } });
    const registry = createDefaultRegistry();

    const straight = await runTraining({ spec, outDir: await tempDir(), registry });
    expect(straight.losses).toHaveLength(12);

    const outDir = await tempDir();
    const first = await runTraining({ spec, outDir, registry, stopAtStep: 6 });
    expect(first.losses).toHaveLength(6);
    const second = await runTraining({ spec, outDir, registry, resume: true });
    expect(second.losses).toHaveLength(6);

    // Exact equality of float64 values read from float32 losses: bit-identical, not merely close.
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    expect(second.heldOutLoss).toBe(straight.heldOutLoss);
  });

  it('a run streaming a prepared dataset, interrupted and resumed, continues with bit-identical losses', async () => {
    const shards = await sotuShards(3);
    const base = tinySpec('unused', { train: { steps: 12, checkpointEvery: 3 } });
    // A 4 KiB window holds about 1,000 tokens: the run reads several windows across many 256-token shards.
    const spec = { ...base, data: { ...base.data, shards, shardWindowBytes: 4096 } };
    const registry = createDefaultRegistry();

    const straight = await runTraining({ spec, outDir: await tempDir(), registry });
    const outDir = await tempDir();
    const first = await runTraining({ spec, outDir, registry, stopAtStep: 7 });
    const second = await runTraining({ spec, outDir, registry, resume: true });
    expect(second.losses).toHaveLength(5);
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    expect(second.heldOutLoss).toBe(straight.heldOutLoss);
    expect(straight.tokenizer.vocabSize).toBe(300);
  });

  it('a bf16-matmul run resumes in bf16-matmul: its checkpoint records the precision, and the losses are bit-identical', async () => {
    const corpus = await sotuSubset(4);
    const f32 = tinySpec(corpus, { train: { steps: 8, checkpointEvery: 4 } });
    const spec = { ...f32, precision: 'bf16-matmul' as const };
    const registry = createDefaultRegistry();

    const straight = await runTraining({ spec, outDir: await tempDir(), registry });
    const inF32 = await runTraining({ spec: f32, outDir: await tempDir(), registry });
    // The field is honoured: the same run in f32 computes other losses (close: bf16 operands, f32 sums)...
    expect(straight.losses).not.toEqual(inF32.losses);
    expect(Math.abs(straight.losses.at(-1)! - inF32.losses.at(-1)!)).toBeLessThan(0.1);

    const outDir = await tempDir();
    const first = await runTraining({ spec, outDir, registry, stopAtStep: 4 });
    // ...and a resume that asks for f32 of a bf16-matmul checkpoint is refused, not run in other numerics.
    await expect(runTraining({ spec: f32, outDir, registry, resume: true })).rejects.toThrow(/^spec\.precision: .*step-0*4.* was trained with precision "bf16-matmul"; a resume continues in it/);
    const second = await runTraining({ spec, outDir, registry, resume: true });
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    expect(second.heldOutLoss).toBe(straight.heldOutLoss);
  });

  it('a fresh run refuses a directory that already holds checkpoints, and leaves them intact', async () => {
    const corpus = await sotuSubset(4);
    const spec = tinySpec(corpus, { train: { steps: 2 } });
    const outDir = await tempDir();
    const registry = createDefaultRegistry();
    await runTraining({ spec, outDir, registry });
    const before = await listCheckpoints(outDir);
    await expect(runTraining({ spec, outDir, registry })).rejects.toThrow(/already holds checkpoints/);
    expect(await listCheckpoints(outDir)).toEqual(before);
  });
});
