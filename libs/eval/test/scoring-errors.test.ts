import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDefaultRegistry, continuationRow, encodePrompt } from '@unilab/runner';
import { describe, expect, it } from 'vitest';
import { continuationFormat, describeContinuationFormat, loadScoringModel, loglikelihoods, scoreTargets } from '../src/index.ts';
import { sotuSubset, tempDir, trainTiny } from './fixtures.ts';

describe('scoring through an encoder-decoder', () => {
  it('reads the context with the encoder only, and the score depends on it', async () => {
    const corpus = await sotuSubset(4);
    const { model } = await trainTiny(corpus, 'encoder-decoder', { name: 'span-corruption' }, { steps: 30, lr: 1e-2 });
    const format = continuationFormat(model, 'lm');
    const context = Array.from(model.tokenizer.encode('We the people of the United'));
    const target = Array.from(model.tokenizer.encode(' States'));
    const row = continuationRow(format, context, target, model.seqLen);
    const ids = model.tokenizer.specialTokens;
    // The encoder holds the context, ended as span corruption ends its inputs; the decoder starts from pad and the
    // sentinel of the missing span, and never sees the context.
    expect(row.encoderTokens).toEqual([...context, ids.extra_id_0, ids.eos]);
    expect(row.tokens).toEqual([ids.pad, ids.extra_id_0, ...target]);
    const [right, wrong] = await scoreTargets(model, 'lm', [
      { input: context, target },
      { input: Array.from(model.tokenizer.encode('Gentlemen of the Senate and')), target },
    ]);
    expect(right.tokens).toBe(wrong.tokens);
    expect(right.logProb).not.toBeCloseTo(wrong.logProb, 3);
  });
});

describe('prompts', () => {
  it('take special tokens only by name; text that spells one stays text', async () => {
    const corpus = await sotuSubset(3);
    const { model } = await trainTiny(corpus, 'decoder', { name: 'ul2' }, { steps: 2 });
    const ids = model.tokenizer.specialTokens;
    expect(encodePrompt(model.tokenizer, ['a', { special: 'S2S' }, '<S2S>'])).toEqual([97, ids.S2S, ...'<S2S>'.split('').map((c) => c.charCodeAt(0))]);
    expect(() => encodePrompt(model.tokenizer, [{ special: 'gMASK' }], 'request.prompt')).toThrow(
      'request.prompt[0]: this model\'s tokenizer has no special token "gMASK"; it has eos, pad, NLU, NLG, S2S, extra_id_0..extra_id_99',
    );
    expect(() => encodePrompt(model.tokenizer, [{ text: 'x' } as never])).toThrow('prompt[0]: expected text or { special: "<token name>" }, got {"text":"x"}');
    const [plain, marked] = await loglikelihoods(model, 'lm', [
      { context: 'The Congress <S2S>', continuation: ' shall' },
      { context: ['The Congress ', { special: 'S2S' }], continuation: ' shall' },
    ]);
    expect(plain.tokens).toBe(6);
    expect(marked.tokens).toBe(6);
    expect(plain.logProb).not.toBe(marked.logProb);
  });

  it("score under a UL2 mode on request, its token leading the input; a model without modes refuses one", async () => {
    const corpus = await sotuSubset(3);
    const { model } = await trainTiny(corpus, 'decoder', { name: 'ul2' }, { steps: 2 });
    const request = { context: 'The Congress', continuation: ' shall' };
    const [s2s] = await loglikelihoods(model, 'lm', [request]);
    const [asDefault] = await loglikelihoods(model, 'lm', [request], { mode: 'S2S' });
    const [nlg] = await loglikelihoods(model, 'lm', [request], { mode: 'NLG' });
    expect(asDefault.logProb).toBe(s2s.logProb);
    expect(nlg.logProb).not.toBe(s2s.logProb);
    expect(describeContinuationFormat(model, 'lm', 'NLG')).toBe('prefix: <NLG> input <eos> read causally → target (ul2)');
    const clm = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 1 });
    await expect(loglikelihoods(clm.model, 'lm', [request], { mode: 'NLG' })).rejects.toThrow('mode "NLG": this model was trained with clm, whose inputs carry no mode token');
  });
});

describe('bad input', () => {
  it('refuses a damaged checkpoint, a file that is not one, and a missing one, naming the path', async () => {
    const corpus = await sotuSubset(3);
    const { result } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 2 });
    const registry = createDefaultRegistry();
    const loaded = await loadScoringModel(result.checkpoint!, registry);
    expect(loaded.presentation.lm?.objective).toBe('clm');
    const dir = await tempDir();
    const bytes = await readFile(result.checkpoint!);
    const damaged = join(dir, 'damaged.safetensors');
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 5] ^= 0xff;
    await writeFile(damaged, flipped);
    await expect(loadScoringModel(damaged, registry)).rejects.toThrow(/damaged\.safetensors/);
    const notOne = join(dir, 'notes.txt');
    await writeFile(notOne, 'not a checkpoint');
    await expect(loadScoringModel(notOne, registry)).rejects.toThrow(/notes\.txt/);
    await expect(loadScoringModel(join(dir, 'missing.safetensors'), registry)).rejects.toThrow(/missing\.safetensors/);
  });

  it('refuses empty targets, targets longer than the model, and causal scoring without context', async () => {
    const corpus = await sotuSubset(3);
    const { model } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 2, seqLen: 16 });
    await expect(scoreTargets(model, 'lm', [{ input: [1, 2], target: [] }])).rejects.toThrow('requests[0]: the target is empty; there is nothing to score');
    // Causal: one input token and 16 targets take 16 positions (the last target is never an input).
    expect((await scoreTargets(model, 'lm', [{ input: [1], target: new Array(16).fill(65) }]))[0].tokens).toBe(16);
    await expect(scoreTargets(model, 'lm', [{ input: [1], target: new Array(17).fill(65) }])).rejects.toThrow(
      'requests[0]: a target of 17 tokens does not fit the model\'s length 16 in the causal layout of clm',
    );
    await expect(scoreTargets(model, 'lm', [{ input: [], target: [65] }])).rejects.toThrow('the causal layout needs at least one input token');
    // A long context is cut from the left to the model's length (the last target token is no input), and the cut
    // is reported.
    const [cut] = await scoreTargets(model, 'lm', [{ input: new Array(40).fill(66), target: [65, 65] }]);
    expect(cut.droppedInput).toBe(40 - (16 - 1));
  });
});
