import { describe, expect, it } from 'vitest';
import { heldOutDomains, modeNll, type EvalMode } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// Every paradigm, each in the layouts its objective declares (SCLM's encoder-decoder LM layout is proven in
// scoring.test.ts): the three modes run on the same held-out pieces, and
// 20 steps of training lower the NLL of every mode the model supports below its untrained start (≈ ln vocab).
const cases: [string, Record<string, unknown>, Record<EvalMode, RegExp>][] = [
  ['decoder', { name: 'clm' }, { lm: /^causal/, seq2seq: /^causal/, infilling: /^left context only .*causal/ }],
  ['encoder-decoder', { name: 'span-corruption' }, { lm: /^encoder: input <extra_id_0> <eos> → decoder <pad> <extra_id_0> target/, seq2seq: /^encoder/, infilling: /^sentinels/ }],
  ['decoder', { name: 'ul2' }, { lm: /^prefix: <S2S> input <eos> read causally/, seq2seq: /^prefix: <S2S>/, infilling: /^sentinels: <NLU> / }],
  ['glm', { name: 'glm', config: { preset: 'glm-10b' } }, { lm: /^prefix: input <gMASK> bidirectional → <sop> target \(2D positions\)/, seq2seq: /gMASK/, infilling: /^blanks: Part A with <MASK>/ }],
  ['unilm', { name: 'unilm' }, { lm: /^mask-query: input target-so-far <MASK>/, seq2seq: /^mask-query: bidirectional input <eos>/, infilling: /^cloze/ }],
  ['encoder-decoder', { name: 'unilm' }, { lm: /^decoder-lm/, seq2seq: /^encoder: input <eos>/, infilling: /^cloze/ }],
];

describe('mode-wise NLL', () => {
  it.each(cases)('%s trained by %o: lm, infilling and seq2seq in its own layouts, below the untrained model', async (architecture, objective, formats) => {
    const corpus = await sotuSubset(4);
    const trained = await trainTiny(corpus, architecture, objective, { steps: 20, lr: 1e-2 });
    const untrained = await trainTiny(corpus, architecture, objective, { steps: 1, lr: 1e-9 });
    const documents = (await heldOutDomains(trained.spec, { sotuDocuments: 3, brownDocumentsPerGenre: 0, udhrLanguages: [], bytesPerDocument: 400 }))[0].documents;
    const options = { pieceTokens: 36, piecesPerDocument: 2 };
    const after = await modeNll(trained.model, documents, undefined, options);
    const before = await modeNll(untrained.model, documents, undefined, options);
    const lnVocab = Math.log(trained.result.tokenizer.vocabSize);
    for (const [i, m] of after.entries()) {
      console.info(
        `${architecture} ${JSON.stringify(objective)} ${m.mode}: ${m.natsPerToken.value.toFixed(3)} nats/token [${m.natsPerToken.low.toFixed(3)}, ${m.natsPerToken.high.toFixed(3)}], ` +
          `${m.bitsPerByte.value.toFixed(3)} bpb, untrained ${before[i].natsPerToken.value.toFixed(3)} (n=${m.documents} documents, ${m.pieces} pieces, ${m.tokens} tokens) — ${m.format}`,
      );
      expect(m.format).toMatch(formats[m.mode]);
      expect(m.documents).toBe(3);
      expect(m.pieces).toBe(6);
      expect(m.tokens).toBe(before[i].tokens);
      expect(m.bytes).toBe(m.tokens);
      expect(Math.abs(before[i].natsPerToken.value - lnVocab)).toBeLessThan(0.1);
      expect(m.natsPerToken.value).toBeLessThan(before[i].natsPerToken.value - 0.5);
    }
    // LM scores the second half of each piece, seq2seq its last quarter (36 → 18 and 9 tokens); infilling 15%.
    expect(after.map((m) => m.tokens / m.pieces)).toEqual([18, expect.any(Number), 9]);
    expect(after[1].tokens / after[1].pieces).toBeCloseTo(0.15 * 35, 0);
  });

  it('a masked LM has no continuation mode, and says so; its cloze infilling still works', async () => {
    const corpus = await sotuSubset(3);
    const { model, spec } = await trainTiny(corpus, 'encoder', { name: 'bert-mlm' }, { steps: 3 });
    const documents = (await heldOutDomains(spec, { sotuDocuments: 2, brownDocumentsPerGenre: 0, udhrLanguages: [], bytesPerDocument: 300 }))[0].documents;
    await expect(modeNll(model, documents, ['lm'], { pieceTokens: 36 })).rejects.toThrow(
      'cannot score continuations with the encoder model trained by bert-mlm: no objective it trained declares how it reads such a prompt',
    );
    const [infilling] = await modeNll(model, documents, ['infilling'], { pieceTokens: 36 });
    expect(infilling.format).toMatch(/^cloze: every span token shown as <MASK>, predicted from the whole text \(bert-mlm\)/);
    expect(Number.isFinite(infilling.natsPerToken.value)).toBe(true);
  });
});
