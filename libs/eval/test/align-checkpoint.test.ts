import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng, encodeCheckpoint } from '@unilab/core';
import { createDefaultRegistry, loadModel, writeFileAtomic } from '@unilab/runner';
import { createRewardModel, loadAlignedModel, loadRewardModel, rewardScores, saveAlignedModel, saveRewardModel } from '../src/index.ts';
import { sotuSubset, tempDir, trainTiny } from './fixtures.ts';

// The checkpoints alignment stages hand each other: LoRA factors travel with the weights and every loader rebuilds them.
const registry = createDefaultRegistry();
const lora = { lora: { rank: 2, alpha: 4, targets: ['wq', 'wv'] }, seed: 1 };

async function pretrained(dir: string) {
  const { result, spec } = await trainTiny(await sotuSubset(2), 'decoder', { name: 'clm' }, { steps: 1, config: { layers: 1, dModel: 16, heads: 2 } });
  const path = join(dir, 'base.safetensors');
  const state = { step: 1, spec, model: { architecture: result.model.architecture, config: result.model.config }, tokenizer: result.tokenizer.toJSON() };
  await writeFileAtomic(path, await encodeCheckpoint(result.backend, result.model.params, null, state));
  result.dispose();
  return path;
}

describe('aligned checkpoints', () => {
  it('a stage with LoRA trains the factors only, saves them with their tuning, and loadModel rebuilds them', async () => {
    const dir = await tempDir();
    const base = await pretrained(dir);
    const a = await loadAlignedModel(base, registry, { tuning: lora });
    expect(a.trained.length).toBeGreaterThan(0);
    expect(a.trained.every((p) => /\.lora_[ab]$/.test(p.name))).toBe(true);
    // Move the factors off their initialisation (B = 0 would make LoRA invisible), as training would.
    const rng = new Rng(2);
    for (const p of a.trained) a.loaded.backend.write(p.value, Float32Array.from({ length: p.value.size }, () => 0.1 * rng.normal()));
    const path = join(dir, 'sft.safetensors');
    await saveAlignedModel(path, a.loaded, 'sft', base, 1, a.tuning);
    const back = await loadModel(path, registry);
    const byName = new Map(back.model.params.map((p) => [p.name, p]));
    for (const p of a.loaded.model.params) expect(Array.from(await back.backend.read(byName.get(p.name)!.value)), p.name).toEqual(Array.from(await a.loaded.backend.read(p.value)));
    // The next stage keeps the carried modules and trains them; other LoRA settings are refused by name.
    const next = await loadAlignedModel(path, registry);
    expect(next.tuning).toEqual(lora);
    expect(next.trained.map((p) => p.name)).toEqual(a.trained.map((p) => p.name));
    await expect(loadAlignedModel(path, registry, { tuning: { ...lora, lora: { ...lora.lora, rank: 4 } } })).rejects.toThrow(/already carries tuning modules .*leave --lora \/ --adapter out/);
  });

  it('a reward model reads back with its head and scores as before; a policy checkpoint is not taken for one', async () => {
    const dir = await tempDir();
    const base = await pretrained(dir);
    const { loaded } = await loadAlignedModel(base, registry);
    const rm = createRewardModel(loaded, 3);
    const examples = [{ prompt: 'Copy: we the\nAnswer:', response: ' we the' }, { prompt: 'Reverse: stone\nAnswer:', response: ' stone' }];
    const path = join(dir, 'rm.safetensors');
    await saveRewardModel(path, rm, loaded, base, 1);
    const back = await loadRewardModel(path, registry);
    expect(back.rm.pooling).toBe(rm.pooling);
    expect(await rewardScores(back.rm, examples)).toEqual(await rewardScores(rm, examples));
    await expect(loadRewardModel(base, registry)).rejects.toThrow(/is not a reward model \(no "reward" in its header\): train one with unilab align rm/);
  });
});
