import { PieceCounter, readCorpus, readSotu, splitHeldOut, trainBpe } from '@unilab/data';
import { describe, expect, it } from 'vitest';
import { bitsPerByte, documentNll, heldOutDomains, tokenBytes, utf8Length } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

const domainOptions = { sotuDocuments: 4, brownDocumentsPerGenre: 2, udhrLanguages: ['eng', 'rus'], udhrPieces: 2, bytesPerDocument: 600 };

describe('bits per byte', () => {
  it('a model trained 40 steps beats its untrained start (log2 vocab) on English, and is worse than uniform on Cyrillic it never saw', async () => {
    const corpus = await sotuSubset(4);
    const objective = { name: 'clm' };
    const trained = await trainTiny(corpus, 'decoder', objective, { steps: 40, lr: 1e-2 });
    const untrained = await trainTiny(corpus, 'decoder', objective, { steps: 1, lr: 1e-9 });
    const domains = await heldOutDomains(trained.spec, domainOptions);
    expect(domains.map((d) => d.name)).toEqual(['sotu', ...['adventure', 'belles_lettres', 'editorial', 'fiction', 'government', 'hobbies', 'humor', 'learned', 'lore', 'mystery', 'news', 'religion', 'reviews', 'romance', 'science_fiction'].map((g) => `brown/${g}`), 'udhr/eng', 'udhr/rus']);
    // The documents of the trainer's split are never evaluated on (the corpus copies the first four SOTU addresses
    // into .txt files, so only their text tells them apart); the one it held out is.
    const { train, heldOut } = splitHeldOut(await readCorpus(corpus), trained.spec.data.heldOutFraction);
    expect([train.length, heldOut.length]).toEqual([3, 1]);
    const candidates = (await heldOutDomains(trained.spec, { ...domainOptions, sotuDocuments: 1000, bytesPerDocument: 1e9 }))[0].documents;
    expect(candidates.length).toBe(233 - 3);
    const texts = new Set(candidates.map((d) => d.text));
    expect(train.some((d) => texts.has(d.text.trim()))).toBe(false);
    expect(texts.has(heldOut[0].text.trim())).toBe(true);
    const chosen = domains.filter((d) => ['sotu', 'brown/news', 'udhr/eng', 'udhr/rus'].includes(d.name));
    const after = await bitsPerByte(trained.model, chosen);
    const before = await bitsPerByte(untrained.model, chosen);
    const log2Vocab = Math.log2(trained.result.tokenizer.vocabSize);
    for (const [i, d] of after.domains.entries()) {
      const start = before.domains[i];
      console.info(`${d.domain}: bpb ${d.bitsPerByte.value.toFixed(3)} [${d.bitsPerByte.low.toFixed(3)}, ${d.bitsPerByte.high.toFixed(3)}] after 40 steps, ${start.bitsPerByte.value.toFixed(3)} untrained (n=${d.documents} documents, ${d.bytes} bytes)`);
      if (d.domain === 'udhr/rus') expect(d.bitsPerByte.low).toBeGreaterThan(start.bitsPerByte.high);
      else expect(d.bitsPerByte.high).toBeLessThan(start.bitsPerByte.low);
      // Byte tokens: a byte per token, nats per token = bpb × ln 2; an untrained model is nearly uniform.
      expect(d.bytes).toBe(d.tokens);
      expect(d.natsPerToken.value).toBeCloseTo(d.bitsPerByte.value * Math.LN2, 10);
      expect(Math.abs(start.bitsPerByte.value - log2Vocab)).toBeLessThan(0.05);
      expect(d.bitsPerByte.low).toBeLessThanOrEqual(d.bitsPerByte.value);
      expect(d.bitsPerByte.high).toBeGreaterThanOrEqual(d.bitsPerByte.value);
    }
    expect(after.format).toBe('causal: input target, left to right (clm)');
  });

  it('scores every token of a document but the first, window by window, and counts its UTF-8 bytes', async () => {
    const corpus = await sotuSubset(3);
    const { model } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 2 });
    const text = 'Über die Brücke — naïve café. '.repeat(6);
    const whole = await documentNll(model, 'doc', text, { chunkTokens: 7 });
    expect(whole.tokens).toBe(utf8Length(text) - 1);
    expect(whole.bytes).toBe(utf8Length(text) - 1);
    // Windows of another size give another total (a different context per token), but count the same tokens.
    const other = await documentNll(model, 'doc', text, { chunkTokens: 13 });
    expect(other.tokens).toBe(whole.tokens);
    expect(other.nats).not.toBe(whole.nats);
    expect(await documentNll(model, 'empty', 'x')).toEqual({ id: 'empty', nats: 0, tokens: 0, bytes: 0 });
  });

  it('counts the text\'s bytes whatever the tokenizer: a BPE model\'s untrained start is the uniform figure per byte', async () => {
    const corpus = await sotuSubset(3);
    const counter = new PieceCounter();
    for (const d of (await readSotu()).slice(0, 3)) counter.add(d.text);
    const bpe = trainBpe(counter, { vocabSize: 420 });
    const { model, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 1, lr: 1e-9, tokenizer: bpe });
    expect(model.tokenizer.kind).toBe('bpe');
    const text = 'The Congress of the United States — über alles, naïve. '.repeat(4);
    const nll = await documentNll(model, 'doc', text);
    const tokens = Array.from(bpe.encode(text));
    expect(nll.tokens).toBe(tokens.length - 1);
    expect(nll.tokens).toBeLessThan(nll.bytes / 1.5);
    expect(nll.bytes).toBe(utf8Length(text) - tokenBytes(bpe, tokens.slice(0, 1)));
    const [sotu] = await heldOutDomains(spec, { sotuDocuments: 2, brownDocumentsPerGenre: 0, udhrLanguages: [], bytesPerDocument: 400 });
    const report = await bitsPerByte(model, [sotu]);
    const d = report.domains[0];
    expect(Math.abs(d.bitsPerByte.value - d.uniformBitsPerByte) / d.uniformBitsPerByte).toBeLessThan(0.01);
    expect(d.uniformBitsPerByte).toBeCloseTo((d.tokens * Math.log2(420)) / d.bytes, 10);
  });
});
