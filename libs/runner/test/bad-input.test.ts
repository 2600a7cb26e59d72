import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '@unilab/core';
import { createDefaultRegistry, listCheckpoints, loadModel, parseTrainingSpec, readCheckpoint, runTraining, validateSpecPlugins } from '../src/index.ts';
import { sotuShards, sotuSubset, tempDir, tinySpec } from './fixtures.ts';

describe('bad input gets one clear error and loses nothing', () => {
  it.each([
    [{ train: { lr: 'fast' } }, 'spec.train.lr: expected a number > 0 and <= 1, got "fast"'],
    [{ train: { steps: 0 } }, 'spec.train.steps: expected an integer >= 1 and <= 10000000, got 0'],
    [{ train: { lr: 0.01, minLr: 0.1 } }, 'spec.train.minLr: must not exceed train.lr'],
    [{ trian: {} }, 'spec.trian: unknown field; allowed fields are'],
    [{ backend: 'cuda' }, 'spec.backend: expected one of "wasm", "reference", "webgpu", got "cuda"'],
    [[1, 2], 'spec: expected an object'],
  ])('malformed spec %j names the field', (spec, message) => {
    expect(() => parseTrainingSpec(spec)).toThrow(message);
  });

  it('a bad model config is refused before any work, naming the field', async () => {
    const spec = parseTrainingSpec({ model: { architecture: 'decoder', config: { dModel: 30, heads: 4 } } });
    await expect(runTraining({ spec, outDir: await tempDir(), registry: createDefaultRegistry() })).rejects.toThrow(
      'spec.model.config.heads: must divide dModel (30); got 4',
    );
  });

  it('an unknown plugin lists what is available', async () => {
    const spec = parseTrainingSpec({ objective: { name: 'mlm2' } });
    await expect(runTraining({ spec, outDir: await tempDir(), registry: createDefaultRegistry() })).rejects.toThrow(
      /spec.objective.name: unknown objective "mlm2"; available: clm/,
    );
  });

  it('an objective is checked against what the architecture declares it reads', () => {
    const registry = createDefaultRegistry();
    const spec = (architecture: string, objective: string) => parseTrainingSpec({ model: { architecture }, objective: { name: objective } });
    expect(() => validateSpecPlugins(spec('encoder-decoder', 'unilm'), registry)).not.toThrow();
    expect(() => validateSpecPlugins(spec('encoder', 'unilm'), registry)).toThrow(
      'spec.objective.name: objective "unilm" cannot train architecture "encoder": its prefix and causal examples need a mask the model does not honour (it honours bidirectional); ' +
        'it trains prefix-lm, unilm, glm, encoder-decoder',
    );
  });

  it('a missing corpus says which path', async () => {
    const spec = tinySpec('/nonexistent/corpus');
    await expect(runTraining({ spec, outDir: await tempDir(), registry: createDefaultRegistry() })).rejects.toThrow(
      'corpus path /nonexistent/corpus does not exist',
    );
  });

  it('a damaged shard of a prepared dataset stops training before any step, naming the file', async () => {
    const shards = await sotuShards(1);
    const shard = join(shards, 'shard-00002.bin');
    const bytes = await readFile(shard);
    bytes[7] ^= 1;
    await writeFile(shard, bytes);
    const base = tinySpec('unused');
    const outDir = await tempDir();
    await expect(runTraining({ spec: { ...base, data: { ...base.data, shards } }, outDir, registry: createDefaultRegistry() })).rejects.toThrow(
      new RegExp(`^shard ${shard.replace(/[.]/g, '\\.')} is damaged: its CRC-32 is \\d+, the index says \\d+$`),
    );
    expect(await listCheckpoints(outDir)).toEqual([]);
  });

  it('truncated, foreign, corrupted and missing checkpoints are refused clearly', async () => {
    const corpus = await sotuSubset(3);
    const outDir = await tempDir();
    const result = await runTraining({ spec: tinySpec(corpus, { train: { steps: 2 } }), outDir, registry: createDefaultRegistry() });
    const good = await readFile(result.checkpoint!);
    const dir = await tempDir();

    const truncated = join(dir, 'truncated.safetensors');
    await writeFile(truncated, good.subarray(0, good.length - 100));
    await expect(readCheckpoint(truncated)).rejects.toThrow(/is truncated: tensor .* needs bytes/);

    const tiny = join(dir, 'tiny.safetensors');
    await writeFile(tiny, good.subarray(0, 5));
    await expect(readCheckpoint(tiny)).rejects.toThrow(/is truncated: 5 bytes/);

    const foreign = join(dir, 'foreign.safetensors');
    await writeFile(foreign, encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }], { format: 'pt' }));
    await expect(readCheckpoint(foreign)).rejects.toThrow(/not a unilab checkpoint/);

    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello, this is not a checkpoint at all');
    await expect(readCheckpoint(text)).rejects.toThrow(/truncated or not a safetensors file/);

    const corrupted = join(dir, 'corrupted.safetensors');
    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 3] ^= 0xff;
    await writeFile(corrupted, flipped);
    await expect(readCheckpoint(corrupted)).rejects.toThrow(/is corrupt/);

    await expect(loadModel(join(dir, 'absent.safetensors'), createDefaultRegistry())).rejects.toThrow(/does not exist/);
  });

  it('resume skips a damaged newest checkpoint and continues from the one before', async () => {
    const corpus = await sotuSubset(3);
    const outDir = await tempDir();
    const spec = tinySpec(corpus, { train: { steps: 6, checkpointEvery: 2 } });
    const registry = createDefaultRegistry();
    await runTraining({ spec, outDir, registry, stopAtStep: 4 });
    const newest = join(outDir, 'checkpoints', 'step-00000004.safetensors');
    await writeFile(newest, (await readFile(newest)).subarray(0, 64));
    const resumed = await runTraining({ spec, outDir, registry, resume: true });
    expect(resumed.losses).toHaveLength(4);
  });
});
