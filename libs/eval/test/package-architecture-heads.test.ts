import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, type PluginRegistry } from '@unilab/core';
import { readSotu } from '@unilab/data';
import { buildModel, loadedModel, runTraining, type LoadedModel, type TrainingSpec } from '@unilab/runner';
import { sotuSubset, tempDir, tinySpec } from '../../runner/test/fixtures.ts';
import { bareDecoder, myDecoder, registryWithPackage } from '../../runner/test/package-architectures.ts';
import {
  DEFAULT_FINETUNE_OPTIONS,
  createClassificationHead,
  createRewardModel,
  createValueModel,
  finetune,
  inputReading,
  instructionTasks,
  preferencePairs,
  rewardParameters,
  rewardScores,
  trainRewardModel,
  type LabelledTask,
} from '../src/index.ts';

// Heads on a network (the fine-tuning classifier, the reward model, PPO's value head) read what its architecture
// exposes (Model.hiddenStates) and lay their inputs out as it declares it reads them (consumes), never by its name:
// a package architecture, trained with a package encoding and objective, gets them all; one that exposes no hidden
// states is refused by name.
describe('heads on a package architecture', () => {
  let registry: PluginRegistry;
  let mine: LoadedModel;
  let builtIn: LoadedModel;
  let checkpoint: string;

  beforeAll(async () => {
    registry = await registryWithPackage([myDecoder, bareDecoder]);
    const base = tinySpec(await sotuSubset(3), { train: { steps: 8, lr: 1e-2 }, model: { layers: 2 } });
    const spec = (architecture: string): TrainingSpec => ({
      ...base,
      model: { architecture, config: { ...base.model.config, positionalEncoding: { name: 'xpos', config: { maxPositions: 64 } } } },
      objective: { name: 'fim', config: {} },
    });
    const result = await runTraining({ spec: spec('my-decoder'), outDir: await tempDir(), registry });
    checkpoint = result.checkpoint!;
    mine = loadedModel(result.model, result.tokenizer, result.backend, spec('my-decoder'), registry);
    const decoder = buildModel(spec('decoder'), registry, result.backend, result.tokenizer.vocabSize);
    for (const [i, p] of decoder.params.entries()) result.backend.write(p.value, await result.backend.read(result.model.params[i].value));
    builtIn = loadedModel(decoder, result.tokenizer, result.backend, spec('decoder'), registry);
  }, 60_000);

  it('the input reading comes from what an architecture declares it consumes', () => {
    const reading = (name: string) => inputReading(registry.architecture(name).consumes);
    expect(['my-decoder', 'decoder', 'prefix-lm', 'glm', 'encoder', 'encoder-decoder'].map(reading)).toEqual(['causal', 'causal', 'bidirectional', 'bidirectional', 'bidirectional', 'encoder']);
  });

  it('a reward model on it scores as on the built-in decoder with its weights, and trains', async () => {
    const texts = [{ prompt: 'Fellow citizens', response: ' of the Senate' }, { prompt: 'The Congress', response: ' shall assemble' }];
    const rm = createRewardModel(mine, 1);
    const before = await rewardScores(rm, texts);
    expect(before).toEqual(await rewardScores(createRewardModel(builtIn, 1), texts));
    const tasks = (await instructionTasks({ seed: 1, train: 16, heldOut: 4 })).filter((t) => t.name === 'copy');
    const losses = await trainRewardModel(rm, rewardParameters(rm), preferencePairs(tasks.flatMap((t) => t.train), 0.1, 4), { lr: 1e-3, epochs: 1, batchSize: 8, weightDecay: 0, seed: 1 });
    expect(losses.length).toBeGreaterThan(0);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    expect(await rewardScores(rm, texts)).not.toEqual(before);
  });

  it('fine-tuning a classifier on its checkpoint (the architecture rebuilt from the registry by its name in the spec)', async () => {
    const docs = (await readSotu()).slice(0, 2);
    const examples = (d: number, from: number) =>
      Array.from({ length: 6 }, (_, k) => ({ text: docs[d].text.slice(from + 40 * k, from + 40 * k + 40), label: d, source: docs[d].id }));
    const task: LabelledTask = {
      name: 'which-address',
      description: 'which of two State of the Union addresses a passage is from',
      labels: ['first', 'second'],
      question: 'Address:',
      train: [...examples(0, 0), ...examples(1, 0)],
      test: [...examples(0, 2000).slice(0, 2), ...examples(1, 2000).slice(0, 2)],
      chance: 0.5,
      seed: 1,
    };
    const { result } = await finetune(checkpoint, registry, task, 'full', { ...DEFAULT_FINETUNE_OPTIONS, epochs: 1, batchSize: 4 });
    expect(result.steps).toBe(3);
    expect(result.n).toBe(4);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    expect(result.trainableParams).toBe(result.totalParams);
  });

  it('refuses an architecture that exposes no hidden states, naming it and the reading', () => {
    const spec = { ...mine.spec, model: { ...mine.spec.model, architecture: 'bare-decoder' } };
    const bare = loadedModel(buildModel(spec, registry, mine.backend, mine.tokenizer.vocabSize), mine.tokenizer, mine.backend, spec, registry);
    const refusal = (tool: string) => `${tool} reads its final hidden states (Model.hiddenStates: their width and a read from a batch); architecture "bare-decoder" does not expose it, so ${tool} cannot run on it`;
    expect(() => createRewardModel(bare, 1)).toThrow(refusal('a reward model'));
    expect(() => createClassificationHead(bare.backend, new Rng(1), bare.model, 2, 'fine-tuning')).toThrow(refusal('fine-tuning'));
    return expect(createValueModel(bare.model, bare.backend, null, 1)).rejects.toThrow(refusal('a value head'));
  });
});
