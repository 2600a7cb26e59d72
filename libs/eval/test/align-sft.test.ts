import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, loadedModel } from '@unilab/runner';
import { DEFAULT_METHOD_OPTIONS, instructionTasks, loadPretrained, methodPlan, responseBatch, responseNll, sft, verifierSuccess, type Demonstration, type InstructionTask } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// Supervised fine-tuning with the loss on the response only, on tiny models pre-trained here on State of the Union.
const registry = createDefaultRegistry();
const demos = (es: readonly { prompt: string; response: string }[]): Demonstration[] => es.map(({ prompt, response }) => ({ prompt, response }));

describe('SFT', () => {
  it('the loss mask covers the response and its stop token, never the prompt, in every layout', async () => {
    const corpus = await sotuSubset(2);
    const data: Demonstration[] = [
      { prompt: 'Reverse: stone\nAnswer:', response: ' enots' },
      { prompt: 'Copy: the old house\nAnswer:', response: ' the old house' },
    ];
    for (const [architecture, objective] of [
      ['decoder', { name: 'clm' }],
      ['prefix-lm', { name: 'prefixlm' }],
      ['encoder-decoder', { name: 'span-corruption' }],
    ] as const) {
      const { result, spec } = await trainTiny(corpus, architecture, objective, { steps: 1, lr: 1e-9 });
      const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
      const { batch, scored } = responseBatch(loaded, data);
      const eos = result.tokenizer.specialTokens.eos;
      data.forEach((d, r) => {
        const response = [...result.tokenizer.encode(d.response), eos];
        expect(scored[r]).toBe(response.length);
        const row = Array.from(batch.lossMask.slice(r * batch.seqLen, (r + 1) * batch.seqLen));
        const masked = row.flatMap((m, i) => (m ? [i] : []));
        expect(masked.length, architecture).toBe(response.length);
        // The scored positions are consecutive and their targets are the response, then the stop token.
        expect(masked.map((i) => batch.targets[r * batch.seqLen + i]), architecture).toEqual(response);
        expect(masked[masked.length - 1] - masked[0], architecture).toBe(response.length - 1);
        // Teacher forcing: the token at each scored position is the previous target (the prompt's last token at the first).
        for (let k = 1; k < masked.length; k++) expect(batch.tokens[r * batch.seqLen + masked[k]], `${architecture} row ${r} token ${k}`).toBe(response[k - 1]);
        if (architecture === 'decoder') {
          const prompt = result.tokenizer.encode(d.prompt);
          expect(batch.tokens[r * batch.seqLen + masked[0]]).toBe(prompt[prompt.length - 1]);
          expect(masked[0]).toBe(prompt.length - 1);
        }
        // A prefix LM reads the prompt bidirectionally (Part A): the first scored position is Part A's last or later.
        if (architecture === 'prefix-lm') expect(masked[0]).toBeGreaterThanOrEqual(batch.prefixEnd[r * batch.seqLen] - 1);
      });
      result.dispose();
    }
  });

  it('lowers the response NLL on held-out prompts of a decoder pre-trained on real text', async () => {
    const corpus = await sotuSubset(4);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    const tasks = (await instructionTasks({ seed: 1, train: 32, heldOut: 8 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const train = demos(tasks.flatMap((t) => t.train));
    const heldOut = demos(tasks.flatMap((t) => t.heldOut));
    const before = await responseNll(loaded, heldOut);
    const success = async (t: InstructionTask) => verifierSuccess(loaded, t, t.heldOut, 12);
    const successBefore = await Promise.all(tasks.map(success));
    const losses = await sft(loaded, result.model.params, train, { lr: 1e-2, epochs: 4, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const after = await responseNll(loaded, heldOut);
    const successAfter = await Promise.all(tasks.map(success));
    // A 30-step model rarely answers right before or after; the verifier's count is reported, the loss is what is asserted.
    for (const [i, s] of successAfter.entries()) {
      console.log(`  ${s.task}: verifier success ${successBefore[i].correct}/${s.n} -> ${s.correct}/${s.n}`);
      expect(s.n).toBe(8);
    }
    // The count is the verifier's: one that accepts everything passes every answer, one that accepts nothing none.
    expect((await verifierSuccess(loaded, { ...tasks[0], verify: () => true }, tasks[0].heldOut, 4)).rate).toBe(1);
    expect((await verifierSuccess(loaded, { ...tasks[0], verify: () => false }, tasks[0].heldOut, 4)).rate).toBe(0);
    console.log(`SFT (copy, reverse; 64 train, 16 held-out): held-out response NLL ${before.toFixed(3)} -> ${after.toFixed(3)} nats/token; train loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`);
    expect(losses.length).toBe(16);
    expect(after).toBeLessThan(before - 0.15);
    result.dispose();
  });

  it('with LoRA: only the LoRA factors train, the pre-trained weights stay as they were, the response NLL falls', async () => {
    const corpus = await sotuSubset(4);
    const { result } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    result.dispose();
    const plan = methodPlan('lora', { ...DEFAULT_METHOD_OPTIONS, loraRank: 8, loraAlpha: 16, loraTargets: ['wq', 'wk', 'wv', 'wo', 'w_up', 'w_down'] });
    const pretrained = await loadPretrained(result.checkpoint!, registry, { tuning: plan.tuning });
    const loaded = loadedModel(pretrained.model, pretrained.tokenizer, pretrained.backend, pretrained.spec, registry);
    const trained = pretrained.model.params.filter(plan.trains);
    expect(trained.length).toBeGreaterThan(0);
    expect(trained.every((p) => /\.lora_[ab]$/.test(p.name))).toBe(true);
    const tasks = (await instructionTasks({ seed: 1, train: 32, heldOut: 8 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const heldOut = demos(tasks.flatMap((t) => t.heldOut));
    const baseBefore = await Promise.all(pretrained.base.map((p) => loaded.backend.read(p.value)));
    const before = await responseNll(loaded, heldOut);
    await sft(loaded, trained, demos(tasks.flatMap((t) => t.train)), { lr: 2e-2, epochs: 4, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const after = await responseNll(loaded, heldOut);
    console.log(`SFT with LoRA r=8 on every projection (${trained.length} factor tensors): held-out response NLL ${before.toFixed(3)} -> ${after.toFixed(3)} nats/token`);
    expect(after).toBeLessThan(before - 0.05);
    const baseAfter = await Promise.all(pretrained.base.map((p) => loaded.backend.read(p.value)));
    expect(baseAfter).toEqual(baseBefore);
  });
});
