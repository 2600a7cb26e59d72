import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LORA_TARGETS, Rng, type PluginRegistry } from '@unilab/core';
import { readSotu } from '@unilab/data';
import { buildModel, loadedModel, resolveLoraTargets, runTraining, type LoadedModel, type TrainingSpec } from '@unilab/runner';
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
  loadAlignedModel,
  preferencePairs,
  responseNll,
  rewardParameters,
  rewardScores,
  sft,
  trainRewardModel,
  type LabelledTask,
} from '../src/index.ts';

// Heads on a network (the fine-tuning classifier, the reward model, PPO's value head) read what its architecture
// exposes (Model.hiddenStates) and lay their inputs out as it declares it reads them (consumes), never by its name:
// a package architecture, trained with a package encoding and objective, gets them all; one that exposes no hidden
// states is refused by name. LoRA adapts the projections an architecture declares (tunableProjections), by role, under
// the names it gives them: my-decoder calls them q_proj ... down_proj, so no built-in name ("wq") finds them.
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
    const { result } = await finetune(checkpoint, registry, await whichAddress(), 'full', { ...DEFAULT_FINETUNE_OPTIONS, epochs: 1, batchSize: 4 });
    expect(result.steps).toBe(3);
    expect(result.n).toBe(4);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    expect(result.trainableParams).toBe(result.totalParams);
  });

  it('LoRA fine-tuning a classifier on it: the default (query, value) adapts the projections it declares for them, under its own names', async () => {
    expect(mine.model.params.some((p) => /\.(wq|wk|wv|wo|w_gate|w_up|w_down)$/.test(p.name))).toBe(false);
    const { result, classifier } = await finetune(checkpoint, registry, await whichAddress(), 'lora', { ...DEFAULT_FINETUNE_OPTIONS, epochs: 1, batchSize: 4, loraRank: 2 });
    expect(DEFAULT_FINETUNE_OPTIONS.loraTargets).toEqual(['query', 'value']);
    expect(classifier.tuning?.lora?.targets).toEqual(['q_proj', 'v_proj']);
    const factors = classifier.pretrained.added.map((p) => p.name);
    expect(factors.sort()).toEqual([0, 1].flatMap((l) => ['q_proj', 'v_proj'].flatMap((w) => [`layers.${l}.${w}.lora_a`, `layers.${l}.${w}.lora_b`])).sort());
    // The factors and the head train; B started at zero and moved.
    expect(classifier.trained.filter((p) => p.name.includes('.lora_'))).toHaveLength(8);
    expect(result.trainableParams).toBeLessThan(result.totalParams / 4);
    const b = classifier.pretrained.added.find((p) => p.name === 'layers.1.v_proj.lora_b')!;
    expect((await classifier.pretrained.backend.read(b.value)).some((v) => v !== 0)).toBe(true);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
  });

  it('SFT with LoRA on it (roles and its own names): only the factors train, its weights stay, the response NLL falls', async () => {
    const { loaded, trained, tuning } = await loadAlignedModel(checkpoint, registry, { tuning: { lora: { rank: 4, alpha: 8, targets: ['value', 'query', 'down_proj'] }, seed: 1 } });
    expect(tuning?.lora?.targets).toEqual(['q_proj', 'v_proj', 'down_proj']);
    expect(trained.map((p) => p.name).every((n) => /^layers\.[01]\.(q_proj|v_proj|down_proj)\.lora_[ab]$/.test(n))).toBe(true);
    expect(trained).toHaveLength(12);
    // Copying words of an address: demonstrations short enough for the model's 32-token context.
    const words = [...new Set((await readSotu())[0].text.match(/\b[a-z]{3,6}\b/g))].slice(0, 30);
    const demos = words.map((w) => ({ prompt: `Copy: ${w}\nAnswer:`, response: ` ${w}` }));
    const [train, heldOut] = [demos.slice(0, 24), demos.slice(24)];
    const frozen = loaded.model.params.filter((p) => !trained.includes(p));
    const weightsBefore = await Promise.all(frozen.map((p) => loaded.backend.read(p.value)));
    const before = await responseNll(loaded, heldOut);
    await sft(loaded, trained, train, { lr: 2e-2, epochs: 3, batchSize: 8, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const after = await responseNll(loaded, heldOut);
    console.log(`SFT with LoRA r=4 on my-decoder's q_proj, v_proj, down_proj: held-out response NLL ${before.toFixed(3)} -> ${after.toFixed(3)} nats/token`);
    expect(after).toBeLessThan(before - 0.05);
    expect(await Promise.all(frozen.map((p) => loaded.backend.read(p.value)))).toEqual(weightsBefore);
  });

  it('refuses a LoRA target it does not declare, naming the architecture, the target and the projections it declares', async () => {
    const declared = 'it declares query (q_proj), key (k_proj), value (v_proj), output (o_proj), ffn-gate (gate_proj), ffn-up (up_proj), ffn-down (down_proj) (name a role or its parameter name)';
    await expect(loadAlignedModel(checkpoint, registry, { tuning: { lora: { rank: 2, alpha: 2, targets: ['query', 'wq'] }, seed: 1 }, loraTargetsField: '--lora-targets' })).rejects.toThrow(
      `--lora-targets[1]: LoRA target "wq" is no projection of architecture "my-decoder"; ${declared}`,
    );
    await expect(finetune(checkpoint, registry, await whichAddress(), 'lora', { ...DEFAULT_FINETUNE_OPTIONS, loraTargets: ['cross-query'] })).rejects.toThrow(
      `loraTargets[0]: LoRA target "cross-query" is no projection of architecture "my-decoder"; ${declared}`,
    );
    // At admission, where the base's architecture is known, the same refusal names the spec's field.
    expect(() => resolveLoraTargets(mine.spec, registry, ['value', 'w_qkv'], 'spec.stages[1].tuning.targets')).toThrow(
      `spec.stages[1].tuning.targets[1]: LoRA target "w_qkv" is no projection of architecture "my-decoder"; ${declared}`,
    );
  });

  it('refuses LoRA on an architecture that declares no tunable projections, naming it', () => {
    const spec = { ...mine.spec, model: { ...mine.spec.model, architecture: 'bare-decoder' } };
    const refusal = 'architecture "bare-decoder" declares no projections LoRA may adapt (ArchitecturePlugin.tunableProjections), so it cannot be tuned with LoRA; tune it with adapters or every weight';
    expect(() => resolveLoraTargets(spec, registry, [...DEFAULT_LORA_TARGETS], 'spec.stages[0].tuning.targets')).toThrow(`spec.stages[0].tuning.targets: ${refusal}`);
    expect(() => buildModel(spec, registry, mine.backend, mine.tokenizer.vocabSize, { lora: { rank: 2, alpha: 2, targets: ['wq'] }, seed: 1 })).toThrow(`lora.targets: ${refusal}`);
    // Adapters need no declaration: the same architecture builds them.
    expect(buildModel(spec, registry, mine.backend, mine.tokenizer.vocabSize, { adapters: { size: 2 }, seed: 1 }).params.some((p) => p.name.includes('_adapter.'))).toBe(true);
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

/** Which of two State of the Union addresses a 40-character passage is from: 6 training passages each, 2 test. */
async function whichAddress(): Promise<LabelledTask> {
  const docs = (await readSotu()).slice(0, 2);
  const examples = (d: number, from: number) =>
    Array.from({ length: 6 }, (_, k) => ({ text: docs[d].text.slice(from + 40 * k, from + 40 * k + 40), label: d, source: docs[d].id }));
  return {
    name: 'which-address',
    description: 'which of two State of the Union addresses a passage is from',
    labels: ['first', 'second'],
    question: 'Address:',
    train: [...examples(0, 0), ...examples(1, 0)],
    test: [...examples(0, 2000).slice(0, 2), ...examples(1, 2000).slice(0, 2)],
    chance: 0.5,
    seed: 1,
  };
}
